// Batch-norm folding: conv/dense → BatchNormalization becomes one conv/dense whose kernel and bias
// absorb the normalization, so that what is quantized (and exported) is one layer per op.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {UsageError} from '../util/registry.js';

interface LayerJSON {
  class_name: string;
  config: Record<string, unknown> & {name: string};
}
interface SequentialJSON {
  class_name: string;
  config: {name: string; layers: LayerJSON[]};
}

const FOLDABLE = ['Conv2D', 'DepthwiseConv2D', 'Dense'];

function sequentialJSON(model: tfl.LayersModel): SequentialJSON {
  const json = model.toJSON(null, false) as unknown as SequentialJSON;
  if (json.class_name !== 'Sequential' || !Array.isArray(json.config?.layers)) {
    throw new UsageError(`model "${model.name}" is a ${json.class_name}; int8 quantization supports Sequential models (a chain of layers)`);
  }
  return json;
}

async function fromJSON(json: SequentialJSON): Promise<tfl.LayersModel> {
  const config: tfl.ModelAndWeightsConfig = {modelTopology: json as unknown as tfl.ModelAndWeightsConfig['modelTopology']};
  return tfl.models.modelFromJSON(config);
}

/** A copy of a Sequential model: same topology and layer names, its own weights. */
export async function cloneSequential(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  const copy = await fromJSON(sequentialJSON(model));
  const weights = model.getWeights();
  copy.setWeights(weights);
  return copy;
}

function weightByName(layer: tfl.layers.Layer, short: string): Float32Array | undefined {
  const w = layer.weights.find((v) => v.originalName.split('/').pop() === short);
  return w == null ? undefined : (w.read().dataSync() as Float32Array).slice();
}

/** Names of the batch-norm layers {@link foldBatchNorm} would fold, each with the layer it folds into. */
export function foldablePairs(model: tfl.LayersModel): {layer: string; batchNorm: string}[] {
  const pairs: {layer: string; batchNorm: string}[] = [];
  const layers = model.layers;
  for (let i = 0; i + 1 < layers.length; i++) {
    const a = layers[i];
    const b = layers[i + 1];
    if (!FOLDABLE.includes(a.getClassName()) || b.getClassName() !== 'BatchNormalization') continue;
    const act = (a.getConfig() as {activation?: string}).activation;
    const axis = (b.getConfig() as {axis?: number}).axis;
    const rank = a.outputShape.length as number;
    if ((act ?? 'linear') !== 'linear' || !(axis === -1 || axis === rank - 1)) continue;
    pairs.push({layer: a.name, batchNorm: b.name});
  }
  return pairs;
}

/**
 * A new Sequential model with every batch norm that directly follows a linear Conv2D,
 * DepthwiseConv2D or Dense folded into it: `W'_c = W_c·γ_c/√(σ²_c + ε)`,
 * `b'_c = (b_c − μ_c)·γ_c/√(σ²_c + ε) + β_c`. Inference outputs are unchanged (up to float
 * rounding); the caller disposes the result.
 * @example const folded = await foldBatchNorm(teacher);
 */
export async function foldBatchNorm(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  const json = sequentialJSON(model);
  const pairs = new Map(foldablePairs(model).map((p) => [p.layer, p.batchNorm]));
  const bnNames = new Set(pairs.values());
  const newWeights = new Map<string, tf.Tensor[]>();
  try {
    for (let i = 0; i < model.layers.length; i++) {
      const layer = model.layers[i];
      const bnName = pairs.get(layer.name);
      if (bnName == null) continue;
      const bn = model.layers[i + 1];
      const kernelVar = layer.weights.find((v) => /kernel$/.test(v.originalName.split('/').pop() ?? ''));
      if (kernelVar == null) throw new Error(`layer ${layer.name} has no kernel`);
      const kernel = (kernelVar.read().dataSync() as Float32Array).slice();
      const channels = layer.outputShape[layer.outputShape.length - 1] as number;
      const bias = weightByName(layer, 'bias') ?? new Float32Array(channels);
      const gamma = weightByName(bn, 'gamma');
      const beta = weightByName(bn, 'beta');
      const mean = weightByName(bn, 'moving_mean') as Float32Array;
      const variance = weightByName(bn, 'moving_variance') as Float32Array;
      const eps = (bn.getConfig() as {epsilon: number}).epsilon;
      const factor = new Float64Array(channels);
      const newBias = new Float32Array(channels);
      for (let c = 0; c < channels; c++) {
        factor[c] = (gamma?.[c] ?? 1) / Math.sqrt(variance[c] + eps);
        newBias[c] = (bias[c] - mean[c]) * factor[c] + (beta?.[c] ?? 0);
      }
      // The output channel is the kernel's fastest-varying index for all three (DepthwiseConv2D: in·mult).
      for (let k = 0; k < kernel.length; k++) kernel[k] *= factor[k % channels];
      newWeights.set(layer.name, [tf.tensor(kernel, kernelVar.shape as number[]), tf.tensor1d(newBias)]);
      const cfg = json.config.layers.find((l) => l.config.name === layer.name);
      if (cfg) cfg.config.use_bias = true;
    }
    json.config.layers = json.config.layers.filter((l) => !bnNames.has(l.config.name));
    const folded = await fromJSON(json);
    for (const layer of folded.layers) {
      const w = newWeights.get(layer.name);
      layer.setWeights(w ?? model.getLayer(layer.name).getWeights());
    }
    return folded;
  } finally {
    for (const ts of newWeights.values()) tf.dispose(ts);
  }
}
