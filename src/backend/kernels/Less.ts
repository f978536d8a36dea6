// Less with NumPy broadcasting: float32 in, bool (Uint8Array) out.
import {Less} from '@tensorflow/tfjs-core';

import {binaryKernel} from './elementwise_util.js';

export const lessConfig = binaryKernel(Less, {output: 'bool'});
