// HafifBatchNormTrainGrad: the gradient of HafifBatchNormTrain in one native call (two passes over
// x and dy): dx, dscale and doffset from dy and the gradients of the mean and variance outputs.
import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';

import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';
import {channelValues} from './HafifBatchNormTrain.js';

export const HafifBatchNormTrainGrad = 'HafifBatchNormTrainGrad';

/**
 * Inputs: dy, x, mean, variance (the forward's), scale, and optional dmean, dvariance (gradients of
 * the mean / variance outputs) and dmovingMean, dmovingVariance (of the new moving statistics, which
 * depend on the batch's by the factor 1 - momentum). Attrs: epsilon, momentum. Outputs [dx, dscale, doffset].
 */
const hafifBatchNormTrainGrad: KernelFunc = ({inputs, backend: b, attrs}) => {
  const backend = b as NativeBackend;
  const {dy, x, mean, variance, scale, dmovingMean, dmovingVariance} = inputs;
  const {epsilon, momentum} = attrs as {epsilon: number; momentum: number};
  const k = HafifBatchNormTrainGrad;
  if (dy == null || x == null || mean == null || variance == null) {
    throw new Error(`${k}: needs dy, x, mean and variance`);
  }
  const C = x.shape[x.shape.length - 1];
  const xv = backend.f32(x);
  // d(batch statistic) + (1 - momentum)·d(new moving statistic), C values on the host.
  const total = (d: TensorInfo | undefined, dMoving: TensorInfo | undefined, name: string): Float32Array | null => {
    const a = channelValues(backend, k, name, d, C), m = channelValues(backend, k, `${name} (moving)`, dMoving, C);
    if (m == null) return a;
    const out = new Float32Array(C);
    for (let c = 0; c < C; c++) out[c] = (a ? a[c] : 0) + (1 - momentum) * m[c];
    return out;
  };
  const dx = allocF32(xv.length), dscale = new Float32Array(C), doffset = new Float32Array(C);
  backend.addon.batchNormTrainGrad(backend.f32(dy), xv, channelValues(backend, k, 'mean', mean, C) as Float32Array,
    channelValues(backend, k, 'variance', variance, C) as Float32Array, channelValues(backend, k, 'scale', scale, C),
    total(inputs.dmean, dmovingMean, 'dmean'), total(inputs.dvariance, dmovingVariance, 'dvariance'),
    dx, dscale, doffset, C, epsilon);
  return [backend.output(x.shape, dx), backend.output([C], dscale), backend.output([C], doffset)];
};

export const hafifBatchNormTrainGradConfig: KernelConfig = {
  kernelName: HafifBatchNormTrainGrad,
  backendName: 'native',
  kernelFunc: hafifBatchNormTrainGrad,
};
