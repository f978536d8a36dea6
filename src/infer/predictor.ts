// A fused inference path for tfjs-layers Sequential models on the native backend: batch norm (its
// moving statistics) folded into the conv / depthwise conv / dense before it, activations fused
// into their epilogue, and every layer a direct addon call on preallocated buffers. What
// `model.predict` does as conv, bias add, batch norm and activation kernels (each a new tensor),
// this does as one pass per layer.
import * as tf from '@tensorflow/tfjs-core';
import type {LayersModel} from '@tensorflow/tfjs-layers';

import {addon, NativeBackend, type NativeAddon} from '../backend/index.js';
import {convGeometry} from '../backend/kernels/conv_util.js';
import {depthwiseGeometry} from '../backend/kernels/DepthwiseConv2dNative.js';

/** Activations the conv / dense epilogues apply in place. */
type Epilogue = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu';
const EPILOGUES = new Set<string>(['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu']);
/** Activations run as their own pass (no conv / dense before them to fuse into). */
const UNARY_OPS: Readonly<Record<string, string>> = {
  relu: 'Relu', relu6: 'Relu6', leakyrelu: 'LeakyRelu', elu: 'Elu', sigmoid: 'Sigmoid', tanh: 'Tanh',
};

type Shape = readonly number[];

/**
 * Whether addon.conv2d takes a conv of this filter [h, w, inC, outC] through Winograd (3×3, stride
 * and dilation 1, at least 8 channels each way: shape_applies in native/winograd.cc, less its
 * padding and tile-count terms): there it beats smallConv2d (cifar-teacher's 3×3 convs).
 */
const winogradShape = (native: NativeAddon, f: readonly number[], strides: readonly number[], dilations: readonly number[]) =>
  native.convWinograd() && f[0] === 3 && f[1] === 3 && f[2] >= 8 && f[3] >= 8 &&
  strides.every((s) => s === 1) && dilations.every((d) => d === 1);

/** addon.smallConv2d's limit on filter values (kSmallConvMaxWeights in native/kernels.h). */
const SMALL_CONV_MAX_WEIGHTS = 32768;

/** One step of the fused plan. Shapes are per image (no batch axis). */
type Op =
  | {kind: 'conv' | 'depthwise'; layer: string; inShape: Shape; outShape: Shape; filterShape: number[]; strides: [number, number];
    dilations: [number, number]; pad: 'same' | 'valid'; kernel: Float32Array; bias: Float32Array | null; act: Epilogue; alpha: number;
    /** A conv whose filter fits addon.smallConv2d (at most SMALL_CONV_MAX_WEIGHTS values, outC divisible by 16) and that Winograd does not take. */
    small: boolean}
  | {kind: 'dense'; layer: string; inShape: Shape; outShape: Shape; kernel: Float32Array; bias: Float32Array | null; act: Epilogue;
    alpha: number}
  | {kind: 'batchnorm'; layer: string; inShape: Shape; outShape: Shape; mean: Float32Array; variance: Float32Array;
    offset: Float32Array | null; scale: Float32Array | null; epsilon: number}
  | {kind: 'unary'; layer: string; inShape: Shape; outShape: Shape; op: number; alpha: number}
  | {kind: 'softmax'; layer: string; inShape: Shape; outShape: Shape}
  | {kind: 'maxpool' | 'avgpool'; layer: string; inShape: Shape; outShape: Shape; geom: (batch: number) => number[]}
  | {kind: 'globalavg' | 'globalmax'; layer: string; inShape: Shape; outShape: Shape};

/** Options of {@link createPredictor}. */
export interface PredictorOptions {
  /**
   * Throw when a layer has no fused handler (the error names it) instead of falling back to
   * `model.predict` for the whole model. @default false
   */
  readonly strict?: boolean;
  /** Images per pass when `predict` is not given a batch size. @default 256 */
  readonly batchSize?: number;
}

/** A model's fused inference path. */
export interface Predictor {
  /**
   * The model's outputs for `x` ([n, ...inputShape], float32), `batchSize` images per pass:
   * `model.predict(x)` within float rounding. Runs the model itself (`model.apply` in inference
   * mode, batch by batch) when it could not be fused (see `reason`) or the backend is not `native`.
   */
  predict(x: tf.Tensor, batchSize?: number): tf.Tensor;
  /**
   * Re-reads the weights. The predictor snapshots (and folds) them when built, so after training
   * or loading new weights call this before predicting again.
   */
  refresh(): void;
  /** True when `predict` runs the fused plan on the native backend. */
  readonly fused: boolean;
  /** Why the model runs through `model.predict` instead, or ''. */
  readonly reason: string;
  /** The plan, one line per pass (e.g. "conv2d_1: conv 3×3 s2 + batch norm + relu6"). */
  readonly plan: readonly string[];
}

/** A model the fused plan cannot run; the message names the reason. */
export class Unsupported extends Error {}

const pair = (v: unknown, name: string, layer: string): [number, number] => {
  const a = Array.isArray(v) ? v : [v, v];
  if (a.length !== 2 || !a.every((n) => Number.isInteger(n) && n > 0)) {
    throw new Unsupported(`layer "${layer}": ${name} must be one or two positive integers, got ${JSON.stringify(v)}`);
  }
  return [a[0], a[1]];
};

/** The layer's weights by short name (kernel, bias, gamma, moving_mean, ...), copied. */
function weightsOf(layer: LayersModel['layers'][number]): Map<string, {shape: number[]; values: Float32Array}> {
  const m = new Map<string, {shape: number[]; values: Float32Array}>();
  const backend = tf.backend();
  for (const w of layer.weights) {
    const short = (w.originalName ?? w.name).split('/').pop()!.replace(/_\d+$/, '');
    const t = w.read();
    // f32 reads without dataSync's escape from the buffer pool (the values are copied here anyway).
    const values = backend instanceof NativeBackend && t.dtype === 'float32' ? backend.f32(t) : t.dataSync() as Float32Array;
    m.set(short, {shape: t.shape.slice(), values: Float32Array.from(values)});
  }
  return m;
}

type Layer = LayersModel['layers'][number];

/**
 * The model's layers from its input to its output when they form one chain (a Sequential, or a
 * functional model where each layer takes the one before it and nothing branches), InputLayer
 * left out.
 */
export function chainOf(model: LayersModel): Layer[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new Unsupported('model has several inputs or outputs');
  const chain: Layer[] = [];
  let t = model.outputs[0];
  while (t !== model.inputs[0]) {
    const layer = t.sourceLayer as Layer;
    const node = layer.inboundNodes[t.nodeIndex];
    if (node == null || node.inputTensors.length !== 1 || layer.getClassName() === 'InputLayer') {
      throw new Unsupported(`layer "${layer.name}" does not take exactly one input from the layer before it`);
    }
    chain.push(layer);
    t = node.inputTensors[0];
  }
  chain.reverse();
  const own = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  if (own.length !== chain.length || own.some((l, i) => l !== chain[i])) {
    throw new Unsupported(`model "${model.name}" is not one chain of layers`);
  }
  return chain;
}

const size = (s: Shape) => s.reduce((a, b) => a * b, 1);
const describeAct = (act: string, alpha: number) => (act === 'leakyrelu' ? `leakyrelu(${alpha})` : act);

/** The fused plan of `model`, or an Unsupported error naming the first layer it cannot handle. */
function compile(model: LayersModel, native: NativeAddon): {ops: Op[]; plan: string[]; outShape: Shape} {
  const layers = chainOf(model);
  const inShape = model.inputs[0].shape.slice(1);
  if (!inShape.every((d) => d != null && d > 0)) throw new Unsupported(`input shape ${JSON.stringify(model.inputs[0].shape)} is not fully defined`);
  let shape: Shape = inShape as number[];
  const ops: Op[] = [];
  const notes: string[][] = [];
  // The last conv / depthwise / dense op while nothing but batch norm, identity layers or its
  // activation followed it: batch norm folds into it, an activation goes into its epilogue.
  let fusible: (Op & {kind: 'conv' | 'depthwise' | 'dense'}) | null = null;
  const push = (op: Op, note: string) => {
    ops.push(op);
    notes.push([`${op.layer}: ${note}`]);
    shape = op.outShape;
    fusible = op.kind === 'conv' || op.kind === 'depthwise' || op.kind === 'dense' ? op : null;
  };
  const activation = (layer: string, act: string, alpha: number) => {
    if (act === 'linear') return;
    if (fusible != null && fusible.act === 'linear' && EPILOGUES.has(act)) {
      fusible.act = act as Epilogue;
      fusible.alpha = alpha;
      notes[notes.length - 1].push(`${describeAct(act, alpha)} (${layer})`);
      fusible = null;
      return;
    }
    if (act === 'softmax') {
      if (shape.length !== 1) throw new Unsupported(`layer "${layer}": softmax over a rank-${shape.length + 1} output`);
      push({kind: 'softmax', layer, inShape: shape, outShape: shape}, 'softmax');
      fusible = null;
      return;
    }
    const name = UNARY_OPS[act];
    if (name == null || native.unaryOps[name] == null) throw new Unsupported(`layer "${layer}": activation ${act}`);
    push({kind: 'unary', layer, inShape: shape, outShape: shape, op: native.unaryOps[name], alpha}, describeAct(act, alpha));
    fusible = null;
  };
  for (const layer of layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as Record<string, unknown>;
    const name = layer.name;
    const actOf = () => String(cfg.activation ?? 'linear').toLowerCase();
    switch (cls) {
      case 'InputLayer':
        break;
      case 'Dropout': case 'SpatialDropout1D': case 'GaussianNoise': case 'GaussianDropout': case 'AlphaDropout':
        break;  // identity at inference
      case 'Flatten':
        shape = [size(shape)];
        fusible = null;  // a batch norm after it normalises per element, not per channel
        break;
      case 'Conv2D': case 'DepthwiseConv2D': {
        if ((cfg.dataFormat ?? 'channelsLast') !== 'channelsLast') throw new Unsupported(`layer "${name}": dataFormat ${String(cfg.dataFormat)}`);
        if (shape.length !== 3) throw new Unsupported(`layer "${name}": input of rank ${shape.length + 1}`);
        const pad = cfg.padding as string;
        if (pad !== 'same' && pad !== 'valid') throw new Unsupported(`layer "${name}": padding ${pad}`);
        const strides = pair(cfg.strides, 'strides', name), dilations = pair(cfg.dilationRate ?? 1, 'dilationRate', name);
        if (Math.max(...strides) > 1 && Math.max(...dilations) > 1) throw new Unsupported(`layer "${name}": strides and dilations both above 1`);
        const depthwise = cls === 'DepthwiseConv2D';
        const w = weightsOf(layer);
        const kernel = w.get(depthwise ? 'depthwise_kernel' : 'kernel');
        if (kernel == null) throw new Unsupported(`layer "${name}": no kernel weight`);
        const info = tf.backend_util.computeConv2DInfo([1, ...shape] as [number, number, number, number],
          kernel.shape as [number, number, number, number], strides, dilations, pad, undefined, depthwise);
        push({kind: depthwise ? 'depthwise' : 'conv', layer: name, inShape: shape, outShape: info.outShape.slice(1),
          filterShape: kernel.shape, strides, dilations, pad, kernel: kernel.values, bias: w.get('bias')?.values ?? null,
          act: 'linear', alpha: 0,
          small: !depthwise && kernel.shape[3] % 16 === 0 && kernel.values.length <= SMALL_CONV_MAX_WEIGHTS &&
            !winogradShape(native, kernel.shape, strides, dilations)},
        `${depthwise ? 'depthwise ' : ''}conv ${kernel.shape[0]}×${kernel.shape[1]} s${strides[0]}${strides[1] !== strides[0] ? `×${strides[1]}` : ''} ${pad}`);
        activation(name, actOf(), 0);
        break;
      }
      case 'Dense': {
        if (shape.length !== 1) throw new Unsupported(`layer "${name}": dense on a rank-${shape.length + 1} input`);
        const w = weightsOf(layer);
        const kernel = w.get('kernel');
        if (kernel == null) throw new Unsupported(`layer "${name}": no kernel weight`);
        push({kind: 'dense', layer: name, inShape: shape, outShape: [kernel.shape[1]], kernel: kernel.values,
          bias: w.get('bias')?.values ?? null, act: 'linear', alpha: 0}, `dense ${kernel.shape[0]}→${kernel.shape[1]}`);
        activation(name, actOf(), 0);
        break;
      }
      case 'BatchNormalization': {
        const axis = cfg.axis as number;
        if (axis !== -1 && axis !== shape.length) throw new Unsupported(`layer "${name}": batch norm over axis ${axis}`);
        const w = weightsOf(layer);
        const c = shape[shape.length - 1];
        const mean = w.get('moving_mean')?.values, variance = w.get('moving_variance')?.values;
        if (mean == null || variance == null) throw new Unsupported(`layer "${name}": no moving statistics`);
        const scale = w.get('gamma')?.values ?? null, offset = w.get('beta')?.values ?? null;
        const epsilon = cfg.epsilon as number;
        const f: Op | null = fusible;
        if (f != null && (f as {act: Epilogue}).act === 'linear') {
          // y = (conv + b - mean)·γ/√(var + ε) + β = conv·s + (b - mean)·s + β, s per output channel
          // (the kernel's last axis).
          const op = f as Op & {kind: 'conv' | 'depthwise' | 'dense'};
          const kernel = op.kernel.slice(), bias = new Float32Array(c);
          for (let o = 0; o < c; o++) {
            const s = (scale ? scale[o] : 1) / Math.sqrt(variance[o] + epsilon);
            bias[o] = ((op.bias ? op.bias[o] : 0) - mean[o]) * s + (offset ? offset[o] : 0);
            for (let i = o; i < kernel.length; i += c) kernel[i] *= s;
          }
          op.kernel = kernel;
          op.bias = bias;
          notes[notes.length - 1].push(`batch norm (${name})`);
        } else {
          push({kind: 'batchnorm', layer: name, inShape: shape, outShape: shape, mean, variance, offset, scale, epsilon}, 'batch norm');
          fusible = null;
        }
        break;
      }
      case 'ReLU': {
        const max = cfg.maxValue as number | null | undefined;
        if (max != null && max !== 6) throw new Unsupported(`layer "${name}": ReLU with maxValue ${max}`);
        activation(name, max == null ? 'relu' : 'relu6', 0);
        break;
      }
      case 'LeakyReLU':
        activation(name, 'leakyrelu', (cfg.alpha as number | undefined) ?? 0.3);
        break;
      case 'Activation':
        activation(name, actOf(), 0);
        break;
      case 'Softmax':
        if ((cfg.axis ?? -1) !== -1) throw new Unsupported(`layer "${name}": softmax over axis ${String(cfg.axis)}`);
        activation(name, 'softmax', 0);
        break;
      case 'MaxPooling2D': case 'AveragePooling2D': {
        if ((cfg.dataFormat ?? 'channelsLast') !== 'channelsLast') throw new Unsupported(`layer "${name}": dataFormat ${String(cfg.dataFormat)}`);
        if (shape.length !== 3) throw new Unsupported(`layer "${name}": input of rank ${shape.length + 1}`);
        const poolSize = pair(cfg.poolSize, 'poolSize', name), strides = pair(cfg.strides ?? cfg.poolSize, 'strides', name);
        const pad = cfg.padding as 'same' | 'valid';
        const inShape = shape;
        const infoFor = (batch: number) =>
          tf.backend_util.computePool2DInfo([batch, ...inShape] as [number, number, number, number], poolSize, strides, 1, pad);
        const info = infoFor(1);
        const kind = cls === 'MaxPooling2D' ? 'maxpool' : 'avgpool';
        push({kind, layer: name, inShape, outShape: info.outShape.slice(1), geom: (batch) => {
          const i = infoFor(batch);
          return [i.batchSize, i.inHeight, i.inWidth, i.inChannels, i.outHeight, i.outWidth, i.filterHeight, i.filterWidth,
            i.strideHeight, i.strideWidth, i.padInfo.top, i.padInfo.left];
        }}, `${kind === 'maxpool' ? 'max' : 'average'} pool ${poolSize.join('×')} s${strides[0]}`);
        break;
      }
      case 'GlobalAveragePooling2D': case 'GlobalMaxPooling2D': {
        if ((cfg.dataFormat ?? 'channelsLast') !== 'channelsLast') throw new Unsupported(`layer "${name}": dataFormat ${String(cfg.dataFormat)}`);
        if (shape.length !== 3) throw new Unsupported(`layer "${name}": input of rank ${shape.length + 1}`);
        const kind = cls === 'GlobalAveragePooling2D' ? 'globalavg' : 'globalmax';
        push({kind, layer: name, inShape: shape, outShape: [shape[2]]}, kind === 'globalavg' ? 'global average pool' : 'global max pool');
        break;
      }
      default:
        throw new Unsupported(`layer "${name}" (${cls}) has no fused handler`);
    }
  }
  const outShape = model.outputs[0].shape.slice(1);
  if (outShape.length !== shape.length || !outShape.every((d, i) => d === shape[i])) {
    throw new Unsupported(`the plan's output shape ${JSON.stringify(shape)} is not the model's ${JSON.stringify(outShape)}`);
  }
  if (ops.length === 0) throw new Unsupported('the model has no layer to run');
  return {ops, plan: notes.map((n) => n.join(' + ')), outShape: shape};
}

/** The plan's geometry and two ping-pong buffers for one batch size. */
interface Runner {
  readonly geoms: (number[] | null)[];
  readonly bufs: [Float32Array, Float32Array];
}

function makeRunner(ops: Op[], batch: number): Runner {
  let largest = 0;
  const geoms = ops.map((op) => {
    largest = Math.max(largest, size(op.outShape));
    switch (op.kind) {
      case 'conv': case 'depthwise': {
        const info = tf.backend_util.computeConv2DInfo([batch, ...op.inShape] as [number, number, number, number],
          op.filterShape as [number, number, number, number], op.strides, op.dilations, op.pad, undefined, op.kind === 'depthwise');
        return op.kind === 'conv' ? convGeometry(info) : depthwiseGeometry(info);
      }
      case 'maxpool': case 'avgpool':
        return op.geom(batch);
      default:
        return null;
    }
  });
  return {geoms, bufs: [new Float32Array(largest * batch), new Float32Array(largest * batch)]};
}

function run(native: NativeAddon, ops: Op[], r: Runner, x: Float32Array, batch: number): Float32Array {
  let cur = x;
  ops.forEach((op, i) => {
    const out = r.bufs[i % 2].subarray(0, batch * size(op.outShape));
    const geom = r.geoms[i]!;
    switch (op.kind) {
      case 'conv':
        // Small filters (pointwise convs, first layers) take the register-tiled inference conv.
        (op.small ? native.smallConv2d : native.conv2d)(cur, op.kernel, op.bias, out, geom, op.act, op.alpha);
        break;
      case 'depthwise':
        native.depthwiseConv2d(cur, op.kernel, out, geom, op.bias, op.act, op.alpha);
        break;
      case 'dense':
        native.fusedMatMul(cur, op.kernel, op.bias, out, [1, 1, batch, op.outShape[0], op.inShape[0]], false, false,
          op.act, op.alpha);
        break;
      case 'batchnorm':
        native.batchNorm(cur, op.mean, op.variance, op.offset, op.scale, out, op.epsilon);
        break;
      case 'unary':
        native.unary(op.op, cur, out, op.alpha);
        break;
      case 'softmax':
        native.softmax(cur, out, [batch, op.outShape[0]]);
        break;
      case 'maxpool':
        native.maxPool(cur, out, geom);
        break;
      case 'avgpool':
        native.avgPool(cur, out, geom);
        break;
      case 'globalavg': case 'globalmax':
        (op.kind === 'globalavg' ? native.mean : native.max)(cur, out, [batch, op.inShape[0] * op.inShape[1], op.inShape[2]]);
        break;
    }
    cur = out;
  });
  return cur;
}

/**
 * A model's compiled plan with its buffers per batch size (the default, the current size and a
 * ragged last batch). `refold` re-reads the weights into the same plan and keeps the buffers.
 */
export class FusedPlan {
  private readonly runners = new Map<number, Runner>();

  private constructor(private ops: Op[], readonly plan: readonly string[], readonly inShape: Shape, readonly outShape: Shape) {}

  /** The plan of `model`, or an {@link Unsupported} error naming the first layer it cannot handle. */
  static compile(model: LayersModel, native: NativeAddon): FusedPlan {
    const {ops, plan, outShape} = compile(model, native);
    return new FusedPlan(ops, plan, model.inputs[0].shape.slice(1) as number[], outShape);
  }

  /** Folds `model`'s current weights into the plan (the model this plan was compiled from, same layers). */
  refold(model: LayersModel, native: NativeAddon): void {
    const {ops} = compile(model, native);
    if (ops.length !== this.ops.length || ops.some((op, i) => op.kind !== this.ops[i].kind)) {
      throw new Error('FusedPlan.refold: the model no longer compiles to the same plan');
    }
    this.ops = ops;
  }

  /** Runs `n` images of `x` ([n, ...inShape] values), `batchSize` per pass, into `out` ([n, ...outShape]). */
  run(native: NativeAddon, x: Float32Array, n: number, batchSize: number, out: Float32Array): void {
    const per = size(this.inShape), perOut = size(this.outShape);
    for (let start = 0; start < n; start += batchSize) {
      const b = Math.min(batchSize, n - start);
      let r = this.runners.get(b);
      if (r == null) {
        if (this.runners.size >= 3) this.runners.delete(this.runners.keys().next().value!);
        r = makeRunner(this.ops, b);
        this.runners.set(b, r);
      }
      const y = run(native, this.ops, r, x.subarray(start * per, (start + b) * per), b);
      out.set(y, start * perOut);
    }
  }
}

/**
 * Builds `model`'s fused inference path once: batch norm folded into the conv / depthwise conv /
 * dense before it, activations in their epilogues, buffers kept per batch size. Weights are a
 * snapshot of build time; call `refresh()` after they change. A layer without a handler makes
 * the predictor run the model itself (or throw, with `strict`).
 * @example const logits = createPredictor(model).predict(xTest);
 */
export function createPredictor(model: LayersModel, options: PredictorOptions = {}): Predictor {
  const {strict = false, batchSize: defaultBatch = 256} = options;
  if (!Number.isInteger(defaultBatch) || defaultBatch < 1) throw new Error(`batchSize must be a positive integer, got ${defaultBatch}`);
  let fused: FusedPlan | null = null, reason = '';
  const build = () => {
    fused = null;
    reason = '';
    if (addon == null) {
      reason = 'the native addon is not built';
      if (strict) throw new Error(`createPredictor: ${reason}`);
      return;
    }
    try {
      fused = FusedPlan.compile(model, addon);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      if (strict) throw new Error(`createPredictor: ${e.message}`);
      reason = e.message;
    }
  };
  build();
  // What model.predict does (inference mode, batches of batchSize), through model.apply.
  const fallback = (x: tf.Tensor, batchSize: number) => tf.tidy(() => {
    const n = x.shape[0];
    if (n <= batchSize) return model.apply(x, {training: false}) as tf.Tensor;
    const parts: tf.Tensor[] = [];
    for (let start = 0; start < n; start += batchSize) {
      parts.push(model.apply(tf.slice(x, start, Math.min(batchSize, n - start)), {training: false}) as tf.Tensor);
    }
    return tf.concat(parts, 0);
  });
  return {
    get fused() {
      return fused != null;
    },
    get reason() {
      return reason;
    },
    get plan() {
      return fused?.plan ?? [];
    },
    refresh: build,
    predict(x: tf.Tensor, batchSize = defaultBatch) {
      if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
      const native = addon;
      const p: FusedPlan | null = fused;
      if (p == null || native == null || tf.getBackend() !== 'native') return fallback(x, batchSize);
      const inShape = p.inShape;
      if (x.rank !== inShape.length + 1 || !x.shape.slice(1).every((d, i) => d === inShape[i])) {
        throw new Error(`predict: x has shape ${JSON.stringify(x.shape)}, expected [n, ${inShape.join(', ')}]`);
      }
      const n = x.shape[0];
      const data = (x.dtype === 'float32' ? x.dataSync() : Float32Array.from(x.dataSync())) as Float32Array;
      const result = new Float32Array(n * size(p.outShape));
      p.run(native, data, n, batchSize, result);
      return tf.tensor(result, [n, ...p.outShape], 'float32');
    },
  };
}
