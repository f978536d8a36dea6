// Helpers shared by the native kernel tests: deterministic inputs, cpu-vs-native comparison at
// |got - want| <= 1e-4 * (1 + |want|), a leak check around every test, and an addon call counter.
import * as tf from '@tensorflow/tfjs-core';
import {afterEach, beforeEach, expect} from 'vitest';

import {addon} from '../index.js';

/** Deterministic pseudo-random numbers in [0, 1) (LCG), so a failure reproduces. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Deterministic uniform [-1, 1) values (mulberry32). */
export function randoms(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Fails with the worst element when any |got - want| exceeds 1e-4 * (1 + |want|) (NaN must match NaN). */
export function expectClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-4) {
  expect(got.length, `${name}: length`).toBe(want.length);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < got.length; ++i) {
    if (Number.isNaN(want[i]) && Number.isNaN(got[i])) continue;
    const excess = Math.abs(got[i] - want[i]) - tol * (1 + Math.abs(want[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) expect.fail(`${name}: element ${worst} is ${got[worst]}, expected ${want[worst]}`);
}

/** Runs fn on `backend`, returns the values and shapes of the tensors it returns, leaves no tensor behind. */
export async function on(backend: 'cpu' | 'native', fn: () => tf.Tensor[]): Promise<{values: Float32Array; shape: number[]}[]> {
  await tf.setBackend(backend);
  const ts = tf.tidy(fn);
  const out = ts.map((t) => ({values: Float32Array.from(t.dataSync()), shape: t.shape}));
  tf.dispose(ts);
  return out;
}

/** fn's outputs on native equal (shape and values) its outputs on cpu. */
export async function parity(names: string[], fn: () => tf.Tensor[]) {
  const want = await on('cpu', fn);
  const got = await on('native', fn);
  expect(got.length).toBe(names.length);
  names.forEach((n, i) => {
    expect(got[i].shape, `${n}: shape`).toEqual(want[i].shape);
    expectClose(n, got[i].values, want[i].values);
  });
}

/** Registers hooks checking that every test leaves tf.memory().numTensors as it found it. */
export function checkLeaks() {
  let before = 0;
  beforeEach(() => {
    before = tf.memory().numTensors;
  });
  afterEach(async () => {
    await tf.setBackend('native');
    expect(tf.memory().numTensors, 'tensors leaked by the test').toBe(before);
  });
}

/** Counts calls of the named addon functions while fn runs, so a silent cpu fallback shows. */
export function countCalls<T>(names: string[], fn: () => T): {result: T; calls: Record<string, number>} {
  const a = addon as unknown as Record<string, (...args: unknown[]) => unknown>;
  const calls: Record<string, number> = {};
  const saved = names.map((n) => a[n]);
  names.forEach((n, i) => {
    calls[n] = 0;
    a[n] = (...args: unknown[]) => {
      calls[n]++;
      return saved[i](...args);
    };
  });
  try {
    return {result: fn(), calls};
  } finally {
    names.forEach((n, i) => (a[n] = saved[i]));
  }
}
