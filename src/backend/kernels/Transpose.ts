import {Transpose, util} from '@tensorflow/tfjs-core';
import type {KernelConfig, TensorInfo, TransposeAttrs, TransposeInputs} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';

export function transpose(args: {inputs: TransposeInputs; backend: NativeBackend; attrs: TransposeAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const x = inputs.x as TensorInfo;
  if (x.dtype !== 'float32' || x.shape.length > 8) return cpuFallback(Transpose, args);
  const outShape = attrs.perm.map((p) => x.shape[p]);
  const out = allocF32(util.sizeFromShape(x.shape));
  backend.addon.transpose(backend.f32(x), out, x.shape, attrs.perm);
  return backend.output(outShape, out);
}

export const transposeConfig: KernelConfig = {
  kernelName: Transpose,
  backendName: 'native',
  kernelFunc: transpose as unknown as KernelConfig['kernelFunc'],
};
