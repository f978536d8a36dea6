import {MaxPoolGrad, util} from '@tensorflow/tfjs-core';
import type {KernelConfig, MaxPoolGradAttrs, MaxPoolGradInputs, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';
import {poolGeometry} from './pool_geometry.js';

/** dx of MaxPool: dy goes to the first maximum of each window, as in the cpu kernel. */
export function maxPoolGrad(args: {inputs: MaxPoolGradInputs; backend: NativeBackend; attrs: MaxPoolGradAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const x = inputs.input as TensorInfo, dy = inputs.dy as TensorInfo;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return cpuFallback(MaxPoolGrad, args);
  const g = poolGeometry(x, attrs);
  // tfjs computes the gradient without the forward dimRoundingMode, so dy may not have the shape
  // this geometry expects; the cpu kernel then reads dy with mismatched strides. Leave that to it.
  if (g == null || !util.arraysEqual(g.info.outShape, dy.shape)) return cpuFallback(MaxPoolGrad, args);
  const dx = allocF32(x.shape.reduce((a, b) => a * b, 1));
  backend.addon.maxPoolGrad(backend.f32(x), backend.f32(dy), dx, g.geom);
  return backend.output(x.shape, dx);
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'native',
  kernelFunc: maxPoolGrad as unknown as KernelConfig['kernelFunc'],
};
