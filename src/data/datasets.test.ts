import {mkdir, rm, writeFile} from 'node:fs/promises';
import {join} from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';

import {UsageError} from '../util/registry.js';
import {encodeCifarBatch} from './cifar.js';
import {loadDataset, type LoadOptions} from './datasets.js';
import {encodeIdx, writeIdx} from './idx.js';
import type {Split} from './split.js';
import {toTensors} from './tensors.js';
import {tempDir} from './test_util.js';

let dir: string;
let remove: () => Promise<void>;
beforeEach(async () => ({dir, remove} = await tempDir()));
afterEach(async () => remove());

const histogram = (labels: Int32Array) => {
  const h = new Array<number>(10).fill(0);
  for (const l of labels) h[l]++;
  return h;
};
/** One string per image, to compare sets of examples. */
const fingerprints = (s: Split) => {
  const size = s.images.length / s.count;
  return Array.from({length: s.count}, (_, i) => Buffer.from(s.images.buffer, i * size * 4, size * 4).toString('base64'));
};

/** Byte equality of typed arrays (vitest's deep equality is slow on millions of elements). */
const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('embedded mnist', () => {
  test('8,000 train / 2,000 test, stratified per class, disjoint, values k/255', async () => {
    const ds = await loadDataset('mnist');
    expect(ds.source).toBe('embedded');
    expect(ds.inputShape).toEqual([28, 28, 1]);
    expect(ds.numClasses).toBe(10);
    expect(ds.train.count).toBe(8000);
    expect(ds.test.count).toBe(2000);
    expect(ds.train.images.length).toBe(8000 * 784);
    expect(ds.validation).toBeNull();
    // Class sizes of the package: 1001 1127 991 1032 980 863 1014 1070 944 978. Their 20% shares
    // 200.2 225.4 198.2 206.4 196 172.6 202.8 214 188.8 195.6 floor to 1996; the 4 largest
    // remainders (.8 of classes 6 and 8, .6 of 5 and 9) get one more each.
    expect(histogram(ds.test.labels)).toEqual([200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
    expect(histogram(ds.train.labels)).toEqual([801, 902, 793, 826, 784, 690, 811, 856, 755, 782]);
    const all = new Set([...fingerprints(ds.train), ...fingerprints(ds.test)]);
    expect(all.size).toBe(10_000);
    let bad = 0;
    let max = 0;
    for (const v of ds.train.images) {
      const k = Math.round(v * 255);
      if (!(v >= 0 && v <= 1) || Math.fround(k / 255) !== v) bad++;
      max = Math.max(max, v);
    }
    expect(bad).toBe(0);
    expect(max).toBe(1);
  });

  test('the same seed gives the same split, another seed another split', async () => {
    const a = await loadDataset('mnist', {seed: 3});
    const b = await loadDataset('mnist', {seed: 3});
    const c = await loadDataset('mnist', {seed: 4});
    expect(sameBytes(b.test.images, a.test.images)).toBe(true);
    expect(sameBytes(b.train.images, a.train.images)).toBe(true);
    expect(sameBytes(b.train.labels, a.train.labels)).toBe(true);
    expect(sameBytes(c.train.labels, a.train.labels)).toBe(false);
    expect(new Set(fingerprints(c.test))).not.toEqual(new Set(fingerprints(a.test)));
  });

  test('limit, validationSplit and testLimit', async () => {
    const ds = await loadDataset('mnist', {limit: 1000, validationSplit: 0.1, testLimit: 500, seed: 1});
    expect([ds.train.count, ds.validation?.count, ds.test.count]).toEqual([900, 100, 500]);
    for (const h of [histogram(ds.validation!.labels), histogram(ds.test.labels)]) {
      const n = h.reduce((a, b) => a + b, 0);
      // Each class is about 10% of MNIST: a class-balanced pick strays by a couple of examples.
      for (const count of h) expect(Math.abs(count - n / 10)).toBeLessThan(n / 30 + 3);
    }
    const train = new Set(fingerprints(ds.train));
    expect(fingerprints(ds.validation!).some((f) => train.has(f))).toBe(false);
  });

  test('toTensors gives NHWC float32 and int32 labels, and checks the shape', async () => {
    const ds = await loadDataset('mnist', {limit: 64});
    const before = tf.memory().numTensors;
    const {x, y} = toTensors(ds.train, ds.inputShape);
    expect(x.shape).toEqual([64, 28, 28, 1]);
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.dataSync())).toEqual(Array.from(ds.train.labels));
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => toTensors(ds.train, [32, 32, 3])).toThrow(
        new UsageError('input shape [32, 32, 3] needs 3072 values per image, the data has 784'));
  });
});

describe('option errors quote the value', () => {
  test.each<[string, LoadOptions, string]>([
    ['mnist', {limit: 0}, 'limit must be a positive integer, got 0'],
    ['mnist', {limit: 2.5}, 'limit must be a positive integer, got 2.5'],
    ['mnist', {testLimit: -1}, 'testLimit must be a positive integer, got -1'],
    ['mnist', {validationSplit: 1}, 'validationSplit must be in [0, 1), got 1'],
    ['mnist', {validationSplit: Number.NaN}, 'validationSplit must be in [0, 1), got NaN'],
    ['mnist', {seed: 1.5}, 'seed must be a non-negative integer, got 1.5'],
    ['mnist', {checksums: {'x.gz': 'ab'}}, 'checksums: mnist has no file "x.gz"; expected one of train-images-idx3-ubyte.gz'],
    ['cifar10', {checksums: {'cifar-10-binary.tar.gz': 'xyz'}}, 'checksum of cifar-10-binary.tar.gz must be a hex MD5'],
    ['mnist', {baseUrl: 'ftp://x/'}, 'baseUrl must be an http(s) URL, got "ftp://x/"'],
    ['imagenet', {}, 'unknown dataset "imagenet"; expected one of mnist, fashion-mnist, cifar10'],
  ])('%s %o', async (name, options, message) => {
    const err = await loadDataset(name, options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message.startsWith(message)).toBe(true);
  });
});

/** Writes a tiny MNIST-layout directory: n train and m test images whose pixel 0 is the label×10. */
async function writeMnistDir(d: string, n: number, m: number, gz: boolean): Promise<void> {
  const ext = gz ? '.gz' : '';
  for (const [prefix, count] of [['train', n], ['t10k', m]] as const) {
    const labels = Uint8Array.from({length: count}, (_, i) => i % 10);
    const images = new Uint8Array(count * 784);
    labels.forEach((l, i) => (images[i * 784] = l * 10));
    await writeIdx(join(d, `${prefix}-images-idx3-ubyte${ext}`), {dims: [count, 28, 28], data: images});
    await writeIdx(join(d, `${prefix}-labels-idx1-ubyte${ext}`), {dims: [count], data: labels});
  }
}

describe('IDX data directory', () => {
  test.each([['raw', false], ['gzip', true]])('reads %s files', async (_kind, gz) => {
    await writeMnistDir(dir, 40, 20, gz);
    const ds = await loadDataset('fashion-mnist', {dataDir: dir});
    expect(ds.source).toBe(dir);
    expect(ds.classNames[9]).toBe('Ankle boot');
    expect([ds.train.count, ds.test.count]).toEqual([40, 20]);
    // Pixel 0 encodes the label: labels stayed with their images through the shuffle.
    for (let i = 0; i < ds.train.count; i++) expect(Math.round(ds.train.images[i * 784] * 255)).toBe(ds.train.labels[i] * 10);
    // Test keeps file order.
    expect(Array.from(ds.test.labels)).toEqual(Array.from({length: 20}, (_, i) => i % 10));
  });

  test('mnist with a dataDir reads it instead of the embedded set', async () => {
    await writeMnistDir(dir, 30, 10, true);
    const ds = await loadDataset('mnist', {dataDir: dir});
    expect([ds.source, ds.train.count, ds.test.count]).toEqual([dir, 30, 10]);
  });

  test('a missing file is named with the directory', async () => {
    await writeMnistDir(dir, 10, 10, false);
    await rm(join(dir, 't10k-labels-idx1-ubyte'));
    await expect(loadDataset('fashion-mnist', {dataDir: dir})).rejects.toThrow(
        `fashion-mnist: t10k-labels-idx1-ubyte (raw or .gz) not found in ${dir}; pass download: true`);
  });

  test('a missing directory is a usage error', async () => {
    await expect(loadDataset('mnist', {dataDir: join(dir, 'nope')})).rejects.toThrow(
        `mnist: data dir ${join(dir, 'nope')} does not exist or is not a directory`);
  });

  test('a truncated file is named with the expected size', async () => {
    await writeMnistDir(dir, 10, 10, false);
    const full = encodeIdx({dims: [10, 28, 28], data: new Uint8Array(7840)});
    await writeFile(join(dir, 'train-images-idx3-ubyte'), full.subarray(0, 1024));
    await expect(loadDataset('mnist', {dataDir: dir})).rejects.toThrow(
        'train-images-idx3-ubyte: truncated, expected 7856 bytes, got 1024 (dimensions 10x28x28)');
  });

  test('images and labels that disagree, or images of the wrong size, are errors', async () => {
    await writeMnistDir(dir, 10, 10, false);
    await writeIdx(join(dir, 'train-labels-idx1-ubyte'), {dims: [9], data: new Uint8Array(9)});
    await expect(loadDataset('mnist', {dataDir: dir})).rejects.toThrow(
        'train-labels-idx1-ubyte: 9 labels but train-images-idx3-ubyte holds 10 images');
    await writeIdx(join(dir, 'train-images-idx3-ubyte'), {dims: [9, 32, 32], data: new Uint8Array(9 * 1024)});
    await expect(loadDataset('mnist', {dataDir: dir})).rejects.toThrow(
        'train-images-idx3-ubyte: expected mnist images of 28x28, got 32x32');
  });
});

/** A CIFAR batch of `count` records: label i % 10, red plane all (label × 20). */
function cifarBatch(count: number): Uint8Array {
  const labels = Uint8Array.from({length: count}, (_, i) => i % 10);
  const images = new Uint8Array(count * 3072);
  labels.forEach((l, i) => {
    for (let p = 0; p < 1024; p++) images[i * 3072 + p * 3] = l * 20;
  });
  return encodeCifarBatch({images, labels, count});
}

describe('CIFAR-10 data directory', () => {
  async function writeCifarDir(d: string): Promise<void> {
    await mkdir(d, {recursive: true});
    for (let b = 1; b <= 5; b++) await writeFile(join(d, `data_batch_${b}.bin`), cifarBatch(4));
    await writeFile(join(d, 'test_batch.bin'), cifarBatch(6));
  }

  test('reads cifar-10-batches-bin/ under the data dir, HWC in [0, 1]', async () => {
    await writeCifarDir(join(dir, 'cifar-10-batches-bin'));
    const ds = await loadDataset('cifar10', {dataDir: dir});
    expect(ds.source).toBe(join(dir, 'cifar-10-batches-bin'));
    expect(ds.inputShape).toEqual([32, 32, 3]);
    expect([ds.train.count, ds.test.count]).toEqual([20, 6]);
    for (let i = 0; i < ds.train.count; i++) {
      const at = i * 3072 + 5 * 3; // pixel 5: red = label × 20 / 255, green = blue = 0
      expect([...ds.train.images.subarray(at, at + 3)]).toEqual([Math.fround((ds.train.labels[i] * 20) / 255), 0, 0]);
    }
  });

  test('accepts the batch directory itself, and names a truncated batch', async () => {
    await writeCifarDir(dir);
    expect((await loadDataset('cifar10', {dataDir: dir})).train.count).toBe(20);
    await writeFile(join(dir, 'data_batch_3.bin'), cifarBatch(2).subarray(0, 3000));
    await expect(loadDataset('cifar10', {dataDir: dir})).rejects.toThrow(
        'data_batch_3.bin: truncated, expected a multiple of 3073 bytes (10000 records = 30730000 bytes), got 3000');
  });

  test('a missing batch is named with the directory', async () => {
    await writeCifarDir(dir);
    await rm(join(dir, 'test_batch.bin'));
    await expect(loadDataset('cifar10', {dataDir: dir})).rejects.toThrow(`cifar10: test_batch.bin not found in ${dir}`);
  });
});
