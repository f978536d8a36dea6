// Relu6 on float32, as the cpu kernel computes it.
import {Relu6} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const relu6Config = unaryKernel(Relu6);
