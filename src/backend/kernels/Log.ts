// Log on float32, as the cpu kernel computes it.
import {Log} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const logConfig = unaryKernel(Log);
