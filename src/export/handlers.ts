// The ONNX handlers of the tfjs layers hafif builds and compresses, one small function each.
import {UsageError} from '../util/registry.js';
import {bnAffine, layoutAxis, registerLayerHandler, type HandlerContext, type Value} from './convert.js';

type Pair = readonly [number, number];

function pair(x: unknown, what: string, layer: string): Pair {
  if (typeof x === 'number') return [x, x];
  if (Array.isArray(x) && x.length === 2 && x.every((v) => typeof v === 'number')) return [x[0], x[1]];
  throw new UsageError(`layer "${layer}": ${what} must be a number or two numbers, got ${JSON.stringify(x)}`);
}

function channelsLast(ctx: HandlerContext): void {
  const f = ctx.config.dataFormat;
  if (f !== undefined && f !== 'channelsLast') {
    throw new UsageError(`cannot export layer "${ctx.layer.name}" (${ctx.layer.getClassName()}): dataFormat ${String(f)}, only channelsLast`);
  }
}

/**
 * ONNX pads [top, left, bottom, right] for TensorFlow's padding of one 4-D input: 'same' puts
 * the smaller half of the total padding first, as TensorFlow does (ONNX's SAME_UPPER agrees, but
 * explicit pads leave no room for doubt and need no shape inference).
 */
export function tfPads(padding: string, inHW: Pair, kernel: Pair, strides: Pair, dilations: Pair = [1, 1]): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding !== 'same') throw new UsageError(`padding must be same or valid, got ${padding}`);
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < 2; i++) {
    const k = (kernel[i] - 1) * dilations[i] + 1;
    const out = Math.ceil(inHW[i] / strides[i]);
    const total = Math.max((out - 1) * strides[i] + k - inHW[i], 0);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  }
  return [...begin, ...end];
}

function spatial(v: Value, layer: string): Pair {
  if (v.shape.length !== 4) throw new UsageError(`layer "${layer}": expected a 4-D input, got shape [${v.shape}]`);
  return [v.shape[1] as number, v.shape[2] as number];
}

/** A fused activation (tfjs `activation` config) applied to `x`; `axis` is the softmax axis of x. */
function activate(ctx: HandlerContext, x: string, activation: unknown, base: string, softmaxAxis: number): string {
  const g = ctx.g;
  switch (activation ?? 'linear') {
    case 'linear':
      return x;
    case 'relu':
      return g.op('Relu', [x], base);
    case 'relu6':
      return clip(ctx, x, 0, 6, base);
    case 'elu':
      return g.op('Elu', [x], base, {alpha: {float: 1}});
    case 'selu':
      // tfjs' constants (tfjs-core selu_util).
      return g.op('Selu', [x], base, {alpha: {float: 1.6732632423543772}, gamma: {float: 1.0507009873554805}});
    case 'sigmoid':
      return g.op('Sigmoid', [x], base);
    case 'hardSigmoid':
      return g.op('HardSigmoid', [x], base, {alpha: {float: 0.2}, beta: {float: 0.5}});
    case 'tanh':
      return g.op('Tanh', [x], base);
    case 'softplus':
      return g.op('Softplus', [x], base);
    case 'softsign':
      return g.op('Softsign', [x], base);
    case 'swish':
      return g.op('Mul', [x, g.op('Sigmoid', [x], `${base}_sigmoid`)], base);
    case 'softmax':
      return g.op('Softmax', [x], base, {axis: softmaxAxis});
    default:
      throw new UsageError(`cannot export layer "${ctx.layer.name}": activation ${JSON.stringify(activation)} has no ONNX handler`);
  }
}

function clip(ctx: HandlerContext, x: string, lo: number, hi: number, base: string): string {
  const g = ctx.g;
  const min = g.initializer(`${base}_min`, new Float32Array([lo]), []);
  const max = g.initializer(`${base}_max`, new Float32Array([hi]), []);
  return g.op('Clip', [x, min, max], base);
}

/** Kernel [kh, kw, in, out] (tfjs) → [out, in, kh, kw] (ONNX), scaled per output channel. */
function convKernel(k: Float32Array, kh: number, kw: number, cin: number, cout: number, mul?: Float32Array): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        for (let o = 0; o < cout; o++) {
          const v = k[((y * kw + x) * cin + i) * cout + o];
          out[((o * cin + i) * kh + y) * kw + x] = mul ? v * mul[o] : v;
        }
      }
    }
  }
  return out;
}

function foldBias(bias: Float32Array | null, channels: number, fold: HandlerContext['fold']): Float32Array | null {
  if (!fold) return bias;
  const b = new Float32Array(channels);
  for (let c = 0; c < channels; c++) b[c] = (bias ? bias[c] : 0) * fold.mul[c] + fold.add[c];
  return b;
}

interface ConvConfig {
  kernelSize: unknown;
  strides: unknown;
  dilationRate: unknown;
  padding: string;
  useBias: boolean;
  activation: string;
}

function conv(ctx: HandlerContext, depthwise: boolean): Value {
  channelsLast(ctx);
  const c = ctx.config as unknown as ConvConfig & {depthMultiplier?: number};
  const name = ctx.layer.name;
  const x = ctx.as(ctx.inputs[0], 'nchw');
  const [kh, kw] = pair(c.kernelSize, 'kernelSize', name);
  const strides = pair(c.strides, 'strides', name);
  const dil = pair(c.dilationRate ?? 1, 'dilationRate', name);
  const inHW = spatial(x, name);
  const cin = x.shape[3] as number;
  const w = ctx.weights();
  const mult = depthwise ? (c.depthMultiplier ?? 1) : 0;
  const cout = depthwise ? cin * mult : (w[0].length / (kh * kw * cin));
  // Depthwise [kh, kw, in, mult] is a grouped conv [in·mult, 1, kh, kw] with group = in: output
  // channel i·mult + m, the order tfjs uses.
  const kernel = depthwise ? convKernel(w[0], kh, kw, 1, cout, ctx.fold?.mul) : convKernel(w[0], kh, kw, cin, cout, ctx.fold?.mul);
  const dims = depthwise ? [cout, 1, kh, kw] : [cout, cin, kh, kw];
  const inputs = [x.name, ctx.quantizer.weight(ctx.g, `${name}/kernel`, kernel, dims, 0)];
  const bias = foldBias(c.useBias ? w[1] : null, cout, ctx.fold);
  if (bias) inputs.push(ctx.quantizer.bias(ctx.g, `${name}/bias`, bias, x));
  const y = ctx.g.op('Conv', inputs, ctx.fold ? `${name}_bn` : name, {
    kernel_shape: [kh, kw],
    strides: [...strides],
    dilations: [...dil],
    pads: tfPads(c.padding, inHW, [kh, kw], strides, dil),
    ...(depthwise ? {group: cin} : {}),
  });
  return {name: activate(ctx, y, c.activation, `${name}_act`, 1), layout: 'nchw', shape: ctx.outputShape};
}

registerLayerHandler('Conv2D', (ctx) => {
  if ((ctx.config.groups as number | undefined ?? 1) !== 1) throw new UsageError(`layer "${ctx.layer.name}": grouped Conv2D is not supported`);
  return conv(ctx, false);
});
registerLayerHandler('DepthwiseConv2D', (ctx) => conv(ctx, true));

registerLayerHandler('Dense', (ctx) => {
  const c = ctx.config as {units: number; useBias: boolean; activation: string};
  const name = ctx.layer.name;
  const x = ctx.as(ctx.inputs[0], 'nhwc');
  const w = ctx.weights();
  const units = c.units;
  const cin = w[0].length / units;
  const kernel = new Float32Array(w[0].length);
  // ONNX Gemm with transB=1 reads [out, in]: the per-output-channel axis is 0 (as for Conv).
  for (let i = 0; i < cin; i++) for (let o = 0; o < units; o++) kernel[o * cin + i] = w[0][i * units + o] * (ctx.fold ? ctx.fold.mul[o] : 1);
  const wName = ctx.quantizer.weight(ctx.g, `${name}/kernel`, kernel, [units, cin], 0);
  const bias = foldBias(c.useBias ? w[1] : null, units, ctx.fold);
  const base = ctx.fold ? `${name}_bn` : name;
  let y: string;
  if (x.shape.length === 2) {
    const inputs = [x.name, wName];
    if (bias) inputs.push(ctx.quantizer.bias(ctx.g, `${name}/bias`, bias, x));
    y = ctx.g.op('Gemm', inputs, base, {transB: 1});
  } else {
    const wt = ctx.g.op('Transpose', [wName], `${name}/kernel_t`, {perm: [1, 0]});
    y = ctx.g.op('MatMul', [x.name, wt], base);
    if (bias) y = ctx.g.op('Add', [y, ctx.quantizer.bias(ctx.g, `${name}/bias`, bias, x)], `${base}_bias`);
  }
  const rank = ctx.outputShape.length;
  return {name: activate(ctx, y, c.activation, `${name}_act`, rank - 1), layout: rank === 4 ? 'nhwc' : 'plain', shape: ctx.outputShape};
});

function pool(op: 'MaxPool' | 'AveragePool') {
  return (ctx: HandlerContext): Value => {
    channelsLast(ctx);
    const c = ctx.config as {poolSize: unknown; strides: unknown; padding: string};
    const name = ctx.layer.name;
    const x = ctx.as(ctx.inputs[0], 'nchw');
    const k = pair(c.poolSize, 'poolSize', name);
    const s = pair(c.strides ?? c.poolSize, 'strides', name);
    // AveragePool's count_include_pad = 0 (the default) averages over the real pixels only, as TensorFlow's 'same' does.
    const y = ctx.g.op(op, [x.name], name, {kernel_shape: [...k], strides: [...s], pads: tfPads(c.padding, spatial(x, name), k, s)});
    return {name: y, layout: 'nchw', shape: ctx.outputShape};
  };
}
registerLayerHandler('MaxPooling2D', pool('MaxPool'));
registerLayerHandler('AveragePooling2D', pool('AveragePool'));

function globalPool(op: 'GlobalAveragePool' | 'GlobalMaxPool') {
  return (ctx: HandlerContext): Value => {
    channelsLast(ctx);
    const x = ctx.as(ctx.inputs[0], 'nchw');
    const y = ctx.g.op(op, [x.name], ctx.layer.name);
    if (ctx.config.keepDims) return {name: y, layout: 'nchw', shape: ctx.outputShape};
    return {name: ctx.g.op('Flatten', [y], `${ctx.layer.name}_flat`, {axis: 1}), layout: 'plain', shape: ctx.outputShape};
  };
}
registerLayerHandler('GlobalAveragePooling2D', globalPool('GlobalAveragePool'));
registerLayerHandler('GlobalMaxPooling2D', globalPool('GlobalMaxPool'));

registerLayerHandler('BatchNormalization', (ctx) => {
  // Not folded (no conv or dense before it): y = x·mul + add on the channel axis.
  const c = ctx.config as {axis: number; epsilon: number; center: boolean; scale: boolean};
  const x = ctx.inputs[0];
  const rank = x.shape.length;
  if (c.axis !== -1 && c.axis !== rank - 1) throw new UsageError(`layer "${ctx.layer.name}": batch norm on axis ${c.axis} is not supported, only the last`);
  const [mul, add] = bnAffine(ctx.layer, c);
  const v = rank === 4 ? ctx.as(x, 'nchw') : x;
  const bshape = rank === 4 ? [mul.length, 1, 1] : [mul.length];
  const m = ctx.g.initializer(`${ctx.layer.name}/mul`, mul, bshape);
  const a = ctx.g.initializer(`${ctx.layer.name}/add`, add, bshape);
  const y = ctx.g.op('Add', [ctx.g.op('Mul', [v.name, m], `${ctx.layer.name}_mul`), a], ctx.layer.name);
  return {name: y, layout: v.layout, shape: ctx.outputShape};
});

function elementwise(make: (ctx: HandlerContext, x: string, v: Value) => string) {
  return (ctx: HandlerContext): Value => {
    const x = ctx.inputs[0];
    return {name: make(ctx, x.name, x), layout: x.layout, shape: ctx.outputShape};
  };
}

registerLayerHandler('ReLU', elementwise((ctx, x) => {
  const c = ctx.config as {maxValue?: number | null};
  return c.maxValue != null ? clip(ctx, x, 0, c.maxValue, ctx.layer.name) : ctx.g.op('Relu', [x], ctx.layer.name);
}));
registerLayerHandler('LeakyReLU', elementwise((ctx, x) => ctx.g.op('LeakyRelu', [x], ctx.layer.name, {alpha: {float: ctx.config.alpha as number}})));
registerLayerHandler('ELU', elementwise((ctx, x) => ctx.g.op('Elu', [x], ctx.layer.name, {alpha: {float: ctx.config.alpha as number}})));
registerLayerHandler('Softmax', elementwise((ctx, x, v) => {
  const axis = ctx.config.axis;
  if (typeof axis !== 'number') throw new UsageError(`layer "${ctx.layer.name}": softmax over axes ${JSON.stringify(axis)} is not supported, only one axis`);
  return ctx.g.op('Softmax', [x], ctx.layer.name, {axis: layoutAxis(v, axis)});
}));
registerLayerHandler('Activation', elementwise((ctx, x, v) => {
  // tfjs' softmax activation normalizes the last axis.
  const out = activate(ctx, x, ctx.config.activation, ctx.layer.name, layoutAxis(v, -1));
  return out === x ? ctx.g.op('Identity', [x], ctx.layer.name) : out;
}));

for (const cls of ['InputLayer', 'Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']) {
  // Identity at inference (InputLayer: the graph input itself).
  registerLayerHandler(cls, (ctx) => ctx.inputs[0]);
}

registerLayerHandler('Flatten', (ctx) => {
  // tfjs flattens in NHWC order: go back to NHWC first, or the next Dense reads scrambled features.
  const x = ctx.as(ctx.inputs[0], 'nhwc');
  return {name: ctx.g.op('Flatten', [x.name], ctx.layer.name, {axis: 1}), layout: 'plain', shape: ctx.outputShape};
});

registerLayerHandler('Reshape', (ctx) => {
  const x = ctx.as(ctx.inputs[0], 'nhwc');
  const target = ctx.config.targetShape as number[];
  // 0 keeps the (dynamic) batch dimension.
  const shape = ctx.g.initializer(`${ctx.layer.name}/shape`, BigInt64Array.from([0, ...target].map(BigInt)), [target.length + 1]);
  const y = ctx.g.op('Reshape', [x.name, shape], ctx.layer.name);
  return {name: y, layout: ctx.outputShape.length === 4 ? 'nhwc' : 'plain', shape: ctx.outputShape};
});

/** All inputs in one layout: NCHW if any 4-D input is NCHW. */
function commonLayout(ctx: HandlerContext): Value[] {
  const want = ctx.inputs.some((v) => v.layout === 'nchw') ? 'nchw' : 'nhwc';
  return ctx.inputs.map((v) => ctx.as(v, want));
}

function merge(op: 'Add' | 'Mul' | 'Sub' | 'Max' | 'Min') {
  return (ctx: HandlerContext): Value => {
    const ins = commonLayout(ctx);
    let y = ins[0].name;
    for (let i = 1; i < ins.length; i++) y = ctx.g.op(op, [y, ins[i].name], i === ins.length - 1 ? ctx.layer.name : `${ctx.layer.name}_${i}`);
    return {name: y, layout: ins[0].layout, shape: ctx.outputShape};
  };
}
registerLayerHandler('Add', merge('Add'));
registerLayerHandler('Multiply', merge('Mul'));
registerLayerHandler('Maximum', merge('Max'));
registerLayerHandler('Minimum', merge('Min'));
registerLayerHandler('Subtract', merge('Sub'));

registerLayerHandler('Concatenate', (ctx) => {
  const ins = commonLayout(ctx);
  const axis = layoutAxis(ins[0], (ctx.config.axis as number | undefined) ?? -1);
  return {name: ctx.g.op('Concat', ins.map((v) => v.name), ctx.layer.name, {axis}), layout: ins[0].layout, shape: ctx.outputShape};
});
