// Prelu: x < 0 ? alpha * x : x, alpha broadcast against x.
import {Prelu} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const preluConfig = binaryKernel(Prelu, {names: ['x', 'alpha']});
