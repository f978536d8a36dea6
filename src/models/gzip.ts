import {gzipSync} from 'node:zlib';
import type * as tfl from '@tensorflow/tfjs-layers';

/**
 * Bytes of the model's weights as saved (every weight's values in order, as in `weights.bin`)
 * after gzip at its default level: what downloading the model costs when served compressed.
 * Pruned zeros and quantized values shrink this; float32 noise barely does.
 */
export function weightsGzipBytes(model: tfl.LayersModel): number {
  const parts = model.getWeights().map((w) => {
    const d = w.dataSync();
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  });
  const total = parts.reduce((s, p) => s + p.length, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return gzipSync(all).length;
}
