import {MaxPool} from '@tensorflow/tfjs-core';
import type {KernelConfig, MaxPoolAttrs, MaxPoolInputs, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';
import {isIdentityPool, poolGeometry} from './pool_geometry.js';

export function maxPool(args: {inputs: MaxPoolInputs; backend: NativeBackend; attrs: MaxPoolAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const x = inputs.x as TensorInfo;
  if (x.dtype !== 'float32') return cpuFallback(MaxPool, args);
  const g = poolGeometry(x, attrs);
  if (g == null || isIdentityPool(g.info)) return cpuFallback(MaxPool, args);
  const y = allocF32(g.info.outShape.reduce((a, b) => a * b, 1));
  backend.addon.maxPool(backend.f32(x), y, g.geom);
  return backend.output(g.info.outShape, y);
}

export const maxPoolConfig: KernelConfig = {
  kernelName: MaxPool,
  backendName: 'native',
  kernelFunc: maxPool as unknown as KernelConfig['kernelFunc'],
};
