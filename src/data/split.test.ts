import {describe, expect, test} from 'vitest';

import {mulberry32} from '../util/random.js';
import {UsageError} from '../util/registry.js';
import {materialize, selectSplits, stratifiedOrder, stratifiedSplit, type ByteSplit} from './split.js';

/** `counts[c]` examples of class c, each a 1-pixel image whose byte is its index mod 256. */
function byteSplit(counts: number[]): ByteSplit {
  const labels = Uint8Array.from(counts.flatMap((n, c) => new Array<number>(n).fill(c)));
  const images = Uint8Array.from(labels, (_, i) => i % 256);
  return {images, labels, count: labels.length};
}

const histogram = (labels: ArrayLike<number>, k: number) => {
  const h = new Array<number>(k).fill(0);
  for (let i = 0; i < labels.length; i++) h[labels[i]]++;
  return h;
};

describe('stratifiedOrder', () => {
  test('every prefix holds each class in proportion, within two examples', () => {
    const counts = [500, 300, 150, 50];
    const {labels} = byteSplit(counts);
    let worst = 0;
    for (let seed = 0; seed < 20; seed++) {
      const order = stratifiedOrder(labels, mulberry32(seed));
      expect([...order].sort((a, b) => a - b)).toEqual(Array.from({length: 1000}, (_, i) => i));
      const seen = [0, 0, 0, 0];
      order.forEach((i, k) => {
        seen[labels[i]]++;
        seen.forEach((s, c) => (worst = Math.max(worst, Math.abs(s - ((k + 1) * counts[c]) / 1000))));
      });
    }
    // A plain shuffle would stray by about √(k·p·(1-p)) ≈ 8 examples mid-way.
    expect(worst).toBeLessThanOrEqual(2);
  });
});

describe('stratifiedSplit', () => {
  test('takes exactly `count`, each class in proportion (largest remainders)', () => {
    // 2,000 of 10,000 from classes of 1001, 1127, 991: exact shares 200.2, 225.4, 198.2 … of the
    // embedded MNIST sizes; see embedded_mnist.test.ts for the full table.
    const counts = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
    const {labels} = byteSplit(counts);
    const {taken, kept} = stratifiedSplit(labels, 2000, mulberry32(0));
    expect(taken.length).toBe(2000);
    expect(kept.length).toBe(8000);
    expect(histogram(Int32Array.from(taken, (i) => labels[i]), 10)).toEqual([200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
    expect(new Set([...taken, ...kept]).size).toBe(10_000);
  });
});

describe('selectSplits', () => {
  const train = byteSplit([60, 30, 10]);
  const testSet = byteSplit([20, 20]);

  test('limit and validationSplit are class-balanced, disjoint and seeded', () => {
    const s = selectSplits(train, testSet, {limit: 50, validationSplit: 0.2, seed: 5});
    expect(s.train.count).toBe(40);
    expect(s.validation?.count).toBe(10);
    expect(histogram(s.validation!.labels, 3)).toEqual([6, 3, 1]);
    expect(histogram(s.train.labels, 3)).toEqual([24, 12, 4]);
    // Image byte = original index: train and validation never share an example.
    const trainIds = new Set(s.train.images.map((v) => Math.round(v * 255)));
    expect(s.validation!.images.some((v) => trainIds.has(Math.round(v * 255)))).toBe(false);
    expect(s.test.count).toBe(40);
    const again = selectSplits(train, testSet, {limit: 50, validationSplit: 0.2, seed: 5});
    expect(again.train.images).toEqual(s.train.images);
    expect(selectSplits(train, testSet, {limit: 50, validationSplit: 0.2, seed: 6}).train.images).not.toEqual(s.train.images);
  });

  test('the training order is shuffled, not grouped by class', () => {
    const s = selectSplits(train, testSet, {});
    expect(s.train.count).toBe(100);
    expect(s.validation).toBeNull();
    expect([...s.train.labels.slice(0, 60)].every((l) => l === 0)).toBe(false);
  });

  test('testLimit keeps file order and balance', () => {
    const s = selectSplits(train, testSet, {testLimit: 10});
    expect(histogram(s.test.labels, 2)).toEqual([5, 5]);
    const ids = [...s.test.images].map((v) => Math.round(v * 255));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  test('a validation split leaving nothing to train on is a usage error', () => {
    expect(() => selectSplits(train, testSet, {limit: 1, validationSplit: 0.5})).toThrow(UsageError);
  });
});

test('materialize scales bytes to [0, 1]', () => {
  const s = materialize({images: Uint8Array.of(0, 51, 255, 1), labels: Uint8Array.of(4, 2), count: 2}, [1, 0]);
  expect([...s.images]).toEqual([Math.fround(1), Math.fround(1 / 255), 0, Math.fround(0.2)]);
  expect([...s.labels]).toEqual([2, 4]);
});
