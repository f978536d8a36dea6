// Maximum with NumPy broadcasting, float32 natively.
import {Maximum} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const maximumConfig = binaryKernel(Maximum);
