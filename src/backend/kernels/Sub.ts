// Sub with NumPy broadcasting, float32 natively.
import {Sub} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const subConfig = binaryKernel(Sub);
