// One handler per tfjs-layers layer class: what the compiled training step runs for that layer,
// forward and backward, on host arrays through the native addon. Each handler reproduces the ops
// tfjs-layers runs for the layer in training mode on the native backend and the gradients tfjs
// registers for them, so the compiled step's gradients are the tape's. A layer without a handler,
// or a configuration a handler does not cover, makes the model not compileable (the engine then
// uses the tape).
import * as tf from '@tensorflow/tfjs-core';
import {backend_util} from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import type {NativeAddon} from '../../backend/addon.js';
import {depthwiseGeometry} from '../../backend/kernels/DepthwiseConv2dNative.js';
import {convGeometry} from '../../backend/kernels/conv_util.js';
import {isIdentityPool, poolGeometry} from '../../backend/kernels/pool_geometry.js';

/** The current values of a variable (the backend's own array; read only). */
export type ReadFn = (v: tf.Variable) => Float32Array;

/** A trainable weight of a layer and the array its gradient is written to each step. */
export interface Param {
  readonly variable: tf.Variable;
  readonly grad: Float32Array;
}

/** A layer's work for one batch size. */
export interface BoundLayer {
  /** y = layer(x); x [n, ...inShape], y [n, ...outShape]. */
  forward(x: Float32Array, y: Float32Array, read: ReadFn): void;
  /** Writes the params' gradients and, when dx is given, d loss / d x from dy = d loss / d y. */
  backward(x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array | null, read: ReadFn): void;
}

/** An activation a layer before it can run in its own pass (see CompiledLayer.withActivation). */
export type FusableActivation = 'relu' | 'relu6';

/** A compiled layer: shapes are per example (no batch axis). */
export interface CompiledLayer {
  readonly name: string;
  readonly outShape: readonly number[];
  /** The output is the input's buffer, and d x is d y's (Flatten). */
  readonly alias: boolean;
  readonly params: readonly Param[];
  /** Set on an elementwise activation layer that the layer before it may absorb. */
  readonly activation?: FusableActivation;
  /**
   * This layer followed by the activation, as one layer (`name` is the pair's): the same outputs
   * and gradients as the two layers. Absent where the layer cannot absorb one.
   */
  withActivation?(activation: FusableActivation, name: string): CompiledLayer;
  /**
   * This layer with its backward taking d y already through its Relu's gradient, which the layer
   * after it then computes ({@link withReluGrad}). Absent where the layer has no Relu to leave.
   */
  withoutReluGrad?(): CompiledLayer;
  /**
   * This layer with its backward also taking the Relu gradient of the layer before it (at this
   * layer's input, that Relu's output), in the same pass. Absent where the layer cannot.
   */
  withReluGrad?(): CompiledLayer;
  bind(n: number): BoundLayer;
}

/** Builds the compiled layer, or returns why this layer cannot be compiled. */
type Handler = (layer: tfl.layers.Layer, inShape: readonly number[], addon: NativeAddon) => CompiledLayer | string;

type Config = Record<string, unknown>;

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The tf.Variable behind a layer's LayerVariable field (kernel, bias, gamma, ...), or null. */
function variableOf(layer: tfl.layers.Layer, field: string): tf.Variable | null {
  const lv = (layer as unknown as Record<string, {read(): tf.Variable} | null | undefined>)[field];
  return lv == null ? null : lv.read();
}

function param(v: tf.Variable): Param {
  return {variable: v, grad: new Float32Array(v.size)};
}

/** Fused activations the compiled conv and dense layers run: tfjs-layers' own names. */
type Activation = 'linear' | 'relu';

function activationOf(config: Config): Activation | null {
  const a = config.activation ?? 'linear';
  return a === 'linear' || a === 'relu' ? a : null;
}


function pair(v: unknown): [number, number] | null {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((d) => Number.isInteger(d))) return [v[0], v[1]];
  if (Array.isArray(v) && v.length === 1 && Number.isInteger(v[0])) return [v[0], v[0]];
  return null;
}

function channelsLast(config: Config): boolean {
  return config.dataFormat == null || config.dataFormat === 'channelsLast';
}

function rank3(inShape: readonly number[], what: string): string | null {
  return inShape.length === 3 ? null : `${what} needs an input of rank 4, got [null, ${inShape}]`;
}

/** What Conv2D and DepthwiseConv2D share: their checks, kernel, bias, output shape and geometry per batch size. */
function convSetup(layer: tfl.layers.Layer, inShape: readonly number[], kernelName: string, what: string, depthwise: boolean) {
  const c = layer.getConfig();
  const act = activationOf(c);
  const kernel = variableOf(layer, kernelName);
  const strides = pair(c.strides), dilations = pair(c.dilationRate);
  const bad = rank3(inShape, what);
  if (bad) return bad;
  if (act == null) return `activation ${String(c.activation)}`;
  if (!channelsLast(c)) return 'channelsFirst';
  if (kernel == null || strides == null || dilations == null) return 'unexpected configuration';
  if (c.padding !== 'same' && c.padding !== 'valid') return `padding ${String(c.padding)}`;
  const pad = c.padding;
  const bias = c.useBias ? variableOf(layer, 'bias') : null;
  const fshape = kernel.shape as [number, number, number, number];
  const infoFor = (n: number) => backend_util.computeConv2DInfo([n, inShape[0], inShape[1], inShape[2]], fshape, strides,
    dilations, pad, undefined, depthwise, 'channelsLast');
  const info1 = infoFor(1);
  const kp = param(kernel);
  return {act, kernel, bias, kp, bp: bias == null ? null : param(bias), infoFor,
    outShape: [info1.outHeight, info1.outWidth, info1.outChannels]};
}

/**
 * The gradient before the activation: tfjs' Relu gradient from the output (y > 0 exactly where
 * the pre-activation is) into `dAct`, or `dy` itself for a linear layer.
 */
function preActivationGrad(addon: NativeAddon, dAct: Float32Array | null, y: Float32Array, dy: Float32Array): Float32Array {
  if (dAct == null) return dy;
  addon.reluGrad(y, dy, dAct);
  return dAct;
}

/** Conv2D: tf.fused.conv2d (Conv2D → add bias → Relu under the tape) and its gradients. */
const conv2d: Handler = (layer, inShape, addon) => {
  const setup = convSetup(layer, inShape, 'kernel', 'Conv2D', false);
  if (typeof setup === 'string') return setup;
  const {act, kernel, bias, kp, bp, infoFor, outShape} = setup;
  // A first layer with few input channels: Relu's gradient, the bias sum and the filter gradient
  // in one pass over dy (no input gradient there).
  const onePassFor = (geom: number[]) => addon.smallConv() && addon.smallConvFilterApplies(geom);
  // reluByNext: dy arrives through the Relu's gradient already (a max pool after computed it).
  const make = (reluByNext: boolean): CompiledLayer => ({
    name: layer.name, outShape, alias: false, params: bp ? [kp, bp] : [kp],
    // The one-pass filter gradient has the Relu for free: there the pool after keeps its own pass.
    withoutReluGrad: act === 'relu' && !reluByNext && !onePassFor(convGeometry(infoFor(1))) ? () => make(true) : undefined,
    bind(n) {
      const geom = convGeometry(infoFor(n));
      const rows = n * size(outShape);
      const dAct = act === 'relu' && !reluByNext ? new Float32Array(rows) : null;
      // (Relu's gradient applied twice is applied once: the one-pass path may take it again.)
      const onePass = onePassFor(geom);
      // Pointwise 1x1 (inC and outC divisible by 16): both gradients from one pass over dy.
      const pointwise = addon.pointwiseBackward != null && addon.pointwiseBackwardApplies?.(geom) === true;
      return {
        forward(x, y, read) {
          addon.conv2d(x, read(kernel), bias ? read(bias) : null, y, geom, act);
        },
        backward(x, y, dy, dx, read) {
          if (onePass && dx == null) {
            addon.smallConv2dBackpropFilter(x, act === 'relu' ? y : null, dy, kp.grad, bp ? bp.grad : null, geom);
            return;
          }
          const d = preActivationGrad(addon, dAct, y, dy);
          if (pointwise && !onePass) {
            if (bp) addon.sum(d, bp.grad, [1, rows / outShape[2], outShape[2]]);
            (addon.pointwiseBackward as NonNullable<NativeAddon['pointwiseBackward']>)(x, d, read(kernel), dx, kp.grad, geom);
            return;
          }
          // The bias gradient comes out of the filter gradient's pass over d.
          addon.conv2dBackpropFilter(x, d, kp.grad, geom, bp ? bp.grad : null);
          if (dx) addon.conv2dBackpropInput(d, read(kernel), dx, geom);
        },
      };
    },
  });
  return make(false);
};

/** DepthwiseConv2D: tf.depthwiseConv2d, then bias and activation as separate ops. */
const depthwiseConv2d: Handler = (layer, inShape, addon) => {
  const setup = convSetup(layer, inShape, 'depthwiseKernel', 'DepthwiseConv2D', true);
  if (typeof setup === 'string') return setup;
  const {act, kernel, bias, kp, bp, infoFor, outShape} = setup;
  const C = outShape[2];
  return {
    name: layer.name, outShape, alias: false, params: bp ? [kp, bp] : [kp],
    bind(n) {
      const geom = depthwiseGeometry(infoFor(n));
      const rows = n * size(outShape);
      const dAct = act === 'relu' ? new Float32Array(rows) : null;
      return {
        forward(x, y, read) {
          addon.depthwiseConv2d(x, read(kernel), y, geom);
          if (bias) {
            const b = read(bias);
            for (let i = 0; i < y.length; i++) y[i] += b[i % C];
          }
          if (act === 'relu') addon.unary(addon.unaryOps.Relu, y, y);
        },
        backward(x, y, dy, dx, read) {
          const d = preActivationGrad(addon, dAct, y, dy);
          if (bp) addon.sum(d, bp.grad, [1, rows / C, C]);
          addon.depthwiseConv2dBackpropFilter(x, d, kp.grad, geom);
          if (dx) addon.depthwiseConv2dBackpropInput(d, read(kernel), dx, geom);
        },
      };
    },
  };
};

/** Dense on [n, k]: tf.fused.matMul (MatMul → add bias → Relu under the tape) and its gradients. */
const dense: Handler = (layer, inShape, addon) => {
  const c = layer.getConfig();
  const act = activationOf(c);
  const kernel = variableOf(layer, 'kernel');
  if (inShape.length !== 1) return `Dense on an input of rank ${inShape.length + 1}`;
  if (act == null) return `activation ${String(c.activation)}`;
  if (kernel == null) return 'unexpected configuration';
  const bias = c.useBias ? variableOf(layer, 'bias') : null;
  const [K, U] = kernel.shape;
  const kp = param(kernel);
  const bp = bias == null ? null : param(bias);
  return {
    name: layer.name, outShape: [U], alias: false, params: bp ? [kp, bp] : [kp],
    bind(n) {
      const dAct = act === 'relu' ? new Float32Array(n * U) : null;
      return {
        forward(x, y, read) {
          addon.fusedMatMul(x, read(kernel), bias ? read(bias) : null, y, [1, 1, n, U, K], false, false, act, 0.2);
        },
        backward(x, y, dy, dx, read) {
          const d = preActivationGrad(addon, dAct, y, dy);
          if (bp) addon.sum(d, bp.grad, [1, n, U]);
          addon.batchMatMul(x, d, kp.grad, [1, 1, K, U, n], true, false);
          if (dx) addon.batchMatMul(d, read(kernel), dx, [1, 1, n, K, U], false, true);
        },
      };
    },
  };
};

/**
 * BatchNormalization over the last axis in training mode: the native fused kernels hafif's
 * BatchNormalization patch runs (batch statistics, then Keras' moving-average update, which is
 * assigned to the moving variables during the forward pass as the layer does). A ReLU or ReLU6
 * after it runs inside the same kernels (withActivation): forward on the normalized values,
 * backward as a mask on dy, with the gradients of the separate Relu (and ClipByValue) ops.
 */
const batchNormalization: Handler = (layer, inShape, addon) => {
  const c = layer.getConfig();
  const axis = c.axis as number | number[];
  const ax = Array.isArray(axis) ? (axis.length === 1 ? axis[0] : NaN) : axis;
  if (!(ax === -1 || ax === inShape.length)) return `axis ${String(axis)}`;
  const gamma = c.scale ? variableOf(layer, 'gamma') : null;
  const beta = c.center ? variableOf(layer, 'beta') : null;
  const movingMean = variableOf(layer, 'movingMean'), movingVariance = variableOf(layer, 'movingVariance');
  if (movingMean == null || movingVariance == null) return 'no moving statistics';
  const C = inShape[inShape.length - 1];
  const epsilon = c.epsilon as number, momentum = c.momentum as number;
  const gp = gamma == null ? null : param(gamma);
  const bp = beta == null ? null : param(beta);
  // The patch passes ones for a missing scale and zeros for a missing offset.
  const ones = new Float32Array(C).fill(1);
  const zeros = new Float32Array(C);
  const params = [gp, bp].filter((p): p is Param => p != null);
  const make = (name: string, act: 'linear' | FusableActivation): CompiledLayer => ({
    name, outShape: [...inShape], alias: false, params,
    withActivation: act === 'linear' ? (a, fusedName) => make(fusedName, a) : undefined,
    bind() {
      const mean = new Float32Array(C), variance = new Float32Array(C);
      const dscale = new Float32Array(C), doffset = new Float32Array(C);
      let scratch: Float32Array | null = null;
      return {
        forward(x, y, read) {
          // Fresh arrays: the new moving statistics become the variables' values.
          const nmm = new Float32Array(C), nmv = new Float32Array(C);
          addon.batchNormTrain(x, gamma ? read(gamma) : ones, beta ? read(beta) : zeros, read(movingMean),
            read(movingVariance), y, mean, variance, nmm, nmv, C, epsilon, momentum, act);
          assign(movingMean, nmm);
          assign(movingVariance, nmv);
        },
        backward(x, y, dy, dx, read) {
          const out = dx ?? (scratch ??= new Float32Array(x.length));
          addon.batchNormTrainGrad(dy, x, mean, variance, gamma ? read(gamma) : ones, null, null, out,
            gp ? gp.grad : dscale, bp ? bp.grad : doffset, C, epsilon, act, beta ? read(beta) : zeros, y);
        },
      };
    },
  });
  return make(layer.name, 'linear');
};

/** Gives a variable new values (the array becomes the variable's). */
export function assign(v: tf.Variable, values: Float32Array): void {
  const t = tf.tensor(values, v.shape, 'float32');
  v.assign(t);
  t.dispose();
}

/** MaxPooling2D and AveragePooling2D: the native pool kernels and their gradients. */
function pooling(kind: 'max' | 'avg'): Handler {
  return (layer, inShape, addon) => {
    const c = layer.getConfig();
    const bad = rank3(inShape, layer.getClassName());
    if (bad) return bad;
    if (!channelsLast(c)) return 'channelsFirst';
    const poolSize = pair(c.poolSize), strides = pair(c.strides ?? c.poolSize);
    if (poolSize == null || strides == null) return 'unexpected configuration';
    if (c.padding !== 'same' && c.padding !== 'valid') return `padding ${String(c.padding)}`;
    const pad = c.padding;
    const geometry = (n: number) => poolGeometry({dataId: {}, shape: [n, inShape[0], inShape[1], inShape[2]], dtype: 'float32'},
      {filterSize: poolSize, strides, pad});
    const g1 = geometry(1);
    if (g1 == null || isIdentityPool(g1.info)) return 'pool geometry the native kernels leave to cpu';
    const outShape = [g1.info.outHeight, g1.info.outWidth, g1.info.outChannels];
    // reluBefore: the backward also takes the Relu gradient of the layer before, at x (its output).
    const make = (reluBefore: boolean): CompiledLayer => ({
      name: layer.name, outShape, alias: false, params: [],
      withReluGrad: kind === 'max' && !reluBefore ? () => make(true) : undefined,
      bind(n) {
        const geom = (geometry(n) as {geom: number[]}).geom;
        // The forward keeps where each maximum was; the backward scatters dy there.
        const pos = kind === 'max' ? new Int32Array(n * size(outShape)) : null;
        return pos
          ? {
              forward: (x, y) => addon.maxPoolPositions(x, y, pos, geom),
              backward: (x, _y, dy, dx) => {
                if (dx) addon.maxPoolGradPositions(pos, dy, dx, geom, reluBefore ? x : null);
              },
            }
          : {
              forward: (x, y) => addon.avgPool(x, y, geom),
              backward: (_x, _y, dy, dx) => {
                if (dx) addon.avgPoolGrad(dy, dx, geom);
              },
            };
      },
    });
    return make(false);
  };
}

/** GlobalAveragePooling2D: tf.mean over height and width; its gradient dy / (H·W) broadcast. */
const globalAveragePooling2d: Handler = (layer, inShape, addon) => {
  const bad = rank3(inShape, 'GlobalAveragePooling2D');
  if (bad) return bad;
  if (!channelsLast(layer.getConfig())) return 'channelsFirst';
  const [H, W, C] = inShape;
  const hw = H * W;
  return {
    name: layer.name, outShape: [C], alias: false, params: [],
    bind(n) {
      const scaled = new Float32Array(n * C);
      return {
        forward: (x, y) => addon.mean(x, y, [n, hw, C]),
        backward: (_x, _y, dy, dx) => {
          if (dx == null) return;
          // Float32 division, as tfjs' Mean gradient divides by the reduced size.
          for (let i = 0; i < dy.length; i++) scaled[i] = dy[i] / hw;
          for (let b = 0; b < n; b++) {
            const row = scaled.subarray(b * C, b * C + C);
            for (let p = 0; p < hw; p++) dx.set(row, (b * hw + p) * C);
          }
        },
      };
    },
  };
};

/** Flatten (channels last): a reshape, so the buffers are shared. */
const flatten: Handler = (layer, inShape) => {
  if (!channelsLast(layer.getConfig()) && inShape.length > 1) return 'channelsFirst';
  return {
    name: layer.name, outShape: [size(inShape)], alias: true, params: [],
    bind: () => ({forward: () => undefined, backward: () => undefined}),
  };
};

/** An elementwise activation: the native unary forward and gradient. */
function elementwise(name: string, inShape: readonly number[], unary: (x: Float32Array, y: Float32Array) => void,
  grad: (x: Float32Array, dy: Float32Array, dx: Float32Array) => void, activation?: FusableActivation): CompiledLayer {
  return {
    name, outShape: [...inShape], alias: false, params: [], activation,
    bind: () => ({
      forward: (x, y) => unary(x, y),
      backward: (x, _y, dy, dx) => {
        if (dx) grad(x, dy, dx);
      },
    }),
  };
}

/**
 * ReLU, and ReLU(maxValue): relu then clipByValue(0, maxValue) in tfjs-layers; the gradient is
 * Relu's (dy·step(x)) where x ≤ maxValue, 0 above.
 */
const reLU: Handler = (layer, inShape, addon) => {
  const maxValue = layer.getConfig().maxValue as number | null | undefined;
  if (maxValue == null) {
    return elementwise(layer.name, inShape, (x, y) => addon.unary(addon.unaryOps.Relu, x, y), (x, dy, dx) => addon.reluGrad(x, dy, dx), 'relu');
  }
  if (maxValue !== 6) return `maxValue ${maxValue}`;
  return elementwise(layer.name, inShape, (x, y) => addon.unary(addon.unaryOps.Relu6, x, y), (x, dy, dx) => addon.reluGrad(x, dy, dx, 6),
    'relu6');
};

/** LeakyReLU: tf.leakyRelu; its gradient dy where x > 0, else dy·alpha in float32. */
const leakyReLU: Handler = (layer, inShape, addon) => {
  const alpha = layer.getConfig().alpha as number;
  return elementwise(layer.name, inShape, (x, y) => addon.unary(addon.unaryOps.LeakyRelu, x, y, alpha),
    (x, dy, dx) => addon.leakyReluGrad(x, dy, dx, alpha));
};

/** Activation('relu') and Activation('linear'). */
const activation: Handler = (layer, inShape, addon) => {
  const a = layer.getConfig().activation;
  if (a === 'linear') {
    return {name: layer.name, outShape: [...inShape], alias: true, params: [],
      bind: () => ({forward: () => undefined, backward: () => undefined})};
  }
  if (a === 'relu') {
    return elementwise(layer.name, inShape, (x, y) => addon.unary(addon.unaryOps.Relu, x, y), (x, dy, dx) => addon.reluGrad(x, dy, dx), 'relu');
  }
  return `activation ${String(a)}`;
};

/** The handlers by tfjs-layers class name. */
export const layerHandlers: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['Conv2D', conv2d],
  ['DepthwiseConv2D', depthwiseConv2d],
  ['Dense', dense],
  ['BatchNormalization', batchNormalization],
  ['MaxPooling2D', pooling('max')],
  ['AveragePooling2D', pooling('avg')],
  ['GlobalAveragePooling2D', globalAveragePooling2d],
  ['Flatten', flatten],
  ['ReLU', reLU],
  ['LeakyReLU', leakyReLU],
  ['Activation', activation],
]);
