// Equal with NumPy broadcasting: float32 in, bool (Uint8Array) out.
import {Equal} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const equalConfig = binaryKernel(Equal, {output: 'bool'});
