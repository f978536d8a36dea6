import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';

import {afterEach, beforeEach, describe, expect, test} from 'vitest';

import {UsageError} from '../util/registry.js';
import {CIFAR_RECORD_BYTES, encodeCifarBatch, parseCifarBatch, readCifarBatch} from './cifar.js';
import {tempDir} from './test_util.js';

let dir: string;
let remove: () => Promise<void>;
beforeEach(async () => ({dir, remove} = await tempDir()));
afterEach(async () => remove());

/** Two records written by hand in the file layout: label, then 1024 red, 1024 green, 1024 blue bytes. */
function handWrittenBatch(): Uint8Array {
  const bytes = new Uint8Array(2 * CIFAR_RECORD_BYTES);
  for (let r = 0; r < 2; r++) {
    const rec = r * CIFAR_RECORD_BYTES;
    bytes[rec] = r === 0 ? 3 : 9;
    for (let p = 0; p < 1024; p++) {
      bytes[rec + 1 + p] = (p + r) % 256; // red
      bytes[rec + 1 + 1024 + p] = 100 + r; // green
      bytes[rec + 1 + 2048 + p] = 255 - (p % 256); // blue
    }
  }
  return bytes;
}

describe('CIFAR-10 binary batches', () => {
  test('CHW records become HWC images', () => {
    const {images, labels, count} = parseCifarBatch(handWrittenBatch(), 'data_batch_1.bin');
    expect(count).toBe(2);
    expect([...labels]).toEqual([3, 9]);
    // Record 1, pixel (row 1, col 2) = p 34: red (34+1), green 101, blue 255-34, at HWC offset 3072 + 34×3.
    const at = 3072 + 34 * 3;
    expect([...images.subarray(at, at + 3)]).toEqual([35, 101, 221]);
    // Record 0, pixel 0.
    expect([...images.subarray(0, 3)]).toEqual([0, 100, 255]);
  });

  test('encode is the inverse of parse', () => {
    const bytes = handWrittenBatch();
    expect(encodeCifarBatch(parseCifarBatch(bytes, 'x'))).toEqual(bytes);
  });

  test('a truncated batch names the expected sizes', async () => {
    const path = join(dir, 'test_batch.bin');
    await writeFile(path, handWrittenBatch().subarray(0, 5000));
    const err = await readCifarBatch(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(
        'test_batch.bin: truncated, expected a multiple of 3073 bytes (10000 records = 30730000 bytes), got 5000');
  });

  test('an empty batch is an error', () => {
    expect(() => parseCifarBatch(new Uint8Array(0), 'e.bin')).toThrow(/e\.bin: truncated.*got 0/);
  });

  test('a label above 9 is an error naming the record', () => {
    const bytes = handWrittenBatch();
    bytes[CIFAR_RECORD_BYTES] = 10;
    expect(() => parseCifarBatch(bytes, 'data_batch_2.bin')).toThrow(
        'data_batch_2.bin: label 10 at index 1 is out of range, expected 0..9');
  });
});
