// The dataset registry and `loadDataset`: where each dataset's files come from (embedded set, a data
// directory, or a verified download into the cache) and the seeded selection of the splits.
import {mkdir, mkdtemp, rename, rm, rmdir, stat} from 'node:fs/promises';
import {homedir} from 'node:os';
import {basename, dirname, join} from 'node:path';

import {createRegistry, UsageError} from '../util/registry.js';
import {CIFAR_SIDE, readCifarBatch} from './cifar.js';
import {checksumAlgorithm, downloadVerified, type Checksum} from './download.js';
import {embeddedMnistSplits} from './embedded_mnist.js';
import {readIdx} from './idx.js';
import {extractTarSafely} from './safe_tar.js';
import {checkLabels, concatByteSplits, selectSplits, type ByteSplit, type Split} from './split.js';

export type DatasetName = 'mnist' | 'fashion-mnist' | 'cifar10';

export interface Dataset {
  readonly name: DatasetName;
  /** `'embedded'`, the data directory, or the cache directory the files were read from. */
  readonly source: string;
  /** Height, width, channels of one image. */
  readonly inputShape: [number, number, number];
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly train: Split;
  /** Held out of the training file when `validationSplit` > 0. */
  readonly validation: Split | null;
  readonly test: Split;
}

export interface LoadOptions {
  /**
   * Directory holding the dataset's standard files: for mnist and fashion-mnist
   * `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
   * `t10k-labels-idx1-ubyte` (each raw or `.gz`); for cifar10 `cifar-10-batches-bin/` (or that
   * directory itself) with `data_batch_1.bin` … `data_batch_5.bin` and `test_batch.bin`.
   * @example {dataDir: '/data/fashion'}
   */
  readonly dataDir?: string;
  /** Where downloads are kept, one subdirectory per dataset. @default $HAFIF_CACHE_DIR or ~/.cache/hafif */
  readonly cacheDir?: string;
  /**
   * Download missing files (into `dataDir` if given, else the cache). For mnist without `dataDir`,
   * `download: true` selects the full 60,000/10,000 MNIST instead of the embedded 10,000 digits.
   * @default true without dataDir (except mnist, which then uses the embedded set), false with one
   */
  readonly download?: boolean;
  /** Replaces the dataset's canonical download address (a mirror, or a local server in tests). */
  readonly baseUrl?: string;
  /**
   * Checksums replacing the published ones, by file name (`train-images-idx3-ubyte.gz`,
   * `cifar-10-binary.tar.gz`): hex MD5 or SHA-256. Only for mirrors serving other bytes, and tests.
   */
  readonly checksums?: Readonly<Record<string, Checksum>>;
  /** At most this many training examples, taken class-balanced after a seeded shuffle. */
  readonly limit?: number;
  /** At most this many test examples, taken class-balanced. */
  readonly testLimit?: number;
  /** Fraction of the training examples held out as `validation`, in [0, 1). @default 0 */
  readonly validationSplit?: number;
  /** Seed of every shuffle and split; the same seed gives the same splits. @default 0 */
  readonly seed?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (msg: string) => void;
}

/** One file of a dataset's canonical download, with its published checksum. */
interface RemoteFile {
  readonly file: string;
  readonly checksum: Checksum;
}

interface Source {
  readonly train: ByteSplit;
  readonly test: ByteSplit;
  readonly source: string;
}

interface LoadContext {
  readonly spec: DatasetSpec;
  readonly options: LoadOptions;
  /** The dataset's subdirectory of the cache. */
  readonly cacheDir: string;
}

interface DatasetSpec {
  readonly name: DatasetName;
  readonly inputShape: [number, number, number];
  readonly classNames: readonly string[];
  readonly baseUrl: string;
  readonly files: readonly RemoteFile[];
  load(ctx: LoadContext): Promise<Source>;
}

const IDX_FILES = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
] as const;

// Checksums: the MD5s published with the datasets (and used by torchvision). MD5 only guards
// against corrupt or wrong files here, which is what it is for; the mirrors are plain HTTP(S).
const MNIST_FILES: RemoteFile[] = [
  {file: 'train-images-idx3-ubyte.gz', checksum: 'f68b3c2dcbeaaa9fbdd348bbdeb94873'},
  {file: 'train-labels-idx1-ubyte.gz', checksum: 'd53e105ee54ea40749a09fcbcd1e9432'},
  {file: 't10k-images-idx3-ubyte.gz', checksum: '9fb629c4189551a2d022fa330f9573f3'},
  {file: 't10k-labels-idx1-ubyte.gz', checksum: 'ec29112dd5afa0611ce80d1b7f02629c'},
];
const FASHION_FILES: RemoteFile[] = [
  {file: 'train-images-idx3-ubyte.gz', checksum: '8d4fb7e6c68d591d4c3dfef9ec88bf0d'},
  {file: 'train-labels-idx1-ubyte.gz', checksum: '25c81989df183df01b3e8a0aad5dffbe'},
  {file: 't10k-images-idx3-ubyte.gz', checksum: 'bef4ecab320f06d8554ea6380940ec79'},
  {file: 't10k-labels-idx1-ubyte.gz', checksum: 'bb300cfdad3c16e7a12a480ee83cd310'},
];
const CIFAR_ARCHIVE = 'cifar-10-binary.tar.gz';
const CIFAR_FILES: RemoteFile[] = [{file: CIFAR_ARCHIVE, checksum: 'c32a1d4ab5d03f1284b67883e8d87530'}];
const CIFAR_DIR = 'cifar-10-batches-bin';
const CIFAR_TRAIN = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
const CIFAR_TEST = 'test_batch.bin';

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The directory files are read from and downloaded into, and whether downloads are allowed. */
function target(ctx: LoadContext): {dir: string; download: boolean} {
  const {dataDir, download} = ctx.options;
  return dataDir !== undefined ? {dir: dataDir, download: download ?? false} : {dir: ctx.cacheDir, download: download ?? true};
}

function remoteFile(ctx: LoadContext, file: string): {url: string; checksum: Checksum} {
  const remote = ctx.spec.files.find((f) => f.file === file);
  if (!remote) throw new Error(`${ctx.spec.name} has no remote file ${file}`);
  const base = ctx.options.baseUrl ?? ctx.spec.baseUrl;
  const url = new URL(file, base.endsWith('/') ? base : `${base}/`).href;
  return {url, checksum: ctx.options.checksums?.[file] ?? remote.checksum};
}

/**
 * Runs `work` with `dir` created; if it fails, removes the directories this call created that are
 * still empty, so a failed download leaves no trace.
 */
async function inCreatedDir<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const created = await mkdir(dir, {recursive: true});
  try {
    return await work();
  } catch (e) {
    if (created !== undefined) {
      // mkdir returned the topmost directory it created; remove from `dir` up to it while empty.
      for (let d = dir; ; d = dirname(d)) {
        if (!(await rmdir(d).then(() => true, () => false)) || d === created || d === dirname(d)) break;
      }
    }
    throw e;
  }
}

async function readIdxSplit(name: string, imagesPath: string, labelsPath: string, side: number): Promise<ByteSplit> {
  const images = await readIdx(imagesPath, {ndim: 3});
  const labels = await readIdx(labelsPath, {ndim: 1});
  const imagesName = basename(imagesPath);
  const labelsName = basename(labelsPath);
  const [n, h, w] = images.dims;
  if (h !== side || w !== side) {
    throw new UsageError(`${imagesName}: expected ${name} images of ${side}x${side}, got ${h}x${w}`);
  }
  if (labels.dims[0] !== n) {
    throw new UsageError(`${labelsName}: ${labels.dims[0]} labels but ${imagesName} holds ${n} images`);
  }
  checkLabels(labels.data, 10, labelsName);
  return {images: images.data, labels: labels.data, count: n};
}

/** MNIST and Fashion-MNIST: four IDX files in one directory, raw or gzipped. */
async function loadIdxDataset(ctx: LoadContext): Promise<Source> {
  const {dir, download} = target(ctx);
  const {signal, onProgress} = ctx.options;
  const found = new Map<string, string>();
  const missing: string[] = [];
  for (const base of IDX_FILES) {
    let path: string | undefined;
    for (const candidate of [base, `${base}.gz`]) {
      if (path === undefined && (await exists(join(dir, candidate)))) path = join(dir, candidate);
    }
    if (path !== undefined) found.set(base, path);
    else missing.push(base);
  }
  if (missing.length > 0) {
    if (!download) {
      const hint = ctx.options.dataDir !== undefined ? 'pass download: true (--download) to fetch it, or ' : '';
      throw new UsageError(
          `${ctx.spec.name}: ${missing[0]} (raw or .gz) not found in ${dir}; ${hint}` +
          `expected ${IDX_FILES.join(', ')}`);
    }
    await inCreatedDir(dir, async () => {
      for (const base of missing) {
        const file = `${base}.gz`;
        const {url, checksum} = remoteFile(ctx, file);
        await downloadVerified(url, join(dir, file), checksum, {signal, onProgress});
        found.set(base, join(dir, file));
      }
    });
  }
  const side = ctx.spec.inputShape[0];
  const train = await readIdxSplit(ctx.spec.name, found.get(IDX_FILES[0])!, found.get(IDX_FILES[1])!, side);
  const test = await readIdxSplit(ctx.spec.name, found.get(IDX_FILES[2])!, found.get(IDX_FILES[3])!, side);
  return {train, test, source: dir};
}

async function loadMnist(ctx: LoadContext): Promise<Source> {
  if (ctx.options.dataDir === undefined && ctx.options.download !== true) {
    return {...(await embeddedMnistSplits(ctx.options.seed ?? 0)), source: 'embedded'};
  }
  return loadIdxDataset(ctx);
}

/** The directory holding the CIFAR batches under `dir` (`dir` itself or its cifar-10-batches-bin/). */
async function cifarBatchDir(dir: string): Promise<string | null> {
  if (await exists(join(dir, CIFAR_TRAIN[0]))) return dir;
  if (await exists(join(dir, CIFAR_DIR))) return join(dir, CIFAR_DIR);
  return null;
}

/** Downloads and safely extracts the CIFAR archive into `dir`/cifar-10-batches-bin. */
async function fetchCifar(ctx: LoadContext, dir: string): Promise<void> {
  const {signal, onProgress} = ctx.options;
  const archive = join(dir, CIFAR_ARCHIVE);
  const {url, checksum} = remoteFile(ctx, CIFAR_ARCHIVE);
  await inCreatedDir(dir, async () => {
    if (!(await exists(archive))) await downloadVerified(url, archive, checksum, {signal, onProgress});
    const tmp = await mkdtemp(join(dir, '.extract-'));
    try {
      onProgress?.(`extracting ${CIFAR_ARCHIVE}`);
      await extractTarSafely(archive, tmp, {signal});
      for (const file of [...CIFAR_TRAIN, CIFAR_TEST]) {
        if (!(await exists(join(tmp, CIFAR_DIR, file)))) {
          throw new UsageError(`${CIFAR_ARCHIVE}: archive lacks ${CIFAR_DIR}/${file}`);
        }
      }
      await rename(join(tmp, CIFAR_DIR), join(dir, CIFAR_DIR));
    } catch (e) {
      // The archive passed its checksum yet is unusable (or the user aborted): drop it all.
      await rm(archive, {force: true});
      throw e;
    } finally {
      await rm(tmp, {recursive: true, force: true});
    }
    await rm(archive, {force: true});
  });
}

async function loadCifar(ctx: LoadContext): Promise<Source> {
  const {dir, download} = target(ctx);
  let batchDir = await cifarBatchDir(dir);
  if (batchDir === null) {
    if (!download) {
      const hint = ctx.options.dataDir !== undefined ? 'pass download: true (--download) to fetch it, or ' : '';
      throw new UsageError(
          `cifar10: ${CIFAR_DIR}/${CIFAR_TRAIN[0]} not found in ${dir}; ${hint}` +
          `extract ${ctx.spec.baseUrl}${CIFAR_ARCHIVE} there`);
    }
    await fetchCifar(ctx, dir);
    batchDir = join(dir, CIFAR_DIR);
  }
  for (const file of [...CIFAR_TRAIN, CIFAR_TEST]) {
    if (!(await exists(join(batchDir, file)))) throw new UsageError(`cifar10: ${file} not found in ${batchDir}`);
  }
  const parts: ByteSplit[] = [];
  for (const file of CIFAR_TRAIN) {
    ctx.options.signal?.throwIfAborted();
    parts.push(await readCifarBatch(join(batchDir, file)));
  }
  const test = await readCifarBatch(join(batchDir, CIFAR_TEST));
  return {train: concatByteSplits(parts), test, source: batchDir};
}

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const datasets = createRegistry<DatasetSpec>('dataset');
datasets.register('mnist', {
  name: 'mnist',
  inputShape: [28, 28, 1],
  classNames: DIGITS,
  baseUrl: 'https://storage.googleapis.com/cvdf-datasets/mnist/',
  files: MNIST_FILES,
  load: loadMnist,
});
datasets.register('fashion-mnist', {
  name: 'fashion-mnist',
  inputShape: [28, 28, 1],
  classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  baseUrl: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
  files: FASHION_FILES,
  load: loadIdxDataset,
});
datasets.register('cifar10', {
  name: 'cifar10',
  inputShape: [CIFAR_SIDE, CIFAR_SIDE, 3],
  classNames: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
  baseUrl: 'https://www.cs.toronto.edu/~kriz/',
  files: CIFAR_FILES,
  load: loadCifar,
});

/** The image shape (height, width, channels) of a dataset `loadDataset` accepts. */
export function datasetInputShape(name: DatasetName): [number, number, number] {
  return [...datasets.get(name).inputShape];
}

/** Names `loadDataset` accepts. */
export function datasetNames(): DatasetName[] {
  return datasets.names() as DatasetName[];
}

/** The default cache directory: $HAFIF_CACHE_DIR or ~/.cache/hafif. */
export function defaultCacheDir(): string {
  return process.env.HAFIF_CACHE_DIR || join(homedir(), '.cache', 'hafif');
}

function checkOptions(spec: DatasetSpec, options: LoadOptions): void {
  const positiveInt = (key: 'limit' | 'testLimit') => {
    const v = options[key];
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) throw new UsageError(`${key} must be a positive integer, got ${v}`);
  };
  positiveInt('limit');
  positiveInt('testLimit');
  const vs = options.validationSplit;
  if (vs !== undefined && !(vs >= 0 && vs < 1)) throw new UsageError(`validationSplit must be in [0, 1), got ${vs}`);
  const seed = options.seed;
  if (seed !== undefined && !(Number.isSafeInteger(seed) && seed >= 0)) {
    throw new UsageError(`seed must be a non-negative integer, got ${seed}`);
  }
  for (const [file, checksum] of Object.entries(options.checksums ?? {})) {
    if (!spec.files.some((f) => f.file === file)) {
      throw new UsageError(`checksums: ${spec.name} has no file "${file}"; expected one of ${spec.files.map((f) => f.file).join(', ')}`);
    }
    checksumAlgorithm(checksum, file);
  }
  if (options.baseUrl !== undefined) {
    let url: URL | null = null;
    try {
      url = new URL(options.baseUrl);
    } catch {
      // reported below
    }
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new UsageError(`baseUrl must be an http(s) URL, got "${options.baseUrl}"`);
    }
  }
}

/**
 * Loads a dataset: mnist defaults to the 10,000 digits embedded in the `mnist` package (8,000
 * train / 2,000 test, stratified and seeded); fashion-mnist and cifar10 default to a verified
 * download into the cache; any of them reads `dataDir` when given.
 * @example const ds = await loadDataset('fashion-mnist', {limit: 10_000, validationSplit: 0.1});
 */
export async function loadDataset(name: string, options: LoadOptions = {}): Promise<Dataset> {
  const spec = datasets.get(name);
  checkOptions(spec, options);
  options.signal?.throwIfAborted();
  if (options.dataDir !== undefined && options.download !== true) {
    const s = await stat(options.dataDir).catch(() => null);
    if (s === null || !s.isDirectory()) throw new UsageError(`${name}: data dir ${options.dataDir} does not exist or is not a directory`);
  }
  const cacheDir = join(options.cacheDir ?? defaultCacheDir(), spec.name);
  const {train, test, source} = await spec.load({spec, options, cacheDir});
  options.signal?.throwIfAborted();
  const selected = selectSplits(train, test, options);
  return {
    name: spec.name,
    source,
    inputShape: [...spec.inputShape],
    numClasses: spec.classNames.length,
    classNames: spec.classNames,
    ...selected,
  };
}
