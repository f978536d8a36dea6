// Abs on float32, as the cpu kernel computes it.
import {Abs} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const absConfig = unaryKernel(Abs);
