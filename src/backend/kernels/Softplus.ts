// Softplus on float32, as the cpu kernel computes it.
import {Softplus} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const softplusConfig = unaryKernel(Softplus);
