import {describe, expect, test} from 'vitest';

import {deriveSeed, mulberry32, permutation, shuffleInPlace} from './random.js';

describe('mulberry32', () => {
  test('the same seed gives the same sequence, another seed another one', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const c = mulberry32(8);
    const sa = Array.from({length: 5}, a);
    expect(Array.from({length: 5}, b)).toEqual(sa);
    expect(Array.from({length: 5}, c)).not.toEqual(sa);
  });

  test('values are in [0, 1) with mean near 1/2 and all ten deciles used', () => {
    const rng = mulberry32(123);
    const deciles = new Array(10).fill(0);
    let sum = 0;
    let outside = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const v = rng();
      if (!(v >= 0 && v < 1)) outside++;
      sum += v;
      deciles[Math.floor(v * 10)]++;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    // Each decile expects 2,000 ± ~42 (binomial σ); 150 is more than 3σ.
    for (const d of deciles) expect(Math.abs(d - n / 10)).toBeLessThan(150);
  });
});

describe('deriveSeed', () => {
  test('depends on both the seed and the tag', () => {
    expect(deriveSeed(0, 'a')).toBe(deriveSeed(0, 'a'));
    expect(deriveSeed(0, 'a')).not.toBe(deriveSeed(0, 'b'));
    expect(deriveSeed(0, 'a')).not.toBe(deriveSeed(1, 'a'));
    expect(deriveSeed(1, 'a')).not.toBe(deriveSeed(2 ** 32 + 1, 'a'));
  });
});

describe('shuffles', () => {
  test('permutation holds every index once and is seeded', () => {
    const p = permutation(1000, mulberry32(1));
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({length: 1000}, (_, i) => i));
    expect(p).toEqual(permutation(1000, mulberry32(1)));
    expect(p).not.toEqual(permutation(1000, mulberry32(2)));
  });

  test('every position receives every element about equally often (no Fisher–Yates off-by-one)', () => {
    // 3 elements, 30,000 shuffles: each of the 9 (element, position) cells expects 10,000.
    const counts = Array.from({length: 3}, () => [0, 0, 0]);
    const rng = mulberry32(99);
    for (let t = 0; t < 30_000; t++) {
      const a = shuffleInPlace([0, 1, 2], rng);
      a.forEach((e, pos) => counts[e][pos]++);
    }
    for (const row of counts) for (const c of row) expect(Math.abs(c - 10_000)).toBeLessThan(400);
  });
});
