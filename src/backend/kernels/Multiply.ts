// Multiply with NumPy broadcasting, float32 natively.
import {Multiply} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const multiplyConfig = binaryKernel(Multiply);
