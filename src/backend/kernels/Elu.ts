// Elu on float32, as the cpu kernel computes it.
import {Elu} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const eluConfig = unaryKernel(Elu);
