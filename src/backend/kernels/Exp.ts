// Exp on float32, as the cpu kernel computes it.
import {Exp} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const expConfig = unaryKernel(Exp);
