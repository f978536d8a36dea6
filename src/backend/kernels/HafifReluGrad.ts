// HafifReluGrad: Relu's gradient in one pass, dy · step(x) as tfjs computes it with Step, Cast and
// Multiply (so NaN in x gives NaN, and dy · 0 keeps the sign and NaN of dy · 0), in the addon's
// reluGrad.
import type {KernelConfig} from '@tensorflow/tfjs-core';

import {allocF32, f32Values, input, nativeKernel} from './elementwise_util.js';

export const HafifReluGrad = 'HafifReluGrad';

export const hafifReluGradConfig: KernelConfig = nativeKernel(HafifReluGrad, (args) => {
  const {inputs, backend} = args;
  const dy = input(HafifReluGrad, inputs, 'dy'), x = input(HafifReluGrad, inputs, 'x');
  const dv = f32Values(backend, dy), xv = f32Values(backend, x);
  if (dv == null || xv == null || dv.length !== xv.length) {
    throw new Error(`${HafifReluGrad}: dy and x must be float32 of one shape, got [${dy.shape}] and [${x.shape}]`);
  }
  const out = allocF32(xv.length);
  // The native pass (activation_grad.cc, threaded): dy where x > 0, NaN where x is NaN, else dy·0.
  backend.addon.reluGrad(xv, dv, out);
  return backend.makeTensorInfo(x.shape, 'float32', out);
});
