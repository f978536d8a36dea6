import {PadV2, util} from '@tensorflow/tfjs-core';
import type {KernelConfig, PadV2Attrs, PadV2Inputs, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';

export function padV2(args: {inputs: PadV2Inputs; backend: NativeBackend; attrs: PadV2Attrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const x = inputs.x as TensorInfo;
  if (x.dtype !== 'float32' || x.shape.length > 8) return cpuFallback(PadV2, args);
  const outShape = attrs.paddings.map((p, i) => p[0] + x.shape[i] + p[1]);
  const out = new Float32Array(util.sizeFromShape(outShape));
  backend.addon.padV2(backend.f32(x), out, x.shape, attrs.paddings.flat(), attrs.constantValue);
  return backend.output(outShape, out);
}

export const padV2Config: KernelConfig = {
  kernelName: PadV2,
  backendName: 'native',
  kernelFunc: padV2 as unknown as KernelConfig['kernelFunc'],
};
