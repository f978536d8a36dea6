// Minimum with NumPy broadcasting, float32 natively.
import {Minimum} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const minimumConfig = binaryKernel(Minimum);
