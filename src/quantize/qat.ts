// Quantization-aware fine-tuning (as torch.ao.quantization's FakeQuantize): the model trains
// through int8 rounding. Weights: a training hook swaps each kernel for its per-channel
// fake-quantized value before the forward pass and puts the float one back once the gradients
// exist, so the gradient taken at the rounded weights updates the float ones (the
// straight-through estimator). Activations: the layers at the quantization points are wrapped
// with a fake-quant op whose gradient passes inside the range and is zero outside it
// (tf.quantization.fake_quant's), and whose range follows an exponential moving average of each
// batch's min and max. Batch norm is folded first (foldBatchNorm), so what trains is what exports.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import type {TrainHook} from '../train/index.js';
import {UsageError} from '../util/registry.js';
import {activationParams, quantizationPoints, type Calibration, type TensorRange} from './int8.js';

const KERNEL_CLASSES = ['Conv2D', 'Dense', 'DepthwiseConv2D'];

/** Options of {@link QuantizationAware}. */
export interface QatOptions {
  /** Storage bits simulated. @default 8 */
  readonly bits?: number;
  /** Weight of the old range in the moving average: `r ← d·r + (1 − d)·batch`. @default 0.99 */
  readonly emaDecay?: number;
}

/**
 * Per-output-channel symmetric fake quantization of a kernel whose output channel is its fastest
 * index (`channels` of them: Conv2D and Dense the last axis, DepthwiseConv2D in·mult).
 */
export function fakeQuantizeKernel(kernel: tf.Tensor, channels: number, bits = 8): tf.Tensor {
  const qmax = 2 ** (bits - 1) - 1;
  return tf.tidy(() => {
    const flat = kernel.reshape([-1, channels]);
    const absMax = flat.abs().max(0);
    const scale = tf.where(absMax.greater(0), absMax.div(qmax), tf.onesLike(absMax));
    return flat.div(scale).round().clipByValue(-qmax, qmax).mul(scale).reshape(kernel.shape);
  });
}

/** Fake quantization with the straight-through gradient: dy where min ≤ x ≤ max, else 0. */
function fakeQuantSTE(x: tf.Tensor, range: TensorRange, bits: number): tf.Tensor {
  const p = activationParams(range.min, range.max, bits);
  const qmin = -(2 ** (bits - 1));
  const qmax = 2 ** (bits - 1) - 1;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([input]);
    const value = tf.round(input.div(p.scale)).add(p.zeroPoint).clipByValue(qmin, qmax).sub(p.zeroPoint).mul(p.scale);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xin] = saved;
        const g = Array.isArray(dy) ? dy[0] : dy;
        return g.mul(xin.greaterEqual(p.min).logicalAnd(xin.lessEqual(p.max)).cast(g.dtype));
      },
    };
  });
  return op(x) as tf.Tensor;
}

type CallFn = tfl.layers.Layer['call'];

/**
 * A chain model prepared for quantization-aware fine-tuning: pass {@link hook} to `fit` or
 * `Distiller.fit`, then read {@link calibration} (the moving-average ranges) and call
 * {@link remove} to get the plain model back. The model should be batch-norm-folded.
 * @example const qat = new QuantizationAware(folded); await fit(folded, x, y, {hooks: [qat.hook]}); qat.remove();
 */
export class QuantizationAware {
  /** The weight-swap hook for the training engine. */
  readonly hook: TrainHook;
  private readonly ranges = new Map<string, {min: number; max: number}>();
  private readonly originals = new Map<tfl.layers.Layer, CallFn>();
  private readonly kernels: {variable: tf.Variable; channels: number}[] = [];
  private floats: tf.Tensor[] = [];
  private readonly bits: number;
  private readonly decay: number;

  constructor(private readonly model: tfl.LayersModel, options: QatOptions = {}) {
    const {bits = 8, emaDecay = 0.99} = options;
    if (!(emaDecay >= 0 && emaDecay < 1)) throw new UsageError(`emaDecay must be in [0, 1), got ${emaDecay}`);
    this.bits = bits;
    this.decay = emaDecay;
    const points = quantizationPoints(model);
    for (const layer of model.layers) {
      if (layer.getClassName() === 'BatchNormalization') {
        throw new UsageError(`layer "${layer.name}" is a batch norm; fold it into the layer before it (foldBatchNorm) before QAT`);
      }
      if (!KERNEL_CLASSES.includes(layer.getClassName())) continue;
      const k = layer.trainableWeights.find((w) => /kernel$/.test(w.originalName));
      if (k == null) continue;
      const shape = k.shape as number[];
      const channels = layer.getClassName() === 'DepthwiseConv2D' ? shape[2] * shape[3] : shape[shape.length - 1];
      this.kernels.push({variable: k.read() as tf.Variable, channels});
    }
    for (const p of points) {
      const layer = p.after < 0 ? model.layers[0] : model.layers[p.after];
      if (!this.originals.has(layer)) this.originals.set(layer, layer.call);
      const inner = layer.call.bind(layer) as CallFn; // may already be wrapped (input point of the first layer)
      layer.call = (p.after < 0
        ? (inputs, kwargs) => inner(this.observe('input', Array.isArray(inputs) ? inputs[0] : inputs, kwargs), kwargs)
        : (inputs, kwargs) => this.observe(p.name, inner(inputs, kwargs) as tf.Tensor, kwargs)) as CallFn;
    }
    this.hook = {
      beforeForward: () => this.swapIn(),
      afterGradients: () => this.swapOut(),
      onTrainEnd: () => this.swapOut(),
    };
  }

  /** Updates the point's moving-average range while training, and fake-quantizes `x` with it. */
  private observe(name: string, x: tf.Tensor, kwargs: {training?: boolean}): tf.Tensor {
    const training = kwargs?.training === true;
    const r = this.ranges.get(name);
    if (training || r == null) {
      const [lo, hi] = tf.tidy(() => [x.min().dataSync()[0], x.max().dataSync()[0]]);
      if (r == null) this.ranges.set(name, {min: lo, max: hi});
      else if (training) this.ranges.set(name, {min: this.decay * r.min + (1 - this.decay) * lo, max: this.decay * r.max + (1 - this.decay) * hi});
    }
    return fakeQuantSTE(x, this.ranges.get(name) as TensorRange, this.bits);
  }

  private swapIn(): void {
    this.swapOut();
    for (const {variable, channels} of this.kernels) {
      this.floats.push(variable.clone());
      const q = fakeQuantizeKernel(variable, channels, this.bits);
      variable.assign(q);
      q.dispose();
    }
  }

  private swapOut(): void {
    if (this.floats.length === 0) return;
    this.kernels.forEach(({variable}, i) => variable.assign(this.floats[i]));
    tf.dispose(this.floats);
    this.floats = [];
  }

  /** The moving-average ranges learned so far, as a calibration for {@link Int8Simulation}. */
  calibration(): Calibration {
    const input = this.ranges.get('input');
    if (input == null) throw new UsageError('no range observed yet: train (or run the model) once before reading the calibration');
    const activations: Record<string, TensorRange> = {};
    for (const [k, v] of this.ranges) if (k !== 'input') activations[k] = {...v};
    return {input: {...input}, activations};
  }

  /** Puts back the layers' own call and the float kernels: the model is a plain tfjs model again. */
  remove(): void {
    this.swapOut();
    for (const [layer, call] of this.originals) layer.call = call;
    this.originals.clear();
  }

}
