// Tanh on float32, as the cpu kernel computes it.
import {Tanh} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const tanhConfig = unaryKernel(Tanh);
