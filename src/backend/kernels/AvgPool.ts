import {AvgPool} from '@tensorflow/tfjs-core';
import type {AvgPoolAttrs, AvgPoolInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';
import {isIdentityPool, poolGeometry} from './pool_geometry.js';

export function avgPool(args: {inputs: AvgPoolInputs; backend: NativeBackend; attrs: AvgPoolAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const x = inputs.x as TensorInfo;
  if (x.dtype !== 'float32') return cpuFallback(AvgPool, args);
  const g = poolGeometry(x, attrs);
  if (g == null || isIdentityPool(g.info)) return cpuFallback(AvgPool, args);
  const y = allocF32(g.info.outShape.reduce((a, b) => a * b, 1));
  backend.addon.avgPool(backend.f32(x), y, g.geom);
  return backend.output(g.info.outShape, y);
}

export const avgPoolConfig: KernelConfig = {
  kernelName: AvgPool,
  backendName: 'native',
  kernelFunc: avgPool as unknown as KernelConfig['kernelFunc'],
};
