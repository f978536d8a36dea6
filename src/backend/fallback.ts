import {getKernel} from '@tensorflow/tfjs-core';
import type {NamedAttrMap, NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';

import type {NativeBackend} from './native_backend.js';

/**
 * Runs the `cpu` backend's kernel for cases a native kernel does not handle (another dtype, a
 * rare attribute). The cpu kernels work on our backend because it extends MathBackendCPU.
 */
export function cpuFallback(
  kernelName: string,
  args: {inputs: object; backend: NativeBackend; attrs?: object},
): TensorInfo {
  const k = getKernel(kernelName, 'cpu');
  if (k == null) throw new Error(`${kernelName}: no cpu kernel to fall back to`);
  return k.kernelFunc({
    inputs: args.inputs as NamedTensorInfoMap,
    backend: args.backend,
    attrs: (args.attrs ?? {}) as NamedAttrMap,
  }) as TensorInfo;
}
