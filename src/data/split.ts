// Splits as loaded (bytes) and as handed out (float32), and the seeded selection between them.
import {deriveSeed, mulberry32, shuffleInPlace, type Rng} from '../util/random.js';
import {UsageError} from '../util/registry.js';

/** Images NHWC float32 in [0, 1] and int32 labels. */
export interface Split {
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
}

/** A split as stored on disk: NHWC unsigned bytes (pixel = byte / 255) and byte labels. */
export interface ByteSplit {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/** Concatenates byte splits of the same image size. */
export function concatByteSplits(parts: readonly ByteSplit[]): ByteSplit {
  const count = parts.reduce((n, p) => n + p.count, 0);
  const images = new Uint8Array(parts.reduce((n, p) => n + p.images.length, 0));
  const labels = new Uint8Array(count);
  let io = 0;
  let lo = 0;
  for (const p of parts) {
    images.set(p.images, io);
    labels.set(p.labels, lo);
    io += p.images.length;
    lo += p.count;
  }
  return {images, labels, count};
}

/** Checks every label is below `numClasses`; `name` names the file in the error. */
export function checkLabels(labels: Uint8Array, numClasses: number, name: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= numClasses) {
      throw new UsageError(`${name}: label ${labels[i]} at index ${i} is out of range, expected 0..${numClasses - 1}`);
    }
  }
}

/** b / 255 as float32, the value of byte b (the same as numpy's `uint8 / 255.0` cast to float32). */
const BYTE_TO_UNIT = Float32Array.from({length: 256}, (_, b) => b / 255);

/** The examples `indices` of `split` as float32 in [0, 1]. */
export function materialize(split: ByteSplit, indices: ArrayLike<number>): Split {
  const size = split.count === 0 ? 0 : split.images.length / split.count;
  const count = indices.length;
  const images = new Float32Array(count * size);
  const labels = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    const i = indices[k];
    const src = i * size;
    const dst = k * size;
    for (let j = 0; j < size; j++) images[dst + j] = BYTE_TO_UNIT[split.images[src + j]];
    labels[k] = split.labels[i];
  }
  return {images, labels, count};
}

/**
 * All indices of `labels` in an order where every class is spread evenly: each class is shuffled,
 * its k-th member of n gets the key (k + u) / n with one u uniform in [0, 1) per class, and indices
 * are sorted by key. Any prefix (or window) of the order then holds each class in proportion,
 * within two examples.
 */
export function stratifiedOrder(labels: ArrayLike<number>, rng: Rng): Int32Array {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const members = byClass.get(labels[i]);
    if (members) members.push(i);
    else byClass.set(labels[i], [i]);
  }
  const keys = new Float64Array(labels.length);
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = shuffleInPlace(byClass.get(c)!, rng);
    const n = members.length;
    const offset = rng();
    members.forEach((i, k) => (keys[i] = (k + offset) / n));
  }
  const order = new Int32Array(labels.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  // Ties are (nearly) impossible; the index breaks them so the order never depends on the sort.
  return order.sort((a, b) => keys[a] - keys[b] || a - b);
}

/**
 * Splits per class: of each class's n members, a share of `count` proportional to n (largest
 * remainders, so the shares add up to exactly `count`) goes to `taken`, the rest to `kept`.
 */
export function stratifiedSplit(labels: ArrayLike<number>, count: number, rng: Rng): {taken: Int32Array; kept: Int32Array} {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const members = byClass.get(labels[i]);
    if (members) members.push(i);
    else byClass.set(labels[i], [i]);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const exact = classes.map((c) => (byClass.get(c)!.length * count) / labels.length);
  const share = exact.map(Math.floor);
  let missing = count - share.reduce((a, b) => a + b, 0);
  // Largest remainder first; the class index breaks ties deterministically.
  const byRemainder = classes.map((_, i) => i).sort((a, b) => exact[b] - share[b] - (exact[a] - share[a]) || a - b);
  for (const i of byRemainder) {
    if (missing === 0) break;
    share[i]++;
    missing--;
  }
  const taken: number[] = [];
  const kept: number[] = [];
  classes.forEach((c, ci) => {
    const members = shuffleInPlace(byClass.get(c)!, rng);
    taken.push(...members.slice(0, share[ci]));
    kept.push(...members.slice(share[ci]));
  });
  return {taken: Int32Array.from(taken), kept: Int32Array.from(kept)};
}

export interface SelectOptions {
  readonly limit?: number;
  readonly testLimit?: number;
  readonly validationSplit?: number;
  readonly seed?: number;
}

export interface Selected {
  readonly train: Split;
  readonly validation: Split | null;
  readonly test: Split;
}

/**
 * Seeded selection of the splits handed out: `limit` examples of train taken class-balanced,
 * `validationSplit` of them held out (class-balanced too), both shuffled; `testLimit` examples of
 * test taken class-balanced, kept in file order.
 */
export function selectSplits(train: ByteSplit, test: ByteSplit, options: SelectOptions): Selected {
  const {limit, testLimit, validationSplit = 0, seed = 0} = options;
  const rng = mulberry32(deriveSeed(seed, 'select'));
  let pool = stratifiedOrder(train.labels, rng);
  if (limit !== undefined && limit < pool.length) pool = pool.slice(0, limit);
  let nVal = Math.round(validationSplit * pool.length);
  if (validationSplit > 0 && nVal === 0) nVal = 1;
  if (nVal >= pool.length) {
    throw new UsageError(
        `validationSplit ${validationSplit} of ${pool.length} training examples leaves none to train on`);
  }
  // The pool is class-spread, so its first nVal examples are class-balanced.
  const valIdx = shuffleInPlace(pool.slice(0, nVal), rng);
  const trainIdx = shuffleInPlace(pool.slice(nVal), rng);
  let testIdx: ArrayLike<number>;
  if (testLimit !== undefined && testLimit < test.count) {
    testIdx = stratifiedOrder(test.labels, rng).slice(0, testLimit).sort();
  } else {
    testIdx = Int32Array.from({length: test.count}, (_, i) => i);
  }
  return {
    train: materialize(train, trainIdx),
    validation: nVal > 0 ? materialize(train, valIdx) : null,
    test: materialize(test, testIdx),
  };
}
