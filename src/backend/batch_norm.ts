// Training-mode batch norm as two native kernels instead of ~30 tfjs ops per layer: the op
// `batchNormTraining` (HafifBatchNormTrain, with its gradient registered through tfjs' gradient
// registry as HafifBatchNormTrainGrad) and a patch of tfjs-layers' BatchNormalization that uses it
// when training on the native backend. Inference and every other backend keep the stock path.
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';

import {HafifBatchNormTrain} from './kernels/HafifBatchNormTrain.js';
import {HafifBatchNormTrainGrad} from './kernels/HafifBatchNormTrainGrad.js';

/** Options of {@link batchNormTraining}. */
export interface BatchNormTrainingOptions {
  /** γ, one per channel (last axis); omitted = 1. */
  readonly scale?: tf.Tensor | null;
  /** β, one per channel; omitted = 0. */
  readonly offset?: tf.Tensor | null;
  /** Moving statistics to update; both or neither. */
  readonly movingMean?: tf.Tensor | null;
  readonly movingVariance?: tf.Tensor | null;
  /** @default 1e-3 */
  readonly epsilon?: number;
  /** Keras momentum of the moving averages. @default 0.99 */
  readonly momentum?: number;
}

export interface BatchNormTrainingResult {
  readonly y: tf.Tensor;
  /** Batch mean and biased variance per channel (tf.moments over every axis but the last). */
  readonly mean: tf.Tensor1D;
  readonly variance: tf.Tensor1D;
  /** moving - (moving - batch)·(1 - momentum), when the moving statistics were given. */
  readonly movingMean: tf.Tensor1D | null;
  readonly movingVariance: tf.Tensor1D | null;
}

/**
 * Batch norm in training mode over the last axis, on the native backend: what tfjs-layers computes
 * with moments + batchNorm + the moving-average update, in one kernel, differentiable (tf.grads)
 * through y, mean and variance.
 * @example const {y} = batchNormTraining(x, {scale: gamma, offset: beta, epsilon: 1e-3});
 */
export function batchNormTraining(x: tf.Tensor, options: BatchNormTrainingOptions = {}): BatchNormTrainingResult {
  const {epsilon = 1e-3, momentum = 0.99} = options;
  const C = x.shape[x.shape.length - 1];
  if ((options.movingMean == null) !== (options.movingVariance == null)) {
    throw new Error('batchNormTraining: movingMean and movingVariance must be given together');
  }
  const out = tf.tidy(() => {
    // The gradient needs scale; a missing one is ones (its gradient then goes nowhere).
    const scale = options.scale ?? tf.ones([C]);
    const offset = options.offset ?? tf.zeros([C]);
    const inputs: tf.NamedTensorMap = {x, scale, offset};
    if (options.movingMean != null && options.movingVariance != null) {
      inputs.movingMean = options.movingMean;
      inputs.movingVariance = options.movingVariance;
    }
    return tf.engine().runKernel(HafifBatchNormTrain, inputs, {epsilon, momentum}) as tf.Tensor[];
  });
  return {y: out[0], mean: out[1] as tf.Tensor1D, variance: out[2] as tf.Tensor1D,
    movingMean: (out[3] ?? null) as tf.Tensor1D | null, movingVariance: (out[4] ?? null) as tf.Tensor1D | null};
}

tf.registerGradient({
  kernelName: HafifBatchNormTrain,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true, false, false],
  gradFunc: (dys, saved, attrs) => {
    const d = dys as tf.Tensor[];
    const [x, scale, mean, variance] = saved;
    const {epsilon, momentum} = attrs as unknown as {epsilon: number; momentum: number};
    const inputs: tf.NamedTensorMap = {dy: d[0], x, mean, variance, scale, dmean: d[1], dvariance: d[2]};
    if (d.length === 5) {
      inputs.dmovingMean = d[3];
      inputs.dmovingVariance = d[4];
    }
    const [dx, dscale, doffset] = tf.engine().runKernel(HafifBatchNormTrainGrad, inputs, {epsilon, momentum}) as tf.Tensor[];
    return {
      x: () => dx,
      scale: () => dscale,
      offset: () => doffset,
      // new moving = moving·momentum + batch·(1 - momentum)
      movingMean: () => tf.mul(d[3], momentum),
      movingVariance: () => tf.mul(d[4], momentum),
    };
  },
});

/** The parts of tfjs-layers' BatchNormalization the patch reads. */
interface BatchNormLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma: {read(): tf.Tensor} | null;
  beta: {read(): tf.Tensor} | null;
  movingMean: {read(): tf.Tensor; write(t: tf.Tensor): void};
  movingVariance: {read(): tf.Tensor; write(t: tf.Tensor): void};
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

let patched = false;

/**
 * Makes tfjs-layers' BatchNormalization run HafifBatchNormTrain when it trains on the native
 * backend with the channels last (the only layout hafif's models use); everything else goes to the
 * layer's own call. Idempotent; HAFIF_FUSED_BN=0 leaves the layer alone (for A/B benchmarks).
 */
export function installBatchNormLayer(): void {
  if (patched || process.env.HAFIF_FUSED_BN === '0') return;
  const entry = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization;
  if (entry == null) throw new Error('tfjs-layers BatchNormalization is not registered');
  const proto = (entry[0] as unknown as {prototype: BatchNormLayer}).prototype;
  const original = proto.call;
  proto.call = function (this: BatchNormLayer, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const training = kwargs?.training === true;
    const axis = this.axis >= 0 ? this.axis : this.axis + x.rank;
    if (!training || tf.getBackend() !== 'native' || x.dtype !== 'float32' || axis !== x.rank - 1 ||
      (Array.isArray(inputs) && inputs.length !== 1)) {
      return original.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const r = batchNormTraining(x, {
        scale: this.gamma?.read(), offset: this.beta?.read(),
        movingMean: this.movingMean.read(), movingVariance: this.movingVariance.read(),
        epsilon: this.epsilon, momentum: this.momentum,
      });
      this.movingMean.write(r.movingMean as tf.Tensor);
      this.movingVariance.write(r.movingVariance as tf.Tensor);
      return r.y;
    });
  };
  patched = true;
}
