import {readdir} from 'node:fs/promises';
import {join} from 'node:path';

import {afterEach, beforeEach, expect, test} from 'vitest';

import {loadDataset} from './datasets.js';
import {exportIdx, toBytes} from './export_idx.js';
import {readIdx} from './idx.js';
import {tempDir} from './test_util.js';

let dir: string;
let remove: () => Promise<void>;
beforeEach(async () => ({dir, remove} = await tempDir()));
afterEach(async () => remove());

const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

test('toBytes rounds and clamps', () => {
  expect([...toBytes(Float32Array.of(0, 1 / 255, 0.5, 1, 1.2, -0.1))]).toEqual([0, 1, 128, 255, 255, 0]);
});

test.each([['raw', false], ['gzip', true]])('the embedded split round-trips through %s IDX files exactly', async (_kind, gzip) => {
  const ds = await loadDataset('mnist', {seed: 7, validationSplit: 0.25, limit: 400});
  const written = await exportIdx(ds, dir, {gzip});
  const ext = gzip ? '.gz' : '';
  const names = ['train', 't10k', 'val'].flatMap((p) => [`${p}-images-idx3-ubyte${ext}`, `${p}-labels-idx1-ubyte${ext}`]);
  expect(written.map((p) => p.slice(dir.length + 1)).sort()).toEqual([...names].sort());
  expect((await readdir(dir)).sort()).toEqual([...names].sort());

  // Byte for byte: every exported pixel b satisfies fround(b / 255) === the value hafif trains on.
  for (const [prefix, split] of [['train', ds.train], ['t10k', ds.test], ['val', ds.validation!]] as const) {
    const images = await readIdx(join(dir, `${prefix}-images-idx3-ubyte${ext}`), {ndim: 3});
    const labels = await readIdx(join(dir, `${prefix}-labels-idx1-ubyte${ext}`), {ndim: 1});
    expect(images.dims).toEqual([split.count, 28, 28]);
    expect(sameBytes(Float32Array.from(images.data, (b) => b / 255), split.images)).toBe(true);
    expect(Array.from(labels.data)).toEqual(Array.from(split.labels));
  }

  // Loading the directory back gives the same test split (file order) and the same train examples.
  const back = await loadDataset('mnist', {dataDir: dir});
  expect([back.train.count, back.test.count]).toEqual([300, 2000]);
  expect(sameBytes(back.test.images, ds.test.images)).toBe(true);
  const key = (images: Float32Array, i: number) => Buffer.from(images.buffer, i * 784 * 4, 784 * 4).toString('base64');
  const original = new Set(Array.from({length: ds.train.count}, (_, i) => key(ds.train.images, i)));
  expect(Array.from({length: back.train.count}, (_, i) => key(back.train.images, i)).every((k) => original.has(k))).toBe(true);
});
