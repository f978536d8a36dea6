import {describe, expect, it} from 'vitest';

import {paretoFront} from './pareto.js';

describe('paretoFront', () => {
  // Sizes/accuracies like a teacher (big, best), a distilled student (small, good), a scratch
  // student (same size, worse) and a quantized one (smallest, slightly worse).
  const pts = [
    {cost: 550, value: 0.97}, // teacher: nothing is as accurate -> front
    {cost: 80, value: 0.95}, // distilled: beats scratch at the same size -> front
    {cost: 80, value: 0.94}, // scratch: dominated by distilled
    {cost: 22, value: 0.945}, // quantized: smallest -> front
    {cost: 600, value: 0.96}, // bigger and worse than the teacher -> dominated
  ];
  it('keeps the points nothing beats when smaller cost is better', () => {
    expect(paretoFront(pts)).toEqual([0, 1, 3]);
  });
  it('flips the cost direction for speed (higher images/s is better)', () => {
    // As speeds: 600 img/s is the fastest and 550 img/s the most accurate; the 550 point beats
    // every slower one (80 and 22 img/s) on both axes.
    expect(paretoFront(pts, false)).toEqual([0, 4]);
  });
  it('keeps both of two identical points (neither is strictly better)', () => {
    expect(paretoFront([{cost: 1, value: 1}, {cost: 1, value: 1}])).toEqual([0, 1]);
  });
});
