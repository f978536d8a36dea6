// Log1p on float32, as the cpu kernel computes it.
import {Log1p} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const log1pConfig = unaryKernel(Log1p);
