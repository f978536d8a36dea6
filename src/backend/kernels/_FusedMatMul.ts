import {_FusedMatMul} from '@tensorflow/tfjs-core';
import type {_FusedMatMulAttrs, _FusedMatMulInputs, KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {cpuFallback} from '../fallback.js';
import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';
import {matMulGeometry} from './BatchMatMul.js';

const nativeActivations = new Set(['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu']);

/**
 * matmul + bias + activation in one pass over the output. Runs natively for float32, a bias of
 * one element or one per output column (which leaves the output shape unchanged), and every
 * activation except prelu; the rest goes to the cpu kernel.
 */
export function fusedMatMul(args: {inputs: _FusedMatMulInputs; backend: NativeBackend; attrs: _FusedMatMulAttrs}): TensorInfo {
  const {inputs, backend, attrs} = args;
  const a = inputs.a as TensorInfo, b = inputs.b as TensorInfo, bias = inputs.bias as TensorInfo | undefined;
  const activation = attrs.activation ?? 'linear';
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || !nativeActivations.has(activation)) {
    return cpuFallback(_FusedMatMul, args);
  }
  const g = matMulGeometry(a, b, attrs.transposeA, attrs.transposeB);
  if (g == null) return cpuFallback(_FusedMatMul, args);
  if (bias != null) {
    const size = bias.shape.reduce((p, d) => p * d, 1);
    const last = bias.shape.length === 0 ? 1 : bias.shape[bias.shape.length - 1];
    const fits = bias.dtype === 'float32' && bias.shape.length <= g.outShape.length &&
      (size === 1 || (size === g.N && last === g.N));
    if (!fits) return cpuFallback(_FusedMatMul, args);
  }
  const out = allocF32(Math.max(g.batchA, g.batchB) * g.M * g.N);
  backend.addon.fusedMatMul(backend.f32(a), backend.f32(b), bias == null ? null : backend.f32(bias), out,
    [g.batchA, g.batchB, g.M, g.N, g.K], attrs.transposeA, attrs.transposeB,
    activation as 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu', attrs.leakyreluAlpha ?? 0.2);
  return backend.output(g.outShape, out);
}

export const fusedMatMulConfig: KernelConfig = {
  kernelName: _FusedMatMul,
  backendName: 'native',
  kernelFunc: fusedMatMul as unknown as KernelConfig['kernelFunc'],
};
