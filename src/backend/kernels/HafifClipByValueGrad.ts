// HafifClipByValueGrad: ClipByValue's gradient in one pass, where(min <= x <= max, dy, 0) as tfjs
// computes it with GreaterEqual, LessEqual, LogicalAnd, ZerosLike and Select, in the addon's
// clipByValueGrad (activation_grad.cc, threaded).
import type {KernelConfig} from '@tensorflow/tfjs-core';

import {allocF32, f32Values, input, nativeKernel} from './elementwise_util.js';

export const HafifClipByValueGrad = 'HafifClipByValueGrad';

export const hafifClipByValueGradConfig: KernelConfig = nativeKernel(HafifClipByValueGrad, (args) => {
  const {inputs, backend, attrs} = args;
  const k = HafifClipByValueGrad;
  const dy = input(k, inputs, 'dy'), x = input(k, inputs, 'x');
  const dv = f32Values(backend, dy), xv = f32Values(backend, x);
  if (dv == null || xv == null || dv.length !== xv.length) {
    throw new Error(`${k}: dy and x must be float32 of one shape, got [${dy.shape}] and [${x.shape}]`);
  }
  const lo = attrs?.clipValueMin as number, hi = attrs?.clipValueMax as number;
  const out = allocF32(xv.length);
  backend.addon.clipByValueGrad(xv, dv, out, lo, hi);
  return backend.makeTensorInfo(x.shape, 'float32', out);
});
