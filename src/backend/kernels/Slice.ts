import {Slice, slice_util, util} from '@tensorflow/tfjs-core';
import type {KernelConfig, SliceAttrs, SliceInputs, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';

export function slice(args: {inputs: SliceInputs; backend: NativeBackend; attrs: SliceAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const x = inputs.x as TensorInfo;
  if (x.dtype !== 'float32' || x.shape.length > 8) return cpuFallback(Slice, args);
  const [begin, size] = slice_util.parseSliceParams(x, attrs.begin, attrs.size);
  slice_util.assertParamsValid(x, begin, size);
  // A contiguous slice is a zero-copy view in the cpu kernel: nothing to speed up.
  if (slice_util.isSliceContinous(x.shape, begin, size)) return cpuFallback(Slice, args);
  const out = allocF32(util.sizeFromShape(size));
  backend.addon.slice(backend.f32(x), out, x.shape, begin, size);
  return backend.output(size, out);
}

export const sliceConfig: KernelConfig = {
  kernelName: Slice,
  backendName: 'native',
  kernelFunc: slice as unknown as KernelConfig['kernelFunc'],
};
