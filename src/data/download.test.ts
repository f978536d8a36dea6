// Downloads against a local server on 127.0.0.1 serving files the tests write; no dataset host
// is ever contacted.
import {createHash} from 'node:crypto';
import {existsSync} from 'node:fs';
import {mkdir, readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {gzipSync} from 'node:zlib';

import {afterEach, beforeEach, describe, expect, test} from 'vitest';

import {UsageError} from '../util/registry.js';
import {encodeCifarBatch} from './cifar.js';
import {loadDataset} from './datasets.js';
import {downloadVerified} from './download.js';
import {encodeIdx} from './idx.js';
import {extractTarSafely, unsafeEntryReason} from './safe_tar.js';
import {listFiles, serveFiles, tarArchive, tarEntry, tempDir, type TestServer} from './test_util.js';

let dir: string;
let remove: () => Promise<void>;
let server: TestServer | null = null;
beforeEach(async () => ({dir, remove} = await tempDir()));
afterEach(async () => {
  await server?.close();
  server = null;
  await remove();
});

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The four gzipped IDX files of a tiny MNIST-layout dataset, by name. */
function mnistFiles(n = 20, m = 10): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const [prefix, count] of [['train', n], ['t10k', m]] as const) {
    const labels = Uint8Array.from({length: count}, (_, i) => i % 10);
    const images = Uint8Array.from({length: count * 784}, (_, i) => (i * 7) % 256);
    files.set(`${prefix}-images-idx3-ubyte.gz`, gzipSync(encodeIdx({dims: [count, 28, 28], data: images})));
    files.set(`${prefix}-labels-idx1-ubyte.gz`, gzipSync(encodeIdx({dims: [count], data: labels})));
  }
  return files;
}

const checksumsOf = (files: Map<string, Uint8Array>) => Object.fromEntries([...files].map(([name, b]) => [name, md5(b)]));

describe('downloadVerified', () => {
  test('writes the file only when its checksum matches (MD5 or SHA-256)', async () => {
    const body = Buffer.from('hello idx');
    server = await serveFiles(new Map([['f.bin', body]]));
    const dest = join(dir, 'f.bin');
    await downloadVerified(`${server.baseUrl}f.bin`, dest, sha256(body));
    expect(await readFile(dest, 'utf8')).toBe('hello idx');

    const other = join(dir, 'g.bin');
    const err = await downloadVerified(`${server.baseUrl}f.bin`, other, md5(Buffer.from('other'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(
        new RegExp(`^g\\.bin: checksum mismatch, expected MD5 ${md5(Buffer.from('other'))}, got ${md5(body)} \\(9 bytes from http://127\\.0\\.0\\.1`));
    expect(await listFiles(dir)).toEqual(['f.bin']);
  });

  test('an HTTP error is a usage error naming the URL, leaving nothing behind', async () => {
    server = await serveFiles(new Map());
    const url = `${server.baseUrl}missing.gz`;
    await expect(downloadVerified(url, join(dir, 'missing.gz'), md5(Buffer.from('')))).rejects.toThrow(
        `cannot download ${url}: HTTP 404 Not Found`);
    expect(await listFiles(dir)).toEqual([]);
  });

  test('an unreachable host is a usage error', async () => {
    // Port 1 on 127.0.0.1: connection refused, no network involved.
    await expect(downloadVerified('http://127.0.0.1:1/x.gz', join(dir, 'x.gz'), md5(Buffer.from('')))).rejects.toThrow(
        /^cannot download http:\/\/127\.0\.0\.1:1\/x\.gz: /);
    expect(await listFiles(dir)).toEqual([]);
  });

  test('an aborted download leaves nothing behind', async () => {
    server = await serveFiles(new Map([['f.bin', new Uint8Array(1 << 20)]]));
    const controller = new AbortController();
    controller.abort();
    await expect(downloadVerified(`${server.baseUrl}f.bin`, join(dir, 'f.bin'), md5(Buffer.from('')), {signal: controller.signal}))
        .rejects.toThrow(/abort/i);
    expect(await listFiles(dir)).toEqual([]);
  });
});

describe('dataset downloads into the cache', () => {
  test('fashion-mnist downloads once, verifies and loads from the cache', async () => {
    const files = mnistFiles();
    server = await serveFiles(files);
    const cacheDir = join(dir, 'cache');
    const progress: string[] = [];
    const options = {cacheDir, baseUrl: server.baseUrl, checksums: checksumsOf(files), onProgress: (m: string) => progress.push(m)};
    const ds = await loadDataset('fashion-mnist', options);
    expect(ds.source).toBe(join(cacheDir, 'fashion-mnist'));
    expect([ds.train.count, ds.test.count]).toEqual([20, 10]);
    expect(await listFiles(cacheDir)).toEqual([...files.keys()].map((f) => `fashion-mnist/${f}`).sort());
    expect(progress.some((m) => m.startsWith(`downloading ${server!.baseUrl}train-images-idx3-ubyte.gz`))).toBe(true);
    expect(server.requests.length).toBe(4);
    // Second load: from the cache, no request.
    const again = await loadDataset('fashion-mnist', options);
    expect(server.requests.length).toBe(4);
    expect(Buffer.from(again.test.images.buffer).equals(Buffer.from(ds.test.images.buffer))).toBe(true);
  });

  test('HAFIF_CACHE_DIR is the default cache', async () => {
    const files = mnistFiles();
    server = await serveFiles(files);
    const saved = process.env.HAFIF_CACHE_DIR;
    process.env.HAFIF_CACHE_DIR = join(dir, 'env-cache');
    try {
      const ds = await loadDataset('fashion-mnist', {baseUrl: server.baseUrl, checksums: checksumsOf(files)});
      expect(ds.source).toBe(join(dir, 'env-cache', 'fashion-mnist'));
    } finally {
      if (saved === undefined) delete process.env.HAFIF_CACHE_DIR;
      else process.env.HAFIF_CACHE_DIR = saved;
    }
  });

  test('mnist with download: true fetches the full set instead of the embedded one', async () => {
    const files = mnistFiles(30, 10);
    server = await serveFiles(files);
    const ds = await loadDataset('mnist', {download: true, cacheDir: dir, baseUrl: server.baseUrl, checksums: checksumsOf(files)});
    expect([ds.source, ds.train.count]).toEqual([join(dir, 'mnist'), 30]);
  });

  test('without overrides the published checksums apply, so test files are rejected', async () => {
    server = await serveFiles(mnistFiles());
    const err = await loadDataset('fashion-mnist', {cacheDir: dir, baseUrl: server.baseUrl}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/^train-images-idx3-ubyte\.gz: checksum mismatch, expected MD5 8d4fb7e6c68d591d4c3dfef9ec88bf0d, got /);
    // Nothing in the cache, not even the dataset's directory.
    expect(await listFiles(dir)).toEqual([]);
    expect(existsSync(join(dir, 'fashion-mnist'))).toBe(false);
  });

  test('a mismatch on a later file keeps only the earlier, verified files', async () => {
    const files = mnistFiles();
    server = await serveFiles(files);
    const checksums = {...checksumsOf(files), 't10k-images-idx3-ubyte.gz': md5(Buffer.from('not it'))};
    await expect(loadDataset('fashion-mnist', {cacheDir: dir, baseUrl: server.baseUrl, checksums})).rejects.toThrow(
        /^t10k-images-idx3-ubyte\.gz: checksum mismatch/);
    expect(await listFiles(dir)).toEqual(['fashion-mnist/train-images-idx3-ubyte.gz', 'fashion-mnist/train-labels-idx1-ubyte.gz']);
    // The next attempt (right checksum) downloads only what is missing.
    const before = server.requests.length;
    await loadDataset('fashion-mnist', {cacheDir: dir, baseUrl: server.baseUrl, checksums: checksumsOf(files)});
    expect(server.requests.slice(before)).toEqual(['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']);
  });

  test('a dataDir is filled only with download: true', async () => {
    const files = mnistFiles();
    server = await serveFiles(files);
    const options = {dataDir: dir, baseUrl: server.baseUrl, checksums: checksumsOf(files)};
    await expect(loadDataset('fashion-mnist', options)).rejects.toThrow(/train-images-idx3-ubyte \(raw or \.gz\) not found/);
    expect(server.requests).toEqual([]);
    const ds = await loadDataset('fashion-mnist', {...options, download: true});
    expect(ds.source).toBe(dir);
  });
});

/** A cifar-10-binary.tar.gz with tiny batches (3 records each, 4 in test) plus `extra` entries. */
function cifarArchive(extra: Uint8Array[] = [], skip?: string): Uint8Array {
  const batch = (count: number) => {
    const labels = Uint8Array.from({length: count}, (_, i) => (i * 3) % 10);
    return encodeCifarBatch({images: Uint8Array.from({length: count * 3072}, (_, i) => i % 251), labels, count});
  };
  const names = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
  const entries = [tarEntry('cifar-10-batches-bin/', undefined, '5')];
  for (const name of names) {
    if (name !== skip) entries.push(tarEntry(`cifar-10-batches-bin/${name}`, batch(name === 'test_batch.bin' ? 4 : 3)));
  }
  entries.push(tarEntry('cifar-10-batches-bin/batches.meta.txt', Buffer.from('airplane\nautomobile\n')));
  return gzipSync(tarArchive([...entries, ...extra]));
}

describe('cifar10 download and extraction', () => {
  test('downloads, extracts into the cache, removes the archive, then loads without network', async () => {
    const archive = cifarArchive();
    server = await serveFiles(new Map([['cifar-10-binary.tar.gz', archive]]));
    const options = {cacheDir: dir, baseUrl: server.baseUrl, checksums: {'cifar-10-binary.tar.gz': sha256(archive)}};
    const ds = await loadDataset('cifar10', options);
    expect([ds.train.count, ds.test.count]).toEqual([15, 4]);
    expect(ds.source).toBe(join(dir, 'cifar10', 'cifar-10-batches-bin'));
    expect(await listFiles(dir)).toEqual([
      'cifar10/cifar-10-batches-bin/batches.meta.txt',
      'cifar10/cifar-10-batches-bin/data_batch_1.bin',
      'cifar10/cifar-10-batches-bin/data_batch_2.bin',
      'cifar10/cifar-10-batches-bin/data_batch_3.bin',
      'cifar10/cifar-10-batches-bin/data_batch_4.bin',
      'cifar10/cifar-10-batches-bin/data_batch_5.bin',
      'cifar10/cifar-10-batches-bin/test_batch.bin',
    ]);
    await loadDataset('cifar10', options);
    expect(server.requests).toEqual(['cifar-10-binary.tar.gz']);
  });

  test('a checksum mismatch leaves the cache empty', async () => {
    server = await serveFiles(new Map([['cifar-10-binary.tar.gz', cifarArchive()]]));
    await expect(loadDataset('cifar10', {cacheDir: dir, baseUrl: server.baseUrl})).rejects.toThrow(
        /^cifar-10-binary\.tar\.gz: checksum mismatch, expected MD5 c32a1d4ab5d03f1284b67883e8d87530/);
    expect(await listFiles(dir)).toEqual([]);
  });

  test('an archive lacking a batch is refused and removed', async () => {
    const archive = cifarArchive([], 'data_batch_4.bin');
    server = await serveFiles(new Map([['cifar-10-binary.tar.gz', archive]]));
    await expect(loadDataset('cifar10', {cacheDir: dir, baseUrl: server.baseUrl, checksums: {'cifar-10-binary.tar.gz': md5(archive)}}))
        .rejects.toThrow('cifar-10-binary.tar.gz: archive lacks cifar-10-batches-bin/data_batch_4.bin');
    expect(await listFiles(dir)).toEqual([]);
  });

  test.each([
    ['a ".." path', tarEntry('cifar-10-batches-bin/../../evil.bin', Buffer.from('pwned')), '"cifar-10-batches-bin/../../evil.bin" (".." in path)'],
    ['an absolute path', tarEntry(`/tmp/hafif-evil-${process.pid}.bin`, Buffer.from('pwned')), `"/tmp/hafif-evil-${process.pid}.bin" (absolute path)`],
    ['a symlink', tarEntry('cifar-10-batches-bin/link', undefined, '2', '/etc/passwd'), '"cifar-10-batches-bin/link" -> "/etc/passwd" (SymbolicLink entries are not allowed)'],
    ['a hard link', tarEntry('cifar-10-batches-bin/hard', undefined, '1', '/etc/passwd'), '"cifar-10-batches-bin/hard" -> "/etc/passwd" (Link entries are not allowed)'],
  ])('tar slip: %s is refused, nothing is written anywhere', async (_what, evil, described) => {
    // The evil entry alone, and after a complete set of batches (which must not be used either).
    for (const bytes of [gzipSync(tarArchive([evil])), cifarArchive([evil])]) {
      await server?.close();
      server = await serveFiles(new Map([['cifar-10-binary.tar.gz', bytes]]));
      const cacheDir = join(dir, 'cache');
      const err = await loadDataset('cifar10', {cacheDir, baseUrl: server.baseUrl, checksums: {'cifar-10-binary.tar.gz': md5(bytes)}})
          .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toContain(`unsafe tar entry ${described}; refusing to use this archive`);
      expect(await listFiles(dir)).toEqual([]);
    }
    expect(existsSync(join(dir, 'evil.bin'))).toBe(false);
    expect(existsSync(`/tmp/hafif-evil-${process.pid}.bin`)).toBe(false);
  });

  test('extractTarSafely writes regular files and directories only', async () => {
    const good = gzipSync(tarArchive([tarEntry('a/', undefined, '5'), tarEntry('a/b.txt', Buffer.from('b'))]));
    const archive = join(dir, 'good.tar.gz');
    await writeFile(archive, good);
    await mkdir(join(dir, 'out'));
    await extractTarSafely(archive, join(dir, 'out'));
    expect(await readFile(join(dir, 'out', 'a', 'b.txt'), 'utf8')).toBe('b');
  });

  test('unsafeEntryReason', () => {
    expect(unsafeEntryReason('a/b.bin', 'File')).toBeNull();
    expect(unsafeEntryReason('a/', 'Directory')).toBeNull();
    expect(unsafeEntryReason('a/..b/c', 'File')).toBeNull();
    expect(unsafeEntryReason('a\\..\\c', 'File')).toBe('".." in path');
    expect(unsafeEntryReason('C:\\x', 'File')).toBe('absolute path');
    expect(unsafeEntryReason('fifo', 'FIFO')).toBe('FIFO entries are not allowed');
  });
});
