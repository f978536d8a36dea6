// Full-integer post-training int8, simulated: per-output-channel symmetric int8 weights, per-tensor
// asymmetric int8 activations whose ranges come from a calibration set, and fake-quant inference
// in TensorFlow.js so the accuracy is known before any export. The ranges and scales are what
// quantization.json carries to the ONNX exporter.
import {createHash} from 'node:crypto';

import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {saveModel} from '../io/index.js';
import {modelArtifacts} from './weights.js';

import {HostExamples, labelsToInt32, type Evaluation, type Inputs, type Labels} from '../train/index.js';
import {UsageError} from '../util/registry.js';
import {cloneSequential} from './fold.js';

/** How a per-tensor activation range is chosen from the calibration values. */
export type CalibrationMethod = 'minmax' | 'percentile' | 'mse';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'mse'];

/** A range of real values. */
export interface TensorRange {
  readonly min: number;
  readonly max: number;
}

/** Per-tensor asymmetric quantization: q = clamp(round(x/scale) + zeroPoint, qmin, qmax). */
export interface ActivationParams extends TensorRange {
  readonly scale: number;
  readonly zeroPoint: number;
}

/** Per-output-channel symmetric weight quantization of one layer's kernel. */
export interface WeightParams {
  /** The output-channel axis of the tfjs kernel (Conv2D 3, Dense 1, DepthwiseConv2D 2, channel = in·mult). */
  readonly axis: number;
  readonly scales: readonly number[];
}

/** Quantizable kernels: class name → output-channel axis of the kernel. */
const KERNEL_AXIS: Readonly<Record<string, number>> = {Conv2D: 3, Dense: 1, DepthwiseConv2D: 2};
/** Layers whose output keeps its input's quantization (max-pooling and reshapes move values, they make none). */
const PASS_THROUGH = ['InputLayer', 'MaxPooling2D', 'MaxPooling1D', 'Flatten', 'Reshape', 'Dropout', 'SpatialDropout2D'];

function isReluLike(layer: tfl.layers.Layer): boolean {
  const cls = layer.getClassName();
  if (cls === 'ReLU') return true; // with or without maxValue (ReLU6): both fuse into the op before
  if (cls === 'Activation') return ['relu', 'relu6'].includes((layer.getConfig() as {activation: string}).activation);
  return false;
}

/**
 * Per-tensor activation parameters for `bits`-bit signed storage ([−2^(bits−1), 2^(bits−1) − 1]):
 * the range is widened to hold 0, `scale = (max − min)/(2^bits − 1)`,
 * `zeroPoint = round(qmin − min/scale)` clamped to the storage range. A zero range gets scale 1.
 * @example activationParams(0, 6.1) // {min: 0, max: 6.1, scale: 0.02392, zeroPoint: -128}
 */
export function activationParams(min: number, max: number, bits = 8): ActivationParams {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const qmin = -(2 ** (bits - 1));
  const qmax = 2 ** (bits - 1) - 1;
  const scale = hi > lo ? (hi - lo) / (qmax - qmin) : 1;
  const zeroPoint = Math.min(qmax, Math.max(qmin, Math.round(qmin - lo / scale)));
  return {min: lo, max: hi, scale, zeroPoint};
}

/** Symmetric per-channel scales `max|w_c| / (2^(bits−1) − 1)` of a kernel whose channel is its fastest index (a zero channel gets 1). */
export function channelScales(kernel: Float32Array, channels: number, bits = 8): number[] {
  const qmax = 2 ** (bits - 1) - 1;
  const absMax = new Float64Array(channels);
  for (let k = 0; k < kernel.length; k++) {
    const a = Math.abs(kernel[k]);
    const c = k % channels;
    if (a > absMax[c]) absMax[c] = a;
  }
  return Array.from(absMax, (m) => (m > 0 ? m / qmax : 1));
}

/** One point of the chain where a tensor is quantized: the model input or a layer's output. */
interface QuantPoint {
  /** 'input' or the layer name. */
  readonly name: string;
  /** Index into model.layers whose output this is (−1 for the input). */
  readonly after: number;
}

/**
 * The quantized tensors of a chain model, as an integer runtime would see them: the input and each
 * layer's output, except outputs fused into a following ReLU (Conv2D → ReLU quantizes after the
 * ReLU) and layers that pass their input's quantization through (max-pooling, flatten, reshape,
 * dropout), which are absent.
 */
export function quantizationPoints(model: tfl.LayersModel): readonly QuantPoint[] {
  checkChain(model);
  const points: QuantPoint[] = [{name: 'input', after: -1}];
  const layers = model.layers;
  for (let i = 0; i < layers.length; i++) {
    const cls = layers[i].getClassName();
    if (PASS_THROUGH.includes(cls)) continue;
    const next = layers[i + 1];
    if (next != null && isReluLike(next) && cls !== 'ReLU' && cls !== 'Activation') continue; // fused
    points.push({name: layers[i].name, after: i});
  }
  return points;
}

function checkChain(model: tfl.LayersModel): void {
  if (model.getClassName() !== 'Sequential') {
    throw new UsageError(`model "${model.name}" is a ${model.getClassName()}; int8 quantization supports Sequential models (a chain of layers)`);
  }
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new UsageError(`model "${model.name}" has ${model.inputs.length} inputs and ${model.outputs.length} outputs; int8 quantization needs one of each`);
  }
}

/** Options of {@link calibrate}. */
export interface CalibrationOptions {
  /** @default 'minmax' */
  readonly method?: CalibrationMethod;
  /** For 'percentile': the range runs from the (100 − p)-th to the p-th percentile of the values. @default 99.99 */
  readonly percentile?: number;
  /** Examples per forward pass. @default 64 */
  readonly batchSize?: number;
  /** Histogram bins of 'percentile' and 'mse'. @default 2048 */
  readonly bins?: number;
  /** Storage bits the 'mse' search assumes. @default 8 */
  readonly bits?: number;
}

/** Calibrated ranges: the model input's and each quantized layer output's. */
export interface Calibration {
  readonly input: TensorRange;
  readonly activations: Readonly<Record<string, TensorRange>>;
}

/** Runs the chain on `x`, handing every quantization point's float tensor to `visit` (inside one tidy per batch). */
function forEachPoint(
  model: tfl.LayersModel,
  points: readonly QuantPoint[],
  examples: HostExamples,
  batchSize: number,
  visit: (point: string, t: tf.Tensor) => void,
): void {
  const byLayer = new Map(points.map((p) => [p.after, p.name]));
  for (let start = 0; start < examples.count; start += batchSize) {
    const end = Math.min(start + batchSize, examples.count);
    tf.tidy(() => {
      const idx = new Int32Array(end - start).map((_, i) => start + i);
      let t = examples.gather(idx);
      visit('input', t);
      model.layers.forEach((layer, i) => {
        t = layer.apply(t, {training: false}) as tf.Tensor;
        const name = byLayer.get(i);
        if (name != null) visit(name, t);
      });
    });
  }
}

/** The range a histogram's method chooses. Bins span [lo, hi] evenly. */
function chooseRange(hist: Float64Array, lo: number, hi: number, method: CalibrationMethod, percentile: number, bits: number): TensorRange {
  const bins = hist.length;
  const width = (hi - lo) / bins;
  if (width === 0) return {min: lo, max: hi};
  const total = hist.reduce((a, b) => a + b, 0);
  if (method === 'percentile') {
    const tail = (total * (100 - percentile)) / 100;
    let acc = 0;
    let i = 0;
    while (i < bins - 1 && acc + hist[i] <= tail) acc += hist[i++];
    const min = lo + i * width;
    acc = 0;
    let j = bins - 1;
    while (j > 0 && acc + hist[j] <= tail) acc += hist[j--];
    const max = lo + (j + 1) * width;
    return {min: Math.min(min, max), max};
  }
  // mse: shrink the (zero-including) range by a factor α and keep the α whose expected squared
  // error — rounding noise scale²/12 inside, the distance to the clip outside — is least.
  const a0 = Math.min(lo, 0);
  const b0 = Math.max(hi, 0);
  let best = {min: lo, max: hi};
  let bestErr = Infinity;
  for (let step = 0; step < 200; step++) {
    const alpha = 1 - step / 200;
    const cmin = a0 * alpha;
    const cmax = b0 * alpha;
    const scale = (cmax - cmin) / (2 ** bits - 1);
    let err = 0;
    for (let i = 0; i < bins; i++) {
      if (hist[i] === 0) continue;
      const c = lo + (i + 0.5) * width;
      const d = c < cmin ? cmin - c : c > cmax ? c - cmax : 0;
      err += hist[i] * (d > 0 ? d * d : (scale * scale) / 12);
    }
    if (err < bestErr) {
      bestErr = err;
      best = {min: Math.max(cmin, lo), max: Math.min(cmax, hi)};
    }
  }
  return best;
}

/**
 * Per-tensor ranges of the model input and every quantized layer output over the calibration
 * examples `x`: their min and max ('minmax'), or the clip a histogram gives ('percentile', 'mse').
 */
export function calibrate(model: tfl.LayersModel, x: Inputs, options: CalibrationOptions = {}): Calibration {
  const {method = 'minmax', percentile = 99.99, batchSize = 64, bins = 2048, bits = 8} = options;
  if (!CALIBRATION_METHODS.includes(method)) {
    throw new UsageError(`unknown calibration method "${method}"; expected one of ${CALIBRATION_METHODS.join(', ')}`);
  }
  if (!(percentile > 50 && percentile <= 100)) throw new UsageError(`percentile must be in (50, 100], got ${percentile}`);
  const examples = new HostExamples(x, 'calibration x');
  if (examples.count === 0) throw new UsageError('the calibration set is empty');
  const points = quantizationPoints(model);
  const ranges = new Map<string, {min: number; max: number}>(points.map((p) => [p.name, {min: Infinity, max: -Infinity}]));
  forEachPoint(model, points, examples, batchSize, (name, t) => {
    const r = ranges.get(name) as {min: number; max: number};
    for (const v of t.dataSync()) {
      if (v < r.min) r.min = v;
      if (v > r.max) r.max = v;
    }
  });
  if (method !== 'minmax') {
    const hists = new Map(points.map((p) => [p.name, new Float64Array(bins)]));
    forEachPoint(model, points, examples, batchSize, (name, t) => {
      const {min, max} = ranges.get(name) as TensorRange;
      const h = hists.get(name) as Float64Array;
      const k = max > min ? bins / (max - min) : 0;
      for (const v of t.dataSync()) h[Math.min(bins - 1, Math.floor((v - min) * k))]++;
    });
    for (const p of points) {
      const {min, max} = ranges.get(p.name) as TensorRange;
      ranges.set(p.name, chooseRange(hists.get(p.name) as Float64Array, min, max, method, percentile, bits));
    }
  }
  const activations: Record<string, TensorRange> = {};
  for (const p of points) if (p.name !== 'input') activations[p.name] = ranges.get(p.name) as TensorRange;
  return {input: ranges.get('input') as TensorRange, activations};
}

/** Fake quantization of `x`: quantize to `bits` signed storage and back. */
export function fakeQuantize(x: tf.Tensor, p: ActivationParams, bits = 8): tf.Tensor {
  const qmin = -(2 ** (bits - 1));
  const qmax = 2 ** (bits - 1) - 1;
  return tf.tidy(() => tf.round(x.div(p.scale)).add(p.zeroPoint).clipByValue(qmin, qmax).sub(p.zeroPoint).mul(p.scale));
}

/** Options of {@link Int8Simulation.create}. */
export interface SimulationOptions {
  /** Storage bits of weights and activations (16 checks the simulation against float). @default 8 */
  readonly bits?: number;
}

/**
 * A fake-quant copy of a calibrated chain model: kernels rounded per output channel to
 * symmetric int8, biases to int32 at scale input·weight, every quantization point's tensor
 * rounded to int8 with its calibrated range. Owns its copy of the model; dispose it.
 */
export class Int8Simulation {
  private constructor(
    private readonly model: tfl.LayersModel,
    private readonly points: readonly QuantPoint[],
    readonly input: ActivationParams,
    readonly activations: Readonly<Record<string, ActivationParams>>,
    readonly weights: Readonly<Record<string, WeightParams>>,
    private readonly bits: number,
  ) {}

  /** Builds the simulation of `model` (unchanged) under `calibration`. */
  static async create(model: tfl.LayersModel, calibration: Calibration, options: SimulationOptions = {}): Promise<Int8Simulation> {
    const {bits = 8} = options;
    const points = quantizationPoints(model);
    const input = activationParams(calibration.input.min, calibration.input.max, bits);
    const activations: Record<string, ActivationParams> = {};
    for (const p of points) {
      if (p.name === 'input') continue;
      const r = calibration.activations[p.name];
      if (r == null) throw new UsageError(`calibration has no range for layer "${p.name}"`);
      activations[p.name] = activationParams(r.min, r.max, bits);
    }
    const copy = await cloneSequential(model);
    const weights: Record<string, WeightParams> = {};
    // The scale of the tensor each layer reads: that of the last quantization point before it.
    let inScale = input.scale;
    const pointAt = new Map(points.map((p) => [p.after, p.name]));
    try {
      copy.layers.forEach((layer, i) => {
        const axis = KERNEL_AXIS[layer.getClassName()];
        if (axis != null) weights[layer.name] = quantizeLayerWeights(layer, axis, inScale, bits);
        const name = pointAt.get(i);
        if (name != null) inScale = activations[name].scale;
      });
    } catch (e) {
      copy.dispose();
      throw e;
    }
    return new Int8Simulation(copy, points, input, activations, weights, bits);
  }

  /** Fake-quant logits of `x` (a batch). */
  predict(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const byLayer = new Map(this.points.map((p) => [p.after, p.name]));
      let t = fakeQuantize(x, this.input, this.bits);
      this.model.layers.forEach((layer, i) => {
        t = layer.apply(t, {training: false}) as tf.Tensor;
        const name = byLayer.get(i);
        if (name != null) t = fakeQuantize(t, this.activations[name], this.bits);
      });
      return t;
    });
  }

  /** Accuracy and mean softmax cross-entropy of the fake-quant logits on (x, y), as `evaluate` reports them. */
  evaluate(x: Inputs, y: Labels, batchSize = 256): Evaluation {
    const examples = new HostExamples(x, 'x');
    const numClasses = this.model.outputs[0].shape[1] as number;
    const labels = labelsToInt32(y, examples.count, numClasses, 'y');
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < examples.count; start += batchSize) {
      const end = Math.min(start + batchSize, examples.count);
      const [loss, acc] = tf.tidy(() => {
        const idx = new Int32Array(end - start).map((_, i) => start + i);
        const logits = this.predict(examples.gather(idx));
        const yb = tf.tensor1d(labels.subarray(start, end), 'int32');
        const nll = tf.neg(tf.logSoftmax(logits).mul(tf.oneHot(yb, numClasses)).sum(1)).sum();
        const hits = tf.equal(logits.argMax(1), yb).cast('float32').sum();
        return [nll.dataSync()[0], hits.dataSync()[0]];
      });
      lossSum += loss;
      correct += acc;
    }
    return {loss: lossSum / examples.count, accuracy: correct / examples.count};
  }

  /** Bytes of the weights in an integer runtime: 1 per int8 kernel value, 4 per int32 bias, 4 per other float32 value. */
  int8WeightBytes(): number {
    let bytes = 0;
    for (const layer of this.model.layers) {
      const quantized = this.weights[layer.name] != null;
      for (const w of layer.weights) {
        const n = w.shape.reduce((a: number, b) => a * (b ?? 0), 1);
        bytes += n * (quantized && /kernel$/.test(w.originalName) ? 1 : 4);
      }
    }
    return bytes;
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** Replaces a layer's kernel (and bias) by their fake-quantized values; returns the kernel's scales. */
function quantizeLayerWeights(layer: tfl.layers.Layer, axis: number, inScale: number, bits: number): WeightParams {
  const vars = layer.weights;
  const kernelIdx = vars.findIndex((v) => /kernel$/.test(v.originalName.split('/').pop() ?? ''));
  const biasIdx = vars.findIndex((v) => v.originalName.split('/').pop() === 'bias');
  const values = layer.getWeights().map((t) => (t.dataSync() as Float32Array).slice());
  const kernel = values[kernelIdx];
  const shape = vars[kernelIdx].shape as number[];
  // DepthwiseConv2D [h, w, in, mult]: channel = in·mult, the last two axes together.
  const channels = axis === 2 && shape.length === 4 ? shape[2] * shape[3] : shape[axis];
  const scales = channelScales(kernel, channels, bits);
  const qmax = 2 ** (bits - 1) - 1;
  for (let k = 0; k < kernel.length; k++) {
    const s = scales[k % channels];
    kernel[k] = Math.max(-qmax, Math.min(qmax, Math.round(kernel[k] / s))) * s;
  }
  if (biasIdx >= 0) {
    const bias = values[biasIdx];
    for (let c = 0; c < bias.length; c++) {
      const s = inScale * scales[c];
      bias[c] = Math.round(bias[c] / s) * s;
    }
  }
  const tensors = values.map((v, i) => tf.tensor(v, vars[i].shape as number[]));
  layer.setWeights(tensors);
  tf.dispose(tensors);
  return {axis, scales};
}

/** quantization.json: what `hafif quantize --dtype int8` writes beside the model for the ONNX exporter. */
export interface QuantizationFile {
  readonly format: 'hafif-quantization';
  readonly version: 1;
  readonly model: {readonly inputShape: readonly number[]; readonly layers: readonly string[]; readonly weightsSha256: string};
  readonly calibration: {readonly method: CalibrationMethod; readonly percentile?: number; readonly examples: number; readonly dataset: string};
  readonly input: ActivationParams;
  readonly activations: Readonly<Record<string, ActivationParams>>;
  readonly weights: Readonly<Record<string, WeightParams>>;
}

/** The quantization.json content of an 8-bit simulation. */
export function quantizationFile(
  model: tfl.LayersModel,
  sim: Int8Simulation,
  info: {weightsSha256: string; method: CalibrationMethod; percentile?: number; examples: number; dataset: string},
): QuantizationFile {
  return {
    format: 'hafif-quantization',
    version: 1,
    model: {inputShape: model.inputs[0].shape.slice(1) as number[], layers: model.layers.map((l) => l.name), weightsSha256: info.weightsSha256},
    calibration: {
      method: info.method,
      ...(info.method === 'percentile' ? {percentile: info.percentile ?? 99.99} : {}),
      examples: info.examples,
      dataset: info.dataset,
    },
    input: sim.input,
    activations: sim.activations,
    weights: sim.weights,
  };
}

/**
 * Saves the (float, batch-norm-folded) model that `sim` simulates into `dir`, with
 * quantization.json beside it, both in one atomic directory swap. `weightsSha256` is the sha256
 * of the weights.bin written.
 * @example await saveInt8(folded, sim, 'out/teacher-int8', {method: 'minmax', examples: 512, dataset: 'mnist'});
 */
export async function saveInt8(
  model: tfl.LayersModel,
  sim: Int8Simulation,
  dir: string,
  info: {method: CalibrationMethod; percentile?: number; examples: number; dataset: string},
): Promise<QuantizationFile> {
  const artifacts = await modelArtifacts(model);
  const data = artifacts.weightData == null ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const weightsSha256 = createHash('sha256').update(new Uint8Array(data)).digest('hex');
  const file = quantizationFile(model, sim, {...info, weightsSha256});
  await saveModel(dir, {...artifacts, weightData: data}, {extraFiles: {'quantization.json': JSON.stringify(file, null, 2) + '\n'}});
  return file;
}
