import {AvgPoolGrad, util} from '@tensorflow/tfjs-core';
import type {AvgPoolGradAttrs, AvgPoolGradInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';
import {poolGeometry} from './pool_geometry.js';

/** dx of AvgPool. Like the cpu kernel, it divides by the full window size even at padded edges. */
export function avgPoolGrad(args: {inputs: AvgPoolGradInputs; backend: NativeBackend; attrs: AvgPoolGradAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const x = inputs.input as TensorInfo, dy = inputs.dy as TensorInfo;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return cpuFallback(AvgPoolGrad, args);
  const g = poolGeometry(x, attrs);
  // tfjs computes the gradient without the forward dimRoundingMode, so dy may not have the shape
  // this geometry expects; the cpu kernel then reads dy with mismatched strides. Leave that to it.
  if (g == null || !util.arraysEqual(g.info.outShape, dy.shape)) return cpuFallback(AvgPoolGrad, args);
  const dx = allocF32(x.shape.reduce((a, b) => a * b, 1));
  backend.addon.avgPoolGrad(backend.f32(dy), dx, g.geom);
  return backend.output(x.shape, dx);
}

export const avgPoolGradConfig: KernelConfig = {
  kernelName: AvgPoolGrad,
  backendName: 'native',
  kernelFunc: avgPoolGrad as unknown as KernelConfig['kernelFunc'],
};
