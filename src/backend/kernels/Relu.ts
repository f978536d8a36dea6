// Relu on float32, as the cpu kernel computes it.
import {Relu} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const reluConfig = unaryKernel(Relu);
