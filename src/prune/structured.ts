// Structured pruning: whole conv filters and dense units removed, the model rebuilt smaller.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {UsageError} from '../util/registry.js';
import {keepCount} from './magnitude.js';
import {checkSparsity} from './schedule.js';

/** How filters are ranked: the L1 or L2 norm of each filter's (unit's) kernel slice. */
export type FilterNorm = 'l1' | 'l2';

/** Options of {@link structuredPrune}. */
export interface StructuredPruneOptions {
  /** Fraction of each pruned layer's filters (units) to remove, in [0, 1); a layer keeps `keepCount(F, s)`. */
  readonly sparsity: number;
  /** @default 'l1' */
  readonly norm?: FilterNorm;
  /** Conv2D / Dense layers to leave whole. @default [] */
  readonly skip?: readonly string[];
}

/** One layer's line in a {@link StructuredPruneResult}. */
export interface StructuredLayerReport {
  readonly layer: string;
  readonly className: string;
  readonly before: number;
  readonly after: number;
  /** Indices of the filters (units) kept, in the original numbering. */
  readonly kept: readonly number[];
}

export interface StructuredPruneResult {
  /** The smaller model, a new tfjs model (the input model is left as it was). */
  readonly model: tfl.LayersModel;
  readonly layers: readonly StructuredLayerReport[];
}

/** Layers whose output channel c depends only on input channel c (and which hold no weights). */
const CHANNELWISE = new Set([
  'Activation', 'ReLU', 'LeakyReLU', 'ELU', 'ThresholdedReLU', 'Dropout', 'SpatialDropout1D',
  'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'ZeroPadding2D', 'UpSampling2D',
  'Cropping2D', 'AlphaDropout', 'GaussianDropout', 'GaussianNoise',
]);
/** Whether a weightless layer maps channel c to channel c alone (an Activation may be a softmax). */
function isChannelwise(layer: Layer): boolean {
  const cls = layer.getClassName();
  if (cls === 'Activation') return (layer.getConfig() as {activation?: string}).activation !== 'softmax';
  return CHANNELWISE.has(cls);
}

/** Layers whose filters (units) structured pruning removes. */
const FILTER_LAYERS = new Set(['Conv2D', 'Dense']);

type Layer = tfl.layers.Layer;

/** The model's layers that read `layer`'s output (it must be called once). */
function consumers(model: tfl.LayersModel, layer: Layer): Layer[] {
  const inModel = new Set(model.layers);
  return layer.outboundNodes.map((n) => n.outboundLayer).filter((l) => inModel.has(l));
}

/** The one layer whose output `layer` reads, or null for the model's input. */
function producer(model: tfl.LayersModel, layer: Layer): Layer | null {
  const inModel = new Set(model.layers);
  if (layer.inboundNodes.length !== 1) {
    throw new UsageError(`structured pruning: layer ${layer.name} is called ${layer.inboundNodes.length} times; shared layers are not supported`);
  }
  const inbound = layer.inboundNodes[0].inboundLayers.filter((l) => inModel.has(l));
  if (inbound.length > 1) return null; // a merge layer; checked by the caller
  return inbound[0] ?? null;
}

function checkChannelsLast(layer: Layer): void {
  const fmt = (layer.getConfig() as {dataFormat?: string}).dataFormat;
  if (fmt != null && fmt !== 'channelsLast') {
    throw new UsageError(`structured pruning: layer ${layer.name} uses ${fmt}; only channelsLast is supported`);
  }
}

/**
 * Whether a Conv2D / Dense layer can lose filters: its output must reach exactly one Conv2D,
 * Dense or DepthwiseConv2D through a chain of single-consumer channel-wise layers (batch norm,
 * activations, pooling, flatten). A layer whose output is the model's is left whole (false). A
 * branch (two consumers), a merge (residual add, concatenate) or any other layer on the way is a
 * UsageError naming the layer.
 */
function canShrink(model: tfl.LayersModel, layer: Layer, outputs: ReadonlySet<Layer>): boolean {
  let cur = layer;
  for (;;) {
    if (outputs.has(cur)) return false;
    const next = consumers(model, cur);
    const via = cur === layer ? '' : ` (through ${cur.name})`;
    if (next.length !== 1) {
      throw new UsageError(
        `structured pruning: the output of layer ${layer.name}${via} feeds ${next.length} layers (${next.map((l) => l.name).join(', ')}); ` +
          `only a layer feeding one layer can lose filters (skip it with --skip ${layer.name})`,
      );
    }
    const n = next[0];
    const cls = n.getClassName();
    if (n.inboundNodes.length === 1 && n.inboundNodes[0].inboundLayers.length > 1) {
      throw new UsageError(
        `structured pruning: the output of layer ${layer.name}${via} feeds ${n.name} (${cls}), which merges several inputs; ` +
          `residual and concatenated inputs cannot shrink (skip ${layer.name})`,
      );
    }
    if (FILTER_LAYERS.has(cls)) return true;
    if (cls === 'DepthwiseConv2D' || cls === 'BatchNormalization' || cls === 'Flatten' || isChannelwise(n)) {
      if (cls === 'BatchNormalization') {
        const axis = (n.getConfig() as {axis?: number}).axis;
        if (axis !== -1 && axis !== n.outputShape.length - 1) {
          throw new UsageError(`structured pruning: batch norm ${n.name} normalizes axis ${axis}; only the channel (last) axis is supported`);
        }
      }
      cur = n;
      continue;
    }
    if (outputs.has(n)) return false; // e.g. logits → softmax: the output's width is fixed
    throw new UsageError(
      `structured pruning: the output of layer ${layer.name}${via} feeds ${n.name} (${cls}), which structured pruning does not know how to shrink (skip ${layer.name})`,
    );
  }
}

/** Per-filter norms of a kernel whose last axis is the filter (unit) axis. */
export function filterNorms(kernel: Float32Array, filters: number, norm: FilterNorm): Float64Array {
  const out = new Float64Array(filters);
  for (let i = 0; i < kernel.length; i++) {
    const v = kernel[i];
    out[i % filters] += norm === 'l1' ? Math.abs(v) : v * v;
  }
  if (norm === 'l2') for (let f = 0; f < filters; f++) out[f] = Math.sqrt(out[f]);
  return out;
}

/** Indices (ascending) of the `keep` filters of largest norm; ties go to the lower index. */
export function keptFilters(norms: Float64Array, keep: number): number[] {
  const order = Array.from(norms.keys()).sort((a, b) => norms[b] - norms[a] || a - b);
  return order.slice(0, keep).sort((a, b) => a - b);
}

/** `values` (row-major `shape`) restricted to `index` along `axis`. */
export function sliceAxis(values: Float32Array, shape: readonly number[], axis: number, index: readonly number[]): Float32Array {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const dim = shape[axis];
  const out = new Float32Array(outer * index.length * inner);
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (const j of index) {
      const src = (a * dim + j) * inner;
      out.set(values.subarray(src, src + inner), o);
      o += inner;
    }
  }
  return out;
}

/**
 * Removes the lowest-norm `sparsity` fraction of filters from every Conv2D and of units from
 * every Dense layer (except those that produce the model's output and those in `skip`) and builds
 * a physically smaller tfjs model: the next layer's input channels shrink with them, batch-norm
 * parameters and depthwise kernels are sliced, and a Dense after Flatten loses the rows of the
 * removed channels at every spatial position. Weights are copied; the result needs fine-tuning.
 * Ranking by the L1 norm of each filter is Li et al. 2017 ("Pruning Filters for Efficient ConvNets").
 * @example const {model: small} = await structuredPrune(teacher, {sparsity: 0.5, norm: 'l1'});
 */
export async function structuredPrune(model: tfl.LayersModel, options: StructuredPruneOptions): Promise<StructuredPruneResult> {
  const {sparsity, norm = 'l1', skip = []} = options;
  checkSparsity('sparsity', sparsity);
  if (norm !== 'l1' && norm !== 'l2') throw new UsageError(`norm must be l1 or l2, got ${String(norm)}`);
  const names = new Set(model.layers.map((l) => l.name));
  for (const s of skip) {
    if (!names.has(s)) throw new UsageError(`skip: no layer named "${s}" in the model; its layers are ${[...names].join(', ')}`);
  }
  const outputs = new Set(model.outputs.map((t) => t.sourceLayer as Layer));

  // Which filters each shrinking layer keeps.
  const keptOf = new Map<string, number[]>();
  const reports: StructuredLayerReport[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (!FILTER_LAYERS.has(cls) || skip.includes(layer.name)) continue;
    checkChannelsLast(layer);
    if (!canShrink(model, layer, outputs)) continue;
    const kernel = layer.getWeights()[0];
    const filters = kernel.shape[kernel.rank - 1];
    const keep = keepCount(filters, sparsity);
    const kept = keptFilters(filterNorms(kernel.dataSync() as Float32Array, filters, norm), keep);
    keptOf.set(layer.name, kept);
    reports.push({layer: layer.name, className: cls, before: filters, after: keep, kept});
  }
  if (reports.length === 0) {
    const classes = model.layers.map((l) => `${l.name} (${l.getClassName()})`).join(', ');
    throw new UsageError(`structured pruning: no Conv2D or Dense layer can lose filters (the output layer cannot); its layers are ${classes}`);
  }

  // The new weights, layer by layer in topological order, following the kept channels.
  const channels = new Map<string, number[] | null>(); // kept channels of each layer's output; null = all
  const newWeights = new Map<string, Float32Array[]>();
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const from = producer(model, layer);
    const inKept = from == null ? null : channels.get(from.name) ?? null;
    const weights = layer.getWeights().map((w) => ({values: w.dataSync() as Float32Array, shape: w.shape}));
    let out: number[] | null = inKept;
    let sliced = weights.map((w) => w.values);
    if (cls === 'Conv2D' || cls === 'Dense') {
      const own = keptOf.get(layer.name) ?? null;
      const inAxis = cls === 'Conv2D' ? 2 : 0;
      const outAxis = weights[0].shape.length - 1;
      let k = weights[0].values;
      let kShape = [...weights[0].shape];
      if (inKept != null) {
        k = sliceAxis(k, kShape, inAxis, inKept);
        kShape[inAxis] = inKept.length;
      }
      if (own != null) {
        k = sliceAxis(k, kShape, outAxis, own);
        kShape[outAxis] = own.length;
      }
      sliced = [k, ...weights.slice(1).map((b) => (own == null ? b.values : sliceAxis(b.values, b.shape, 0, own)))];
      out = own;
    } else if (inKept != null) {
      if (cls === 'BatchNormalization') {
        sliced = weights.map((w) => sliceAxis(w.values, w.shape, 0, inKept));
      } else if (cls === 'DepthwiseConv2D') {
        const mult = weights[0].shape[3] as number;
        const expanded = inKept.flatMap((c) => Array.from({length: mult}, (_, j): number => c * mult + j));
        sliced = [sliceAxis(weights[0].values, weights[0].shape, 2, inKept), ...weights.slice(1).map((b) => sliceAxis(b.values, b.shape, 0, expanded))];
        out = expanded;
      } else if (cls === 'Flatten') {
        const inShape = (from as Layer).outputShape as number[];
        const c = inShape[inShape.length - 1] as number;
        const positions = inShape.slice(1, -1).reduce((a, b) => a * b, 1);
        out = [];
        for (let p = 0; p < positions; p++) for (const ch of inKept) out.push(p * c + ch);
      } else if (!isChannelwise(layer)) {
        throw new Error(`structured pruning: unexpected ${cls} ${layer.name} after a pruned layer`); // canShrink rules this out
      }
    }
    channels.set(layer.name, out);
    newWeights.set(layer.name, sliced);
  }

  // Rebuild from the topology with the new sizes, then load the sliced weights.
  const topology = model.toJSON(null, false) as {config: {layers: {config: Record<string, unknown>}[]}};
  for (const l of topology.config.layers) {
    const kept = keptOf.get(l.config.name as string);
    if (kept == null) continue;
    if ('filters' in l.config) l.config.filters = kept.length;
    else l.config.units = kept.length;
  }
  const small = await tfl.models.modelFromJSON({modelTopology: topology as unknown as tf.io.ModelJSON['modelTopology']});
  for (const layer of small.layers) {
    const values = newWeights.get(layer.name);
    if (values == null || values.length === 0) continue;
    const tensors = layer.weights.map((w, i) => tf.tensor(values[i], w.shape as number[], 'float32'));
    try {
      layer.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
  }
  return {model: small, layers: reports};
}
