import {ArgMin, backend_util, util} from '@tensorflow/tfjs-core';
import type {ArgMinAttrs, ArgMinInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';

/** int32 index of the first extreme along one axis (the cpu kernel's tie rule). */
export function argMin(args: {inputs: ArgMinInputs; backend: NativeBackend; attrs: ArgMinAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const x = inputs.x as TensorInfo;
  if (x.dtype !== 'float32' || util.sizeFromShape(x.shape) === 0) return cpuFallback(ArgMin, args);
  // The cpu kernel reduces the first listed axis only.
  const a = util.parseAxisParam(attrs.axis, x.shape)[0];
  const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, [a]);
  const dims = [util.sizeFromShape(x.shape.slice(0, a)), x.shape[a], util.sizeFromShape(x.shape.slice(a + 1))];
  const out = new Int32Array(util.sizeFromShape(outShape));
  backend.addon.argMin(backend.f32(x), out, dims);
  return backend.makeTensorInfo(outShape, 'int32', out);
}

export const argMinConfig: KernelConfig = {
  kernelName: ArgMin,
  backendName: 'native',
  kernelFunc: argMin as unknown as KernelConfig['kernelFunc'],
};
