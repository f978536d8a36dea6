// SquaredDifference with NumPy broadcasting, float32 natively.
import {SquaredDifference} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const squaredDifferenceConfig = binaryKernel(SquaredDifference);
