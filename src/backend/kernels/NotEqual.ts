// NotEqual with NumPy broadcasting: float32 in, bool (Uint8Array) out.
import {NotEqual} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const notEqualConfig = binaryKernel(NotEqual, {output: 'bool'});
