import {describe, expect, it} from 'vitest';

import {augmentBatch, checkAugmentSpec, createAugmenter, sampleBeta} from './augment.js';
import {mulberry32} from '../util/random.js';

const shape = [5, 4, 1] as const;
const size = 5 * 4;

/** n images, each pixel a distinct positive value (image i, pixel p → 1 + 100·i + p). */
function images(n: number): Float32Array {
  const x = new Float32Array(n * size);
  for (let i = 0; i < n; i++) for (let p = 0; p < size; p++) x[i * size + p] = 1 + 100 * i + p;
  return x;
}

describe('augmentation', () => {
  it('the same seed gives the same views, another seed other views', () => {
    const spec = {shift: 1, mixup: 0.4};
    const a = createAugmenter(spec, {seed: 3, shape, classes: 3});
    const b = createAugmenter(spec, {seed: 3, shape, classes: 3});
    const c = createAugmenter(spec, {seed: 4, shape, classes: 3});
    const x = images(6);
    const y = [0, 1, 2, 0, 1, 2];
    for (let step = 0; step < 3; step++) {
      const ra = a(x, y);
      const rb = b(x, y);
      expect(ra.images).toEqual(rb.images);
      expect(ra.soft).toEqual(rb.soft);
      if (step === 0) expect(c(x, y).images).not.toEqual(ra.images);
    }
  });

  it('keeps the shape and never changes its input', () => {
    const x = images(4);
    const copy = x.slice();
    for (const spec of [{}, {shift: 2}, {flip: true}, {mixup: 1}, {cutmix: 1}, {shift: 1, flip: true, mixup: 0.2, cutmix: 1}]) {
      const r = createAugmenter(spec, {seed: 0, shape, classes: 3})(x, [0, 1, 2, 1]);
      expect(r.images.length).toBe(x.length);
      expect(r.images).not.toBe(x);
    }
    expect(x).toEqual(copy);
  });

  it('a shift moves pixels and fills with zeros; every pixel comes from the same image', () => {
    const x = images(8);
    const r = createAugmenter({shift: 2}, {seed: 1, shape, classes: 2})(x, new Array(8).fill(0));
    let moved = 0;
    for (let i = 0; i < 8; i++) {
      for (let p = 0; p < size; p++) {
        const v = r.images[i * size + p];
        if (v !== 0) expect(Math.floor((v - 1) / 100)).toBe(i);
        if (v !== x[i * size + p]) moved++;
      }
    }
    expect(moved).toBeGreaterThan(0);
  });

  it('flip mirrors rows left–right (shift 0)', () => {
    // With flip on, each image is either itself or its mirror.
    const x = images(16);
    const r = createAugmenter({flip: true}, {seed: 2, shape, classes: 2})(x, new Array(16).fill(0));
    let mirrored = 0;
    for (let i = 0; i < 16; i++) {
      const same = r.images.subarray(i * size, (i + 1) * size).every((v, p) => v === x[i * size + p]);
      const mirror = r.images.subarray(i * size, (i + 1) * size).every((v, p) => v === x[i * size + Math.floor(p / 4) * 4 + (3 - (p % 4))]);
      expect(same || mirror).toBe(true);
      if (mirror) mirrored++;
    }
    expect(mirrored).toBeGreaterThan(2);
    expect(mirrored).toBeLessThan(14);
  });

  it('mixup: soft labels sum to 1 per row and mix the image with the same λ', () => {
    const x = images(6);
    const y = [0, 1, 2, 0, 1, 2];
    const r = createAugmenter({mixup: 0.4}, {seed: 5, shape, classes: 3})(x, y);
    const soft = r.soft as Float32Array;
    expect(soft.length).toBe(18);
    for (let i = 0; i < 6; i++) {
      const row = soft.subarray(i * 3, i * 3 + 3);
      expect(row.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 6);
      // λ = weight on the image's own label when the partner has another label.
      const lam = row[y[i]];
      // Pixel 0 of image i is 1 + 100i; mixed with partner j it is λ(1 + 100i) + (1 − λ)(1 + 100j).
      const j = (r.images[i * size] - 1 - lam * 100 * i) / (100 * (1 - lam));
      if (lam < 0.999 && y[Math.round(j)] !== y[i]) expect(Math.abs(j - Math.round(j))).toBeLessThan(1e-3);
    }
  });

  it('cutmix: labels weighted by the pasted area, rows sum to 1', () => {
    const x = images(6);
    const y = [0, 1, 2, 0, 1, 2];
    const r = createAugmenter({cutmix: 1}, {seed: 6, shape, classes: 3})(x, y);
    const soft = r.soft as Float32Array;
    for (let i = 0; i < 6; i++) {
      expect(soft.subarray(i * 3, i * 3 + 3).reduce((a, v) => a + v, 0)).toBeCloseTo(1, 6);
      // Pixels not from image i are the partner's; their share is 1 − λ.
      let own = 0;
      for (let p = 0; p < size; p++) if (Math.floor((r.images[i * size + p] - 1) / 100) === i) own++;
      const lamFromPixels = own / size;
      const other = soft.subarray(i * 3, i * 3 + 3).reduce((a, v, k) => (k === y[i] ? a : a + v), 0);
      if (own < size && other > 0) expect(1 - other).toBeCloseTo(lamFromPixels, 5);
    }
  });

  it('Beta samples have the right mean', () => {
    const rng = mulberry32(9);
    let s = 0;
    for (let i = 0; i < 4000; i++) s += sampleBeta(rng, 2, 6);
    expect(s / 4000).toBeCloseTo(0.25, 1.5);
  });

  it('rejects mixup alpha ≤ 0 and a negative shift, naming the value', () => {
    expect(() => checkAugmentSpec({mixup: 0})).toThrow('mixup alpha must be a finite number > 0, got 0');
    expect(() => checkAugmentSpec({cutmix: -1})).toThrow('cutmix alpha must be a finite number > 0, got -1');
    expect(() => checkAugmentSpec({shift: -2})).toThrow('shift must be a non-negative integer, got -2');
    expect(() => augmentBatch(new Float32Array(3), [0], {}, {rng: mulberry32(0), h: 2, w: 2, c: 1, classes: 2})).toThrow(/3 values for 1 images/);
  });
});
