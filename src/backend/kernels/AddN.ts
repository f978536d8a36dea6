// AddN: the sum of same-shape tensors, accumulated in input order like the cpu kernel.
import {AddN} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import {allocF32, f32Values, input, nativeKernel} from './elementwise_util.js';

export const addNConfig = nativeKernel(AddN, (args) => {
  const {inputs, backend} = args;
  const tensors = Object.keys(inputs).map((k) => input(AddN, inputs, k));
  if (tensors.length === 0) return cpuFallback(AddN, args);
  const values: Float32Array[] = [];
  for (const t of tensors) {
    const v = f32Values(backend, t);
    if (v == null) return cpuFallback(AddN, args);
    values.push(v);
  }
  const out = allocF32(values[0].length);
  backend.addon.addN(values, out);
  return backend.makeTensorInfo(tensors[0].shape, 'float32', out);
});
