// Neg on float32, as the cpu kernel computes it.
import {Neg} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const negConfig = unaryKernel(Neg);
