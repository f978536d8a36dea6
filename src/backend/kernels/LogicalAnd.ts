// LogicalAnd of two bool tensors of one shape (ClipByValue's gradient mask); broadcasting goes to
// the cpu kernel.
import {LogicalAnd, util} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import {allocU8, input, nativeKernel} from './elementwise_util.js';

export const logicalAndConfig = nativeKernel(LogicalAnd, (args) => {
  const {inputs, backend} = args;
  const a = input(LogicalAnd, inputs, 'a'), b = input(LogicalAnd, inputs, 'b');
  const av = backend.data.get(a.dataId).values, bv = backend.data.get(b.dataId).values;
  if (!(av instanceof Uint8Array) || !(bv instanceof Uint8Array) || !util.arraysEqual(a.shape, b.shape)) {
    return cpuFallback(LogicalAnd, args);
  }
  const out = allocU8(av.length);
  for (let i = 0; i < av.length; i++) out[i] = av[i] !== 0 && bv[i] !== 0 ? 1 : 0;
  return backend.makeTensorInfo(a.shape, 'bool', out);
});
