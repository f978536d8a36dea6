// ClipByValue on float32 (tfjs-layers' ReLU with maxValue, e.g. ReLU6 in MobileNets): one native
// pass into a pooled buffer, with the cpu kernel's comparisons (NaN stays NaN).
import {ClipByValue} from '@tensorflow/tfjs-core';
import type {ClipByValueAttrs} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import {allocF32, f32Values, input, nativeKernel, opCode} from './elementwise_util.js';

export const clipByValueConfig = nativeKernel(ClipByValue, (args) => {
  const {inputs, backend} = args;
  const x = input(ClipByValue, inputs, 'x');
  const xv = f32Values(backend, x);
  if (xv == null) return cpuFallback(ClipByValue, args);
  const {clipValueMin: lo, clipValueMax: hi} = args.attrs as unknown as ClipByValueAttrs;
  const out = allocF32(xv.length);
  backend.addon.unary(opCode(backend.addon, 'unaryOps', ClipByValue), xv, out, lo, hi);
  return backend.makeTensorInfo(x.shape, 'float32', out);
});
