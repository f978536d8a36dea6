import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {gzipSync} from 'node:zlib';

import {afterEach, beforeEach, describe, expect, test} from 'vitest';

import {UsageError} from '../util/registry.js';
import {encodeIdx, parseIdx, readIdx, writeIdx} from './idx.js';
import {tempDir} from './test_util.js';

let dir: string;
let remove: () => Promise<void>;
beforeEach(async () => ({dir, remove} = await tempDir()));
afterEach(async () => remove());

const images = {dims: [2, 3, 2], data: Uint8Array.from({length: 12}, (_, i) => i * 20)};

describe('IDX format', () => {
  test('encodes the header byte for byte', () => {
    const bytes = encodeIdx({dims: [2, 3], data: Uint8Array.of(1, 2, 3, 4, 5, 6)});
    // magic 0x00000802 (ubyte, 2 dims), dims 2 and 3 big-endian, then the data.
    expect([...bytes]).toEqual([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]);
  });

  test.each([['raw', 'x-idx3-ubyte'], ['gzip', 'x-idx3-ubyte.gz']])('round-trips %s files', async (_kind, name) => {
    const path = join(dir, name);
    await writeIdx(path, images);
    const onDisk = await readFile(path);
    expect(onDisk[0] === 0x1f && onDisk[1] === 0x8b).toBe(name.endsWith('.gz'));
    const back = await readIdx(path, {ndim: 3});
    expect(back.dims).toEqual([2, 3, 2]);
    expect([...back.data]).toEqual([...images.data]);
  });

  test('gzip is detected by content, not by extension', async () => {
    const path = join(dir, 'labels-idx1-ubyte');
    await writeFile(path, gzipSync(encodeIdx({dims: [3], data: Uint8Array.of(7, 8, 9)})));
    expect([...(await readIdx(path)).data]).toEqual([7, 8, 9]);
  });
});

describe('IDX errors name the file, the expectation and the value', () => {
  test('truncated data', () => {
    // The real MNIST train images: 16 header bytes + 60000×28×28 = 47,040,016 bytes.
    const header = encodeIdx({dims: [60000, 28, 28], data: new Uint8Array(60000 * 784)}).subarray(0, 1024);
    expect(() => parseIdx(header, 'train-images-idx3-ubyte')).toThrow(
        new UsageError('train-images-idx3-ubyte: truncated, expected 47040016 bytes, got 1024 (dimensions 60000x28x28)'));
  });

  test('truncated header', () => {
    expect(() => parseIdx(Uint8Array.of(0, 0, 8, 3, 0, 0), 'a')).toThrow(/a: truncated, expected at least 16 bytes of IDX header, got 6/);
    expect(() => parseIdx(Uint8Array.of(0, 0), 'a')).toThrow(/a: truncated, expected at least 4 bytes/);
  });

  test('trailing bytes', () => {
    const bytes = Buffer.concat([encodeIdx({dims: [2], data: Uint8Array.of(1, 2)}), Uint8Array.of(0)]);
    expect(() => parseIdx(bytes, 'l')).toThrow('l: trailing data, expected 10 bytes, got 11');
  });

  test('wrong magic', () => {
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0);
    expect(() => parseIdx(png, 'train-labels-idx1-ubyte')).toThrow(
        'train-labels-idx1-ubyte: bad magic 0x89504e47, expected 0x000008NN');
    // Float elements (type 0x0D) are not unsigned bytes.
    expect(() => parseIdx(Uint8Array.of(0, 0, 0x0d, 1, 0, 0, 0, 0), 'f')).toThrow('f: bad magic 0x00000d01');
  });

  test('labels where images were expected', async () => {
    const path = join(dir, 'train-images-idx3-ubyte.gz');
    await writeIdx(path, {dims: [3], data: Uint8Array.of(1, 2, 3)});
    const err = await readIdx(path, {ndim: 3}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(
        'train-images-idx3-ubyte.gz: bad magic 0x00000801, expected 0x00000803; not an IDX file of unsigned bytes');
  });

  test('truncated gzip stream', async () => {
    const path = join(dir, 't10k-images-idx3-ubyte.gz');
    const gz = gzipSync(encodeIdx(images));
    await writeFile(path, gz.subarray(0, gz.length - 10));
    await expect(readIdx(path)).rejects.toThrow(/^t10k-images-idx3-ubyte\.gz: corrupt gzip data/);
  });

  test('truncated inside a gzip file: the size check applies to the decompressed bytes', async () => {
    const path = join(dir, 't10k-images-idx3-ubyte.gz');
    await writeFile(path, gzipSync(encodeIdx(images).subarray(0, 20)));
    await expect(readIdx(path)).rejects.toThrow('t10k-images-idx3-ubyte.gz: truncated, expected 28 bytes, got 20');
  });

  test('missing file', async () => {
    await expect(readIdx(join(dir, 'nope-idx1-ubyte'))).rejects.toThrow(UsageError);
  });

  test('the writer refuses data that does not match its dimensions', async () => {
    await expect(writeIdx(join(dir, 'x'), {dims: [2, 2], data: new Uint8Array(3)})).rejects.toThrow(
        'IDX dimensions 2x2 hold 4 bytes, data has 3');
  });
});
