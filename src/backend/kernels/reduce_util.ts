import {backend_util, util} from '@tensorflow/tfjs-core';
import type {TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';

/**
 * [outer, reduce, inner] when the reduced axes are contiguous once size-1 dims are ignored, else
 * null (the axes then need a transpose first).
 */
export function reduceDims(shape: number[], axes: number[]): [number, number, number] | null {
  const reduced = new Set(axes);
  const big = shape.map((d, i) => i).filter((i) => shape[i] !== 1 && reduced.has(i));
  const R = axes.reduce((p, a) => p * shape[a], 1);
  if (big.length === 0) return [util.sizeFromShape(shape), R, 1];
  const first = big[0], last = big[big.length - 1];
  for (let i = first; i <= last; ++i) if (shape[i] !== 1 && !reduced.has(i)) return null;
  return [util.sizeFromShape(shape.slice(0, first)), R, util.sizeFromShape(shape.slice(last + 1))];
}

/**
 * The values of x with `axes` as the middle of [outer, reduce, inner]: x itself when they are
 * contiguous, else a native transpose putting them last (as the cpu kernels do).
 */
export function reduceView(backend: NativeBackend, x: TensorInfo, axes: number[]): {values: Float32Array; dims: number[]} {
  const values = backend.f32(x);
  const dims = reduceDims(x.shape, axes);
  if (dims != null) return {values, dims};
  const kept = x.shape.map((d, i) => i).filter((i) => !axes.includes(i));
  const perm = [...kept, ...[...axes].sort((a, b) => a - b)];
  const moved = new Float32Array(values.length);
  backend.addon.transpose(values, moved, x.shape, perm);
  const R = axes.reduce((p, a) => p * x.shape[a], 1);
  return {values: moved, dims: [values.length / R, R, 1]};
}

export type ReduceOpName = 'sum' | 'mean' | 'prod' | 'max' | 'min';

/**
 * Sum / Mean / Prod / Max / Min of a float32 tensor over any axes; other dtypes and empty
 * tensors go to the cpu kernel.
 */
export function nativeReduce(
  kernelName: string,
  op: ReduceOpName,
  args: {inputs: {x?: TensorInfo}; backend: NativeBackend; attrs: object},
  axis: number | number[],
  keepDims: boolean,
): TensorInfo {
  const {backend} = args;
  const x = args.inputs.x as TensorInfo;
  if (x.dtype !== 'float32' || util.sizeFromShape(x.shape) === 0) return cpuFallback(kernelName, args);
  const axes = util.parseAxisParam(axis, x.shape);
  if (new Set(axes).size !== axes.length) return cpuFallback(kernelName, args);
  const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
  const {values, dims} = reduceView(backend, x, axes);
  const out = new Float32Array(util.sizeFromShape(outShape));
  backend.addon[op](values, out, dims);
  return backend.output(keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape, out);
}
