// Sigmoid on float32, as the cpu kernel computes it.
import {Sigmoid} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const sigmoidConfig = unaryKernel(Sigmoid);
