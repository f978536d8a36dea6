// Pow with NumPy broadcasting, float32 natively.
import {Pow} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const powConfig = binaryKernel(Pow);
