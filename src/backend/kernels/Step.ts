// Step: 1 for x > 0, alpha otherwise, NaN for NaN.
import {Step} from '@tensorflow/tfjs-core';

import {unaryKernel} from './elementwise_util.js';

export const stepConfig = unaryKernel(Step, {alphaAttr: 'alpha'});
