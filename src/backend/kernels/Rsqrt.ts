// Rsqrt on float32, as the cpu kernel computes it.
import {Rsqrt} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const rsqrtConfig = unaryKernel(Rsqrt);
