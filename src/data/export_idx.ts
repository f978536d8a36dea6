// Writes a dataset's splits as IDX files, so the PyTorch reference
// (`keras_kd_torch.py --data DIR`) trains and tests on exactly the examples hafif uses.
import {mkdir} from 'node:fs/promises';
import {join} from 'node:path';

import type {Dataset} from './datasets.js';
import {writeIdx} from './idx.js';
import type {Split} from './split.js';

export interface ExportIdxOptions {
  /** Gzip the files (`.gz`). @default false */
  readonly gzip?: boolean;
}

/** Pixels in [0, 1] as bytes: round(v × 255), clamped. */
export function toBytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, values[i])) * 255);
  return out;
}

async function writeSplit(dir: string, prefix: string, split: Split, shape: readonly number[], ext: string): Promise<string[]> {
  const [h, w, c] = shape;
  // MNIST layout for one channel (n, h, w); more channels get a fourth dimension (n, h, w, c).
  const dims = c === 1 ? [split.count, h, w] : [split.count, h, w, c];
  const images = join(dir, `${prefix}-images-idx${dims.length}-ubyte${ext}`);
  const labels = join(dir, `${prefix}-labels-idx1-ubyte${ext}`);
  await writeIdx(images, {dims, data: toBytes(split.images)});
  await writeIdx(labels, {dims: [split.count], data: Uint8Array.from(split.labels)});
  return [images, labels];
}

/**
 * Writes `train-*`, `t10k-*` (test) and, when there is one, `val-*` IDX files into `dir` and
 * returns their paths. Images are bytes round(v × 255); for MNIST-like sources that is exactly the
 * original file's bytes.
 * @example await exportIdx(await loadDataset('mnist'), '/tmp/mnist-embedded');
 */
export async function exportIdx(dataset: Dataset, dir: string, options: ExportIdxOptions = {}): Promise<string[]> {
  const ext = options.gzip ? '.gz' : '';
  await mkdir(dir, {recursive: true});
  const written = [
    ...(await writeSplit(dir, 'train', dataset.train, dataset.inputShape, ext)),
    ...(await writeSplit(dir, 't10k', dataset.test, dataset.inputShape, ext)),
  ];
  if (dataset.validation) written.push(...(await writeSplit(dir, 'val', dataset.validation, dataset.inputShape, ext)));
  return written;
}
