// LeakyRelu: x < 0 ? alpha * x : x (NaN stays NaN).
import {LeakyRelu} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const leakyReluConfig = unaryKernel(LeakyRelu, {alphaAttr: 'alpha'});
