// Square on float32, as the cpu kernel computes it.
import {Square} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const squareConfig = unaryKernel(Square);
