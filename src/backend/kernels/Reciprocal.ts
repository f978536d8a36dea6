// Reciprocal on float32, as the cpu kernel computes it.
import {Reciprocal} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const reciprocalConfig = unaryKernel(Reciprocal);
