// EluGrad: y >= 0 ? dy : dy * (y + 1), from Elu's output y.
import {EluGrad} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const eluGradConfig = binaryKernel(EluGrad, {names: ['dy', 'y']});
