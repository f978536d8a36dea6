// Select (tf.where): condition ? t : e. tf.where broadcasts all three to one shape first.
import {Select} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import {allocF32, f32Values, input, nativeKernel} from './elementwise_util.js';

export const selectConfig = nativeKernel(Select, (args) => {
  const {inputs, backend} = args;
  const condition = input(Select, inputs, 'condition'), t = input(Select, inputs, 't'), e = input(Select, inputs, 'e');
  const cond = backend.data.get(condition.dataId).values;
  const tv = f32Values(backend, t), ev = f32Values(backend, e);
  // The cpu kernel's rank-1 condition over a higher-rank t is not reached through tf.where.
  if (!(cond instanceof Uint8Array) || tv == null || ev == null || cond.length !== tv.length || ev.length !== tv.length) {
    return cpuFallback(Select, args);
  }
  const out = allocF32(tv.length);
  backend.addon.select(cond, tv, ev, out);
  return backend.makeTensorInfo(t.shape, 'float32', out);
});
