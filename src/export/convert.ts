// tfjs LayersModel → ONNX graph. One small handler per layer class (tf2onnx style), looked up in a
// registry; a layer class without a handler is an error naming the layer, never a silent skip.
//
// Layout: tfjs is NHWC, ONNX's Conv and pooling are NCHW. Every 4-D value carries its layout, and
// a handler asks for the layout it needs (a Transpose is inserted only where the layout changes),
// so a chain of convs and pools runs in NCHW and Flatten/Reshape/Dense see the NHWC order tfjs
// used (Flatten's element order is the one that matters for the next Dense's weights).
import type * as tfl from '@tensorflow/tfjs-layers';

import {UsageError} from '../util/registry.js';
import {GraphBuilder, OPSET} from './onnx_proto.js';

export type Layout = 'nchw' | 'nhwc' | 'plain';

/** A tensor of the ONNX graph: its name, its layout, and its tfjs (NHWC) shape with the batch as null. */
export interface Value {
  readonly name: string;
  readonly layout: Layout;
  readonly shape: readonly (number | null)[];
  /** Scale of the int8 activation this value was dequantized from (QDQ export), if any. */
  readonly qscale?: number;
}

/** How weights and activations are written: float, or int8 with QuantizeLinear/DequantizeLinear pairs. */
export interface Quantizer {
  /** A weight tensor in ONNX layout; `axis` is its output-channel axis. Returns the name the op reads. */
  weight(g: GraphBuilder, base: string, data: Float32Array, dims: readonly number[], axis: number): string;
  /** A bias added to the product of `input` and the weight last made by weight() (int32 in QDQ). */
  bias(g: GraphBuilder, base: string, data: Float32Array, input: Value): string;
  /** Called on every layer output and the model input: may insert Q→DQ and return the new value. */
  activation(g: GraphBuilder, layerName: string, v: Value): Value;
}

/** Writes float32 weights and leaves activations alone. */
export const floatQuantizer: Quantizer = {
  weight: (g, base, data, dims) => g.initializer(base, data, dims),
  bias: (g, base, data) => g.initializer(base, data, [data.length]),
  activation: (_g, _name, v) => v,
};

/** Batch norm folded into the conv or dense layer before it: per-channel multiplier and shift. */
export interface BnFold {
  readonly bnName: string;
  readonly mul: Float32Array;
  readonly add: Float32Array;
}

export interface HandlerContext {
  readonly g: GraphBuilder;
  readonly layer: tfl.layers.Layer;
  readonly config: Record<string, unknown>;
  readonly inputs: readonly Value[];
  /** tfjs output shape of the layer (NHWC, batch null). */
  readonly outputShape: readonly (number | null)[];
  readonly quantizer: Quantizer;
  /** The batch norm that follows this layer and is folded into it, if any. */
  readonly fold?: BnFold;
  /** `v` in `layout` (a Transpose when it differs); plain values are returned as they are. */
  as(v: Value, layout: 'nchw' | 'nhwc'): Value;
  /** The layer's weights as host arrays, in getWeights() order. */
  weights(): Float32Array[];
}

/** Converts one layer; returns its output. */
export type LayerHandler = (ctx: HandlerContext) => Value;

const handlers = new Map<string, LayerHandler>();

/** Registers the handler of a tfjs layer class (its getClassName()). */
export function registerLayerHandler(className: string, handler: LayerHandler): void {
  if (handlers.has(className)) throw new Error(`ONNX handler for ${className} is already registered`);
  handlers.set(className, handler);
}

/** Layer classes the exporter can write. */
export function exportableLayerClasses(): string[] {
  return [...handlers.keys()].sort();
}

export interface ConvertOptions {
  /** Layout of the ONNX model's input. @default 'nhwc' */
  readonly layout?: 'nhwc' | 'nchw';
  readonly quantizer?: Quantizer;
  /** Fold batch norm into a preceding conv/dense. @default true */
  readonly foldBatchNorm?: boolean;
  /** Rewrites the finished graph (e.g. QDQ → QOperator); returns extra opsets it needs. */
  readonly rewrite?: (g: GraphBuilder) => {domain: string; version: number}[];
}

// NHWC axis (with batch) → NCHW axis, for rank 4.
const NHWC_TO_NCHW_AXIS = [0, 2, 3, 1];

/** `axis` (tfjs, NHWC, negative allowed) of a value of rank `rank`, as an axis of `v` in its own layout. */
export function layoutAxis(v: Value, axis: number): number {
  const rank = v.shape.length;
  const a = axis < 0 ? axis + rank : axis;
  return v.layout === 'nchw' ? NHWC_TO_NCHW_AXIS[a] : a;
}

/** The layers a folded batch norm can merge into (they are linear in their weights per output channel). */
const FOLDABLE = new Set(['Conv2D', 'DepthwiseConv2D', 'Dense']);

interface LayerNode {
  readonly inputTensors: tfl.SymbolicTensor[];
  readonly outputTensors: tfl.SymbolicTensor[];
}

function nodesOf(layer: tfl.layers.Layer): LayerNode[] {
  return layer.inboundNodes as unknown as LayerNode[];
}

function bnFolds(model: tfl.LayersModel): Map<string, BnFold> {
  // Consumers of each symbolic tensor, to fold only when the conv's output feeds nothing but the BN.
  const consumers = new Map<number, number>();
  for (const layer of model.layers) {
    for (const node of nodesOf(layer)) for (const t of node.inputTensors) consumers.set(t.id, (consumers.get(t.id) ?? 0) + 1);
  }
  for (const o of model.outputs) consumers.set(o.id, (consumers.get(o.id) ?? 0) + 1);
  const folds = new Map<string, BnFold>();
  for (const bn of model.layers) {
    if (bn.getClassName() !== 'BatchNormalization' || nodesOf(bn).length !== 1) continue;
    const cfg = bn.getConfig() as {axis: number; epsilon: number; center: boolean; scale: boolean};
    const input = nodesOf(bn)[0].inputTensors[0];
    const rank = input.shape.length;
    if (cfg.axis !== -1 && cfg.axis !== rank - 1) continue;
    const prev = input.sourceLayer as tfl.layers.Layer;
    if (!FOLDABLE.has(prev.getClassName()) || nodesOf(prev).length !== 1 || consumers.get(input.id) !== 1) continue;
    if ((prev.getConfig() as {activation?: string}).activation !== 'linear') continue;
    const [mul, add] = bnAffine(bn, cfg);
    folds.set(prev.name, {bnName: bn.name, mul, add});
  }
  return folds;
}

/** Ids of symbolic tensors whose only consumer is a ReLU layer. */
function feedsOnlyRelu(model: tfl.LayersModel): Set<number> {
  const uses = new Map<number, string[]>();
  for (const layer of model.layers) {
    for (const node of nodesOf(layer)) for (const t of node.inputTensors) uses.set(t.id, [...(uses.get(t.id) ?? []), layer.getClassName()]);
  }
  for (const o of model.outputs) uses.set(o.id, [...(uses.get(o.id) ?? []), 'output']);
  const out = new Set<number>();
  for (const [id, users] of uses) if (users.length === 1 && users[0] === 'ReLU') out.add(id);
  return out;
}

/** Batch norm at inference as y = x·mul + add per channel. */
export function bnAffine(bn: tfl.layers.Layer, cfg: {epsilon: number; center: boolean; scale: boolean}): [Float32Array, Float32Array] {
  const w = bn.getWeights().map((t) => t.dataSync() as Float32Array);
  let i = 0;
  const gamma = cfg.scale ? w[i++] : null;
  const beta = cfg.center ? w[i++] : null;
  const mean = w[i++];
  const variance = w[i++];
  const c = mean.length;
  const mul = new Float32Array(c);
  const add = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    // float64 arithmetic, rounded once.
    const m = (gamma ? gamma[k] : 1) / Math.sqrt(variance[k] + cfg.epsilon);
    mul[k] = m;
    add[k] = (beta ? beta[k] : 0) - mean[k] * m;
  }
  return [mul, add];
}

/**
 * Converts a tfjs model into an ONNX graph and serializes it.
 * @throws UsageError naming the first layer whose class has no handler (nothing is produced).
 */
export function convertModel(model: tfl.LayersModel, options: ConvertOptions = {}): Uint8Array {
  const {layout = 'nhwc', quantizer = floatQuantizer, foldBatchNorm = true, rewrite} = options;
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new UsageError(`ONNX export supports models with one input and one output, got ${model.inputs.length} and ${model.outputs.length}`);
  }
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (!handlers.has(cls)) {
      throw new UsageError(`cannot export layer "${layer.name}" of class ${cls} to ONNX; supported: ${exportableLayerClasses().join(', ')}`);
    }
  }
  const g = new GraphBuilder();
  const values = new Map<number, Value>();
  const input = model.inputs[0];
  const inShape = input.shape;
  if (inShape.slice(1).some((d) => d == null)) {
    throw new UsageError(`ONNX export needs a fixed input shape apart from the batch, got [${inShape}]`);
  }
  const inName = g.unique('input');
  const inDims: (number | string)[] = inShape.map((d, i) => (i === 0 ? 'N' : (d as number)));
  const declared = inShape.length === 4 && layout === 'nchw' ? [inDims[0], inDims[3], inDims[1], inDims[2]] : inDims;
  g.inputs.push(GraphBuilder.valueInfo(inName, declared));
  let inValue: Value = {name: inName, layout: inShape.length === 4 ? layout : 'plain', shape: inShape};
  inValue = quantizer.activation(g, 'input', inValue);
  values.set(input.id, inValue);

  const transposes = new Map<string, Value>();
  const as = (v: Value, want: 'nchw' | 'nhwc'): Value => {
    if (v.layout === 'plain' || v.layout === want) return v;
    const key = `${v.name}->${want}`;
    const done = transposes.get(key);
    if (done) return done;
    const perm = want === 'nchw' ? [0, 3, 1, 2] : [0, 2, 3, 1];
    const out: Value = {name: g.op('Transpose', [v.name], `${v.name}_${want}`, {perm}), layout: want, shape: v.shape, qscale: v.qscale};
    transposes.set(key, out);
    return out;
  };
  const folds = foldBatchNorm ? bnFolds(model) : new Map<string, BnFold>();
  const beforeRelu = feedsOnlyRelu(model);
  const foldedBns = new Set([...folds.values()].map((f) => f.bnName));

  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') continue;
    for (const node of nodesOf(layer)) {
      const ins = node.inputTensors.map((t) => values.get(t.id));
      if (ins.some((v) => v === undefined)) continue; // a node of this layer in another model
      const out = node.outputTensors[0];
      let v: Value;
      if (foldedBns.has(layer.name)) {
        v = ins[0] as Value; // already applied by the layer before it
      } else {
        const handler = handlers.get(cls) as LayerHandler;
        v = handler({
          g,
          layer,
          config: layer.getConfig() as Record<string, unknown>,
          inputs: ins as Value[],
          outputShape: out.shape,
          quantizer,
          fold: folds.get(layer.name),
          as,
          weights: () => layer.getWeights().map((t) => t.dataSync() as Float32Array),
        });
        v = {...v, shape: out.shape};
      }
      // A layer whose BN is folded into it is quantized at the BN's output instead.
      // An output that only feeds a ReLU is quantized after the ReLU (ORT then fuses conv + ReLU).
      if (!folds.has(layer.name) && !beforeRelu.has(out.id)) v = quantizer.activation(g, layer.name, v);
      values.set(out.id, v);
    }
  }
  let result = values.get(model.outputs[0].id);
  if (!result) throw new Error('ONNX export: the model output was never computed');
  if (result.layout !== 'plain') result = as(result, layout);
  const outName = g.op('Identity', [result.name], 'output');
  const outShape = result.shape;
  const outDims: (number | string)[] = outShape.map((d, i) => (i === 0 ? 'N' : (d as number)));
  const declaredOut = outShape.length === 4 && result.layout === 'nchw' ? [outDims[0], outDims[3], outDims[1], outDims[2]] : outDims;
  g.outputs.push(GraphBuilder.valueInfo(outName, declaredOut));
  const extra = rewrite ? rewrite(g) : [];
  return g.serialize(model.name, `exported by hafif from a TensorFlow.js model (${model.layers.length} layers)`,
    [{domain: '', version: OPSET}, ...extra]);
}
