// Add with NumPy broadcasting, float32 natively.
import {Add} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const addConfig = binaryKernel(Add);
