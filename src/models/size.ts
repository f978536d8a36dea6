import {gzipSync} from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
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
  /** Bytes of the weights as saved (weights.bin): 4 per float32 or int32 value. */
  readonly bytes: number;
  readonly layers: readonly LayerSize[];
}

const BYTES_PER_VALUE: Record<string, number> = {float32: 4, int32: 4, bool: 1};

/**
 * Parameter counts and weight bytes of a model, overall and per layer.
 * @example modelSize(kerasStudent()).params // 20490
 */
export function modelSize(model: tfl.LayersModel): ModelSize {
  let params = 0;
  let trainableParams = 0;
  let bytes = 0;
  const layers: LayerSize[] = [];
  for (const layer of model.layers) {
    let layerParams = 0;
    for (const w of layer.weights) {
      const n = w.shape.reduce((a: number, b) => a * (b ?? 0), 1);
      layerParams += n;
      if (w.trainable) trainableParams += n;
      bytes += n * (BYTES_PER_VALUE[w.dtype] ?? 4);
    }
    params += layerParams;
    layers.push({name: layer.name, className: layer.getClassName(), params: layerParams});
  }
  return {params, trainableParams, bytes, layers};
}

/**
 * Bytes of the saved model (model.json and weights.bin) after gzip, file by file, as a web
 * server with gzip content-encoding sends them: zeros left by pruning compress away.
 * @example const bytes = await gzipBytes(model);
 */
export async function gzipBytes(model: tfl.LayersModel): Promise<number> {
  let total = 0;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData == null ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const json = JSON.stringify({
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{paths: ['weights.bin'], weights: artifacts.weightSpecs ?? []}],
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
      });
      total = gzipSync(new Uint8Array(weights)).length + gzipSync(json).length;
      return {modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts)};
    }),
  );
  return total;
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
