// Cast between float32, int32 and bool with JavaScript's conversions (Int32Array.from, x !== 0).
// Unlike the cpu kernel, a cast to float32 always yields a Float32Array (the cpu one keeps the
// int32 or bool array), so the native float32 kernels downstream take it.
import {Cast} from '@tensorflow/tfjs-core';
import type {DataType} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import {allocF32, allocI32, allocU8, input, nativeKernel} from './elementwise_util.js';

type Numeric = Float32Array | Int32Array | Uint8Array;

function allocate(dtype: DataType, n: number): Numeric | null {
  if (dtype === 'float32') return allocF32(n);
  if (dtype === 'int32') return allocI32(n);
  if (dtype === 'bool') return allocU8(n);
  return null;
}

export const castConfig = nativeKernel(Cast, (args) => {
  const {inputs, backend, attrs} = args;
  const x = input(Cast, inputs, 'x');
  const dtype = attrs?.dtype as DataType | undefined;
  if (dtype == null || x.dtype === dtype) return cpuFallback(Cast, args);
  const v = backend.data.get(x.dataId).values;
  if (!(v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array)) return cpuFallback(Cast, args);
  const out = allocate(dtype, v.length);
  // A float32 tensor holding an Int32Array (left by a cpu cast) cast back to int32: same array type.
  if (out == null || out.constructor === v.constructor) return cpuFallback(Cast, args);
  backend.addon.cast(v, out);
  return backend.makeTensorInfo(x.shape, dtype, out);
});
