// HafifBatchNormTrain: training-mode batch norm over the last axis in one native call — batch mean
// and (biased) variance, y = (x - mean)·scale/sqrt(variance + epsilon) + offset, and Keras' moving
// average update of movingMean / movingVariance when they are given. hafif's own kernel (tfjs has
// none for this); its gradient is HafifBatchNormTrainGrad (see ../batch_norm.ts).
import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';

import type {NativeBackend} from '../native_backend.js';
import {allocF32} from './elementwise_util.js';

export const HafifBatchNormTrain = 'HafifBatchNormTrain';

/** Inputs: x [..., C] and per-channel [C] scale, offset and (optionally) movingMean, movingVariance. */
export interface HafifBatchNormTrainAttrs {
  readonly epsilon: number;
  /** Keras momentum: new = moving·momentum + batch·(1 - momentum). */
  readonly momentum: number;
}

/** The float32 values of a [C] per-channel input, checked. */
export function channelValues(backend: NativeBackend, kernel: string, name: string, t: TensorInfo | undefined,
  channels: number): Float32Array | null {
  if (t == null) return null;
  if (t.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${t.dtype}`);
  const v = backend.f32(t);
  if (v.length !== channels) {
    throw new Error(`${kernel}: ${name} has shape [${t.shape}], expected ${channels} values (x's last axis)`);
  }
  return v;
}

/** Outputs [y, mean, variance] and, when the moving statistics are inputs, [newMovingMean, newMovingVariance]. */
const hafifBatchNormTrain: KernelFunc = ({inputs, backend: b, attrs}) => {
  const backend = b as NativeBackend;
  const {x, scale, offset, movingMean, movingVariance} = inputs;
  const {epsilon, momentum} = attrs as unknown as HafifBatchNormTrainAttrs;
  const k = HafifBatchNormTrain;
  if (x == null) throw new Error(`${k}: missing input 'x'`);
  if (x.dtype !== 'float32') throw new Error(`${k}: x must be float32, got ${x.dtype}`);
  if (x.shape.length < 1) throw new Error(`${k}: x must have a channel axis, got shape [${x.shape}]`);
  if ((movingMean == null) !== (movingVariance == null)) {
    throw new Error(`${k}: movingMean and movingVariance must be given together`);
  }
  const C = x.shape[x.shape.length - 1];
  const xv = backend.f32(x);
  const y = allocF32(xv.length), mean = new Float32Array(C), variance = new Float32Array(C);
  const mm = channelValues(backend, k, 'movingMean', movingMean, C);
  const mv = channelValues(backend, k, 'movingVariance', movingVariance, C);
  const nmm = mm ? new Float32Array(C) : null, nmv = mv ? new Float32Array(C) : null;
  backend.addon.batchNormTrain(xv, channelValues(backend, k, 'scale', scale, C), channelValues(backend, k, 'offset', offset, C),
    mm, mv, y, mean, variance, nmm, nmv, C, epsilon, momentum);
  const out = [backend.output(x.shape, y), backend.output([C], mean), backend.output([C], variance)];
  if (nmm && nmv) out.push(backend.output([C], nmm), backend.output([C], nmv));
  return out;
};

export const hafifBatchNormTrainConfig: KernelConfig = {
  kernelName: HafifBatchNormTrain,
  backendName: 'native',
  kernelFunc: hafifBatchNormTrain,
};
