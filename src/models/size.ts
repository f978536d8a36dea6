import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** Parameter count of one layer. */
export interface LayerSize {
  readonly name: string;
  readonly className: string;
  readonly params: number;
}

/** How big a model is. */
export interface ModelSize {
  /** All weights, including non-trainable ones such as batch norm's moving statistics. */
  readonly params: number;
  readonly trainableParams: number;
  /** Weights that are not exactly zero (pruning's measure). */
  readonly nonZeroParams: number;
  /**
   * Bytes of the weights as saved (weights.bin): 4 per float32 or int32 value, or, given the
   * manifest it was loaded from, what the manifest stores (1 per uint8-quantized value, 2 per
   * uint16 or float16).
   */
  readonly bytes: number;
  readonly layers: readonly LayerSize[];
}

const BYTES_PER_VALUE: Record<string, number> = {float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2};

/** Options of {@link modelSize}. */
export interface ModelSizeOptions {
  /** The weights manifest the model was loaded from; its (quantized) storage dtypes give the bytes. */
  readonly weightSpecs?: readonly tf.io.WeightsManifestEntry[];
}

/**
 * Parameter counts and weight bytes of a model, overall and per layer.
 * @example modelSize(kerasStudent()).params // 20490
 */
export function modelSize(model: tfl.LayersModel, options: ModelSizeOptions = {}): ModelSize {
  let params = 0;
  let trainableParams = 0;
  let nonZeroParams = 0;
  let bytes = 0;
  const layers: LayerSize[] = [];
  for (const layer of model.layers) {
    let layerParams = 0;
    for (const w of layer.weights) {
      const n = w.shape.reduce((a: number, b) => a * (b ?? 0), 1);
      layerParams += n;
      if (w.trainable) trainableParams += n;
      bytes += n * (BYTES_PER_VALUE[w.dtype] ?? 4);
      for (const v of w.read().dataSync()) if (v !== 0) nonZeroParams++;
    }
    params += layerParams;
    layers.push({name: layer.name, className: layer.getClassName(), params: layerParams});
  }
  if (options.weightSpecs != null) {
    bytes = 0;
    for (const spec of options.weightSpecs) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      bytes += n * (BYTES_PER_VALUE[spec.quantization?.dtype ?? spec.dtype] ?? 4);
    }
  }
  return {params, trainableParams, nonZeroParams, bytes, layers};
}

/** `1,433,610`-style thousands separators, for reports. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Bytes as `5.47 MB` (1 MB = 2^20 bytes) or `80.0 KB`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(2)} MB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KB`;
  return `${bytes} B`;
}
