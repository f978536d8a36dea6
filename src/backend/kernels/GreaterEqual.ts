// GreaterEqual with NumPy broadcasting: float32 in, bool (Uint8Array) out.
import {GreaterEqual} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const greaterEqualConfig = binaryKernel(GreaterEqual, {output: 'bool'});
