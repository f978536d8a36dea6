// LessEqual with NumPy broadcasting: float32 in, bool (Uint8Array) out.
import {LessEqual} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const lessEqualConfig = binaryKernel(LessEqual, {output: 'bool'});
