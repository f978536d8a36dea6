// A Sequential model as a list of compiled layers (see layers.ts) and, per batch size, the
// preallocated activation and gradient buffers one training step reuses.
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import type {NativeAddon} from '../../backend/addon.js';
import {layerHandlers} from './layers.js';
import type {BoundLayer, CompiledLayer, Param, ReadFn} from './layers.js';

/** A model compiled for training, or why it could not be. */
export type CompileResult = {readonly plan: Plan; readonly reason?: undefined} | {readonly plan?: undefined; readonly reason: string};

/** The buffers of one batch size. */
interface Bound {
  readonly layers: BoundLayer[];
  /** Output buffer of layer i (null where the layer aliases its input). */
  readonly acts: (Float32Array | null)[];
  /** d loss / d input of layer i (null for the first layer and where the layer aliases). */
  readonly grads: (Float32Array | null)[];
}

/** How many batch sizes keep their buffers (a run has its batch size and a smaller last batch). */
const MAX_BOUND = 4;

/** A layer's time in the steps run while timing was on (see Plan.startTiming). */
export interface LayerTime {
  readonly name: string;
  readonly forwardMs: number;
  readonly backwardMs: number;
}

/** The compiled layers of a model and their buffers per batch size. */
export class Plan {
  private readonly bound = new Map<number, Bound>();
  private timing: {forward: Float64Array; backward: Float64Array} | null = null;

  constructor(
    readonly layers: readonly CompiledLayer[],
    /** Per example, without the batch axis. */
    readonly inShape: readonly number[],
    readonly outShape: readonly number[],
    /** The model's trainable variables in model.trainableWeights order, each with its gradient array. */
    readonly params: readonly Param[],
  ) {}

  /** Times each layer's forward and backward from now on (for profiles; off by default). */
  startTiming(): void {
    this.timing = {forward: new Float64Array(this.layers.length), backward: new Float64Array(this.layers.length)};
  }

  /** The summed times per layer since startTiming, in plan order; timing is off again. */
  stopTiming(): LayerTime[] {
    const t = this.timing;
    this.timing = null;
    return this.layers.map((l, i) => ({name: l.name, forwardMs: t?.forward[i] ?? 0, backwardMs: t?.backward[i] ?? 0}));
  }

  private bind(n: number): Bound {
    let b = this.bound.get(n);
    if (b != null) return b;
    if (this.bound.size >= MAX_BOUND) this.bound.delete(this.bound.keys().next().value as number);
    const acts: (Float32Array | null)[] = [];
    const grads: (Float32Array | null)[] = [];
    let inSize = n * this.inShape.reduce((a, d) => a * d, 1);
    this.layers.forEach((l, i) => {
      const outSize = n * l.outShape.reduce((a, d) => a * d, 1);
      acts.push(l.alias ? null : new Float32Array(outSize));
      grads.push(i === 0 || l.alias ? null : new Float32Array(inSize));
      inSize = outSize;
    });
    b = {layers: this.layers.map((l) => l.bind(n)), acts, grads};
    this.bound.set(n, b);
    return b;
  }

  /**
   * One forward pass in training mode over x [n, ...inShape] (batch norm updates its moving
   * statistics); returns the output [n, ...outShape] and a function that runs the backward pass
   * from d loss / d output, writing every param's gradient.
   */
  forward(x: Float32Array, n: number, read: ReadFn): {y: Float32Array; backward: (dy: Float32Array) => void} {
    const b = this.bind(n);
    const timing = this.timing;
    const inputs: Float32Array[] = [];
    let cur = x;
    b.layers.forEach((l, i) => {
      inputs.push(cur);
      const out = b.acts[i] ?? cur;
      if (timing == null) {
        l.forward(cur, out, read);
      } else {
        const t0 = performance.now();
        l.forward(cur, out, read);
        timing.forward[i] += performance.now() - t0;
      }
      cur = out;
    });
    const outputs = b.acts.map((a, i) => a ?? inputs[i]);
    return {
      y: cur,
      backward: (dy) => {
        let d = dy;
        for (let i = b.layers.length - 1; i >= 0; i--) {
          const dx = this.layers[i].alias ? d : b.grads[i];
          if (timing == null) {
            b.layers[i].backward(inputs[i], outputs[i], d, dx, read);
          } else {
            const t0 = performance.now();
            b.layers[i].backward(inputs[i], outputs[i], d, dx, read);
            timing.backward[i] += performance.now() - t0;
          }
          if (dx == null) break;
          d = dx;
        }
      },
    };
  }
}

/** Options of {@link compileSequential}. */
export interface CompileOptions {
  /**
   * Let a layer absorb the activation layer after it (batch norm + ReLU or ReLU6 run as one
   * native pass each way), and a max pool take the Relu gradient of the conv before it in its own
   * backward pass; off, every layer runs on its own. @default true
   */
  readonly fuse?: boolean;
}

/**
 * Compiles a Sequential model of known layers (layers.ts), every weighted layer trainable. Anything
 * else gives the reason, naming the layer.
 */
export function compileSequential(model: tfl.LayersModel, addon: NativeAddon, options: CompileOptions = {}): CompileResult {
  const {fuse = true} = options;
  if (model.getClassName() !== 'Sequential') return {reason: `a ${model.getClassName()}, not a Sequential model`};
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return {reason: 'not one input and one output'};
  const inShape = model.inputs[0].shape.slice(1);
  if (inShape.some((d) => d == null) || model.inputs[0].dtype !== 'float32') {
    return {reason: `input [${model.inputs[0].shape}] ${model.inputs[0].dtype}`};
  }
  let shape = inShape as number[];
  const layers: CompiledLayer[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') continue;
    const handler = layerHandlers.get(cls);
    if (handler == null) return {reason: `layer ${layer.name}: ${cls} has no compiled handler`};
    if (!layer.trainable && layer.weights.length > 0) return {reason: `layer ${layer.name} is not trainable`};
    const compiled = handler(layer, shape, addon);
    if (typeof compiled === 'string') return {reason: `layer ${layer.name} (${cls}): ${compiled}`};
    const expected = layer.outputShape as (number | null)[];
    if (!Array.isArray(expected) || expected.length !== compiled.outShape.length + 1 ||
      compiled.outShape.some((d, i) => d !== expected[i + 1])) {
      return {reason: `layer ${layer.name} (${cls}): output [${compiled.outShape}], the layer says [${String(expected)}]`};
    }
    const prev = layers[layers.length - 1];
    if (fuse && compiled.activation != null && prev?.withActivation != null) {
      layers[layers.length - 1] = prev.withActivation(compiled.activation, `${prev.name}+${compiled.name}`);
    } else if (fuse && compiled.withReluGrad != null && prev?.withoutReluGrad != null) {
      // A max pool after a Relu takes the Relu's gradient in its own backward pass.
      layers[layers.length - 1] = prev.withoutReluGrad();
      layers.push(compiled.withReluGrad());
    } else {
      layers.push(compiled);
    }
    shape = [...compiled.outShape];
  }
  if (layers.length === 0) return {reason: 'no layers'};
  if (layers[layers.length - 1].alias) return {reason: 'the last layer only reshapes'};
  const byVariable = new Map<tf.Variable, Param>();
  for (const l of layers) for (const p of l.params) byVariable.set(p.variable, p);
  const params: Param[] = [];
  for (const w of model.trainableWeights) {
    const p = byVariable.get(w.read() as tf.Variable);
    if (p == null) return {reason: `trainable weight ${w.name} has no compiled gradient`};
    params.push(p);
  }
  if (params.length !== byVariable.size) return {reason: 'a compiled weight is not trainable'};
  return {plan: new Plan(layers, inShape as number[], shape, params)};
}

/** What a cached plan was compiled from: each layer, whether it trains, and its variables. */
function planKey(model: tfl.LayersModel): unknown[] {
  const key: unknown[] = [];
  for (const layer of model.layers) key.push(layer, layer.trainable, ...layer.weights.map((w) => w.read()));
  key.push(model.trainableWeights.length);
  return key;
}

const planCache = new WeakMap<tfl.LayersModel, {readonly key: unknown[]; readonly result: CompileResult}>();

/**
 * compileSequential's result for the model, kept across calls (each `fit` makes a training step):
 * the compiled layers and their buffers per batch size are reused as long as the model has the
 * same layers, trainable flags and variables (values may change: the plan reads them each step).
 */
export function cachedPlan(model: tfl.LayersModel, addon: NativeAddon): CompileResult {
  const key = planKey(model);
  const hit = planCache.get(model);
  if (hit != null && hit.key.length === key.length && hit.key.every((k, i) => k === key[i])) return hit.result;
  const result = compileSequential(model, addon);
  planCache.set(model, {key, result});
  return result;
}
