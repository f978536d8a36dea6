import {backend_util, BatchMatMul, util} from '@tensorflow/tfjs-core';
import type {BatchMatMulAttrs, BatchMatMulInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';
import {cpuFallback} from '../fallback.js';

/** Shapes of a batched matmul after flattening the batch dims, or null when broadcasting is general. */
export function matMulGeometry(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean) {
  const ra = a.shape.length, rb = b.shape.length;
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const K2 = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== K2) {
    throw new Error(`BatchMatMul: inner dimensions differ: a [${a.shape}] b [${b.shape}] ` +
      `(transposeA=${transposeA}, transposeB=${transposeB})`);
  }
  const batchA = util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = util.sizeFromShape(b.shape.slice(0, -2));
  // Only equal batch shapes or a batch of one are handled natively.
  const simple = batchA === batchB ? util.arraysEqual(a.shape.slice(0, -2), b.shape.slice(0, -2)) || ra === 2 || rb === 2
    : batchA === 1 || batchB === 1;
  if (!simple) return null;
  // e.g. [1, M, K] x [4, K, N] -> [4, M, N]; [2, 1, M, K] x [3, K, N] is not simple (batch sizes 2 and 3).
  const outBatch = backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return {batchA, batchB, M, N, K, outShape: [...outBatch, M, N]};
}

export function batchMatMul(args: {inputs: BatchMatMulInputs; backend: NativeBackend; attrs: BatchMatMulAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const a = inputs.a as TensorInfo, b = inputs.b as TensorInfo;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return cpuFallback(BatchMatMul, args);
  const g = matMulGeometry(a, b, attrs.transposeA, attrs.transposeB);
  if (g == null) return cpuFallback(BatchMatMul, args);
  const out = allocF32(Math.max(g.batchA, g.batchB) * g.M * g.N);
  backend.addon.batchMatMul(backend.f32(a), backend.f32(b), out, [g.batchA, g.batchB, g.M, g.N, g.K],
    attrs.transposeA, attrs.transposeB);
  return backend.output(g.outShape, out);
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: 'native',
  kernelFunc: batchMatMul as unknown as KernelConfig['kernelFunc'],
};
