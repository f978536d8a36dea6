import {Tile, util} from '@tensorflow/tfjs-core';
import type {KernelConfig, TensorInfo, TileAttrs, TileInputs} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';

/**
 * Tiles `x` (row-major `shape`) `reps` times along each axis. Each input row is copied once per
 * repetition, then every finished block is repeated with copyWithin: block copies instead of the
 * cpu kernel's per-element index arithmetic (batch-norm gradients tile per step; the cpu kernel
 * took 146 of the deep teacher's 240 ms per step).
 */
export function tileValues(x: Float32Array, shape: readonly number[], reps: readonly number[]): Float32Array {
  const rank = shape.length;
  const outShape = shape.map((s, i) => s * reps[i]);
  const out = allocF32(util.sizeFromShape(outShape));
  if (out.length === 0) return out;
  if (rank === 0) {
    out[0] = x[0];
    return out;
  }
  const inStride = new Array<number>(rank);
  const outStride = new Array<number>(rank);
  inStride[rank - 1] = 1;
  outStride[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) {
    inStride[d] = inStride[d + 1] * shape[d + 1];
    outStride[d] = outStride[d + 1] * outShape[d + 1];
  }
  const fill = (d: number, inOff: number, outOff: number): void => {
    const n = shape[d];
    if (d === rank - 1) {
      out.set(x.subarray(inOff, inOff + n), outOff);
    } else {
      for (let j = 0; j < n; j++) fill(d + 1, inOff + j * inStride[d], outOff + j * outStride[d]);
    }
    const block = n * outStride[d];
    for (let r = 1; r < reps[d]; r++) out.copyWithin(outOff + r * block, outOff, outOff + block);
  };
  fill(0, 0, 0);
  return out;
}

export function tile(args: {inputs: TileInputs; backend: NativeBackend; attrs: TileAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const x = inputs.x as TensorInfo;
  if (x.dtype !== 'float32' || attrs.reps.length !== x.shape.length) return cpuFallback(Tile, args);
  const out = tileValues(backend.f32(x), x.shape, attrs.reps);
  return backend.output(x.shape.map((s, i) => s * attrs.reps[i]), out);
}

export const tileConfig: KernelConfig = {
  kernelName: Tile,
  backendName: 'native',
  kernelFunc: tile as unknown as KernelConfig['kernelFunc'],
};
