// CIFAR-10 binary batches: records of 1 label byte + 3072 image bytes (1024 red, 1024 green,
// 1024 blue, each 32×32 row-major, i.e. CHW); a full batch holds 10,000 records.
import {readFile} from 'node:fs/promises';
import {basename} from 'node:path';

import {UsageError} from '../util/registry.js';
import {checkLabels, type ByteSplit} from './split.js';

export const CIFAR_SIDE = 32;
export const CIFAR_CHANNELS = 3;
export const CIFAR_PIXELS = CIFAR_SIDE * CIFAR_SIDE;
export const CIFAR_IMAGE_BYTES = CIFAR_PIXELS * CIFAR_CHANNELS;
export const CIFAR_RECORD_BYTES = 1 + CIFAR_IMAGE_BYTES;
/** Records in each of the official batch files. */
export const CIFAR_BATCH_RECORDS = 10_000;

/** Parses a batch into HWC bytes. `name` names the file in errors. */
export function parseCifarBatch(bytes: Uint8Array, name: string): ByteSplit {
  if (bytes.length === 0 || bytes.length % CIFAR_RECORD_BYTES !== 0) {
    throw new UsageError(
        `${name}: truncated, expected a multiple of ${CIFAR_RECORD_BYTES} bytes ` +
        `(${CIFAR_BATCH_RECORDS} records = ${CIFAR_BATCH_RECORDS * CIFAR_RECORD_BYTES} bytes), got ${bytes.length}`);
  }
  const count = bytes.length / CIFAR_RECORD_BYTES;
  const images = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  const labels = new Uint8Array(count);
  for (let r = 0; r < count; r++) {
    const rec = r * CIFAR_RECORD_BYTES;
    labels[r] = bytes[rec];
    const out = r * CIFAR_IMAGE_BYTES;
    for (let c = 0; c < CIFAR_CHANNELS; c++) {
      const plane = rec + 1 + c * CIFAR_PIXELS;
      for (let p = 0; p < CIFAR_PIXELS; p++) images[out + p * CIFAR_CHANNELS + c] = bytes[plane + p];
    }
  }
  checkLabels(labels, 10, name);
  return {images, labels, count};
}

/** Encodes HWC bytes as a CIFAR batch (the inverse of `parseCifarBatch`). */
export function encodeCifarBatch(split: ByteSplit): Uint8Array {
  if (split.images.length !== split.count * CIFAR_IMAGE_BYTES || split.labels.length !== split.count) {
    throw new Error(`CIFAR batch needs ${split.count}×${CIFAR_IMAGE_BYTES} image bytes and ${split.count} labels`);
  }
  const out = new Uint8Array(split.count * CIFAR_RECORD_BYTES);
  for (let r = 0; r < split.count; r++) {
    const rec = r * CIFAR_RECORD_BYTES;
    out[rec] = split.labels[r];
    const src = r * CIFAR_IMAGE_BYTES;
    for (let c = 0; c < CIFAR_CHANNELS; c++) {
      const plane = rec + 1 + c * CIFAR_PIXELS;
      for (let p = 0; p < CIFAR_PIXELS; p++) out[plane + p] = split.images[src + p * CIFAR_CHANNELS + c];
    }
  }
  return out;
}

/** Reads one batch file. */
export async function readCifarBatch(path: string): Promise<ByteSplit> {
  return parseCifarBatch(await readFile(path), basename(path));
}
