import {Concat, backend_util, util} from '@tensorflow/tfjs-core';
import type {ConcatAttrs, ConcatInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';

/** Concat along any axis, as the 2-D concat [outer, inner_i] along axis 1 (like the cpu kernel). */
export function concat(args: {inputs: ConcatInputs; backend: NativeBackend; attrs: ConcatAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const xs = inputs as TensorInfo[];
  if (xs.length === 0 || xs.some((t) => t.dtype !== 'float32')) return cpuFallback(Concat, args);
  const axis = util.parseAxisParam(attrs.axis, xs[0].shape)[0];
  backend_util.assertParamsConsistent(xs.map((t) => t.shape), axis);
  const outShape = backend_util.computeOutShape(xs.map((t) => t.shape), axis);
  const parts = xs.filter((t) => util.sizeFromShape(t.shape) > 0);
  // Empty results and a single non-empty part are cheap in the cpu kernel (no copy).
  if (util.sizeFromShape(outShape) === 0 || parts.length < 2) return cpuFallback(Concat, args);
  const outer = util.sizeFromShape(outShape.slice(0, axis));
  const cols = parts.map((t) => util.sizeFromShape(t.shape.slice(axis)));
  const out = allocF32(util.sizeFromShape(outShape));
  backend.addon.concat(parts.map((t) => backend.f32(t)), out, outer, cols);
  return backend.output(outShape, out);
}

export const concatConfig: KernelConfig = {
  kernelName: Concat,
  backendName: 'native',
  kernelFunc: concat as unknown as KernelConfig['kernelFunc'],
};
