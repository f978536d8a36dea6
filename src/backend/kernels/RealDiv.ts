// RealDiv with NumPy broadcasting, float32 natively.
import {RealDiv} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const realDivConfig = binaryKernel(RealDiv);
