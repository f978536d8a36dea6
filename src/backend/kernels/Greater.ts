// Greater with NumPy broadcasting: float32 in, bool (Uint8Array) out.
import {Greater} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const greaterConfig = binaryKernel(Greater, {output: 'bool'});
