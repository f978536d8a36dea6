// Sqrt on float32, as the cpu kernel computes it.
import {Sqrt} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const sqrtConfig = unaryKernel(Sqrt);
