// Parity of the native pooling kernels with @tensorflow/tfjs-backend-cpu: forward and gradients
// over the attribute space, exact gradients on ties, argument errors and leaks.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {addon, nativeAvailable} from '../index.js';
import {countCalls, rng} from './test_util.js';

type Pad = 'valid' | 'same' | number;
interface Case {
  shape: [number, number, number, number];
  filter: number | [number, number];
  strides: number | [number, number];
  pad: Pad;
  rounding?: 'floor' | 'round' | 'ceil';
}

function randomValues(n: number, seed: number, levels = 0): Float32Array {
  const r = rng(seed);
  const v = new Float32Array(n);
  // levels > 0 draws from a few repeated values, so pooling windows hold tied maxima.
  for (let i = 0; i < n; ++i) v[i] = levels > 0 ? Math.floor(r() * levels) : r() * 4 - 2;
  return v;
}

/** Runs fn on the given backend and returns the values of its outputs. */
function on(backend: 'cpu' | 'native', fn: () => tf.Tensor[]): Float32Array[] {
  tf.setBackend(backend);
  const outs = tf.tidy(fn);
  const vals = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return vals;
}

function expectClose(got: Float32Array, want: Float32Array, what: string, exact = false): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; ++i) {
    const a = got[i], b = want[i];
    if (Number.isNaN(b)) {
      expect(Number.isNaN(a), `${what}[${i}]: got ${a}, want NaN`).toBe(true);
    } else if (exact) {
      if (a !== b) expect.fail(`${what}[${i}]: got ${a}, want exactly ${b}`);
    } else if (!(Math.abs(a - b) <= 1e-4 * (1 + Math.abs(b)))) {
      expect.fail(`${what}[${i}]: got ${a}, want ${b}`);
    }
  }
}

function poolBoth(c: Case, kind: 'max' | 'avg', x: Float32Array, w: Float32Array) {
  const run = () => {
    const xt = tf.tensor4d(x, c.shape);
    const f = (t: tf.Tensor4D) =>
      kind === 'max' ? tf.maxPool(t, c.filter, c.strides, c.pad, c.rounding) : tf.avgPool(t, c.filter, c.strides, c.pad, c.rounding);
    const y = f(xt);
    const wt = tf.tensor(w.subarray(0, y.size), y.shape);
    // A weighted sum makes dy non-uniform, so misrouted gradients show.
    const [dx] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D), wt)))([xt]);
    return [y, dx];
  };
  const cpu = on('cpu', run);
  const {result: native, calls} = countCalls([`${kind}Pool`, `${kind}PoolGrad`], () => on('native', run));
  // Without a rounding mode both kernels must have run natively (with one, tfjs hands the
  // gradient a dy of another shape and the native kernel defers to cpu).
  expect(calls[`${kind}Pool`], 'native forward calls').toBeGreaterThan(0);
  if (c.rounding == null) expect(calls[`${kind}PoolGrad`], 'native gradient calls').toBeGreaterThan(0);
  return {cpu, native};
}

const cases: Case[] = [];
{
  const r = rng(7);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  for (let i = 0; i < 40; ++i) {
    const pad = pick<Pad>(['valid', 'same', 'same', 1, 0]);
    cases.push({
      shape: [pick([1, 2, 3]), pick([1, 4, 5, 7, 8]), pick([3, 5, 6, 9]), pick([1, 3, 8, 17])],
      filter: pick<number | [number, number]>([1, 2, 3, [2, 3], [3, 1]]),
      strides: pick<number | [number, number]>([1, 2, [1, 2], [2, 1], 3]),
      pad,
      rounding: typeof pad === 'number' ? pick<'floor' | 'round' | 'ceil'>(['floor', 'round', 'ceil']) : undefined,
    });
  }
}

const fits = (c: Case): boolean => {
  // tfjs rejects windows larger than a 'valid' input; keep those out of the random set.
  const [fh, fw] = typeof c.filter === 'number' ? [c.filter, c.filter] : c.filter;
  return c.pad === 'same' || (c.shape[1] + 2 * (typeof c.pad === 'number' ? c.pad : 0) >= fh &&
    c.shape[2] + 2 * (typeof c.pad === 'number' ? c.pad : 0) >= fw);
};

describe.skipIf(!nativeAvailable())('native pooling kernels', () => {
  let before = 0;
  beforeEach(() => {
    before = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(cases.filter(fits).map((c, i) => [i, c] as const))('maxPool and its gradient match cpu, case %i', (i, c) => {
    const n = c.shape.reduce((a, b) => a * b, 1);
    const {cpu, native} = poolBoth(c, 'max', randomValues(n, 100 + i), randomValues(n * 4, 200 + i));
    expectClose(native[0], cpu[0], `maxPool ${JSON.stringify(c)}`, true);
    expectClose(native[1], cpu[1], `maxPool grad ${JSON.stringify(c)}`);
  });

  it.each(cases.filter(fits).map((c, i) => [i, c] as const))('avgPool and its gradient match cpu, case %i', (i, c) => {
    const n = c.shape.reduce((a, b) => a * b, 1);
    const {cpu, native} = poolBoth(c, 'avg', randomValues(n, 300 + i), randomValues(n * 4, 400 + i));
    expectClose(native[0], cpu[0], `avgPool ${JSON.stringify(c)}`);
    expectClose(native[1], cpu[1], `avgPool grad ${JSON.stringify(c)}`);
  });

  it('maxPool gradient on tied maxima matches cpu exactly (overlapping and strided windows)', () => {
    const tieCases: Case[] = [
      {shape: [2, 6, 6, 3], filter: 2, strides: 1, pad: 'same'},
      {shape: [1, 7, 5, 4], filter: 3, strides: 1, pad: 'same'},
      {shape: [3, 5, 7, 2], filter: 3, strides: 2, pad: 'valid'},
      {shape: [2, 8, 8, 5], filter: [2, 3], strides: [1, 2], pad: 'same'},
      // 2×2 stride 2 valid: MaxPoolGrad runs the per-ISA positions kernels (odd sizes drop the last
      // row and column; 17 and 5 channels leave vector tails). Some windows hold NaN or -Infinity.
      {shape: [2, 8, 8, 17], filter: 2, strides: 2, pad: 'valid'},
      {shape: [3, 7, 9, 5], filter: 2, strides: 2, pad: 'valid'},
    ];
    for (const [i, c] of tieCases.entries()) {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const x = randomValues(n, 500 + i, 2);
      for (let k = 0; k < n; k += 23) x[k] = k % 2 ? NaN : -Infinity;
      const {cpu, native} = poolBoth(c, 'max', x, randomValues(n * 4, 600 + i));
      expectClose(native[0], cpu[0], `tied maxPool ${JSON.stringify(c)}`, true);
      expectClose(native[1], cpu[1], `tied maxPool grad ${JSON.stringify(c)}`, true);
    }
  });

  it("matches cpu exactly on the teacher's MaxPool (2x2, stride 1, same) with ties", () => {
    const c: Case = {shape: [32, 14, 14, 256], filter: 2, strides: 1, pad: 'same'};
    const n = c.shape.reduce((a, b) => a * b, 1);
    const {cpu, native} = poolBoth(c, 'max', randomValues(n, 11, 5), randomValues(n, 12));
    expectClose(native[0], cpu[0], 'teacher maxPool', true);
    expectClose(native[1], cpu[1], 'teacher maxPool grad', true);
  });

  it('matches cpu exactly on the stride-1 fast path: student shape, and rows longer than one 512-element block', () => {
    const stride1Cases: Case[] = [
      {shape: [32, 14, 14, 16], filter: 2, strides: 1, pad: 'same'},
      {shape: [2, 5, 40, 17], filter: 2, strides: 1, pad: 'same'},
      {shape: [2, 6, 37, 19], filter: [3, 2], strides: 1, pad: 'valid'},
      {shape: [1, 7, 33, 31], filter: 3, strides: 1, pad: 'same'},
    ];
    for (const [i, c] of stride1Cases.entries()) {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const {cpu, native} = poolBoth(c, 'max', randomValues(n, 700 + i, 4), randomValues(n * 4, 800 + i));
      expectClose(native[0], cpu[0], `stride-1 maxPool ${JSON.stringify(c)}`, true);
      expectClose(native[1], cpu[1], `stride-1 maxPool grad ${JSON.stringify(c)}`, true);
    }
  });

  // A 1x1 window whose output keeps the input's shape is the identity in tfjs's kernels, whatever
  // strides and padding say; tfjs-core's suite has x=[2,2,3], f=1, s=2, p=1 (native once gave
  // -Infinity and NaN where the padding was selected). Gradients follow cpu's window geometry.
  it.each([
    {shape: [1, 2, 2, 3], filter: 1, strides: 2, pad: 1},
    {shape: [2, 5, 5, 4], filter: 1, strides: 2, pad: 2},
    {shape: [2, 3, 4, 5], filter: 1, strides: 1, pad: 'same'},
  ] as Case[])('1x1 window, explicit pad, output as big as the input: max and avg match cpu, $shape s$strides pad $pad',
    (c) => {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const x = Float32Array.from({length: n}, (_, i) => i + 1);
      const w = randomValues(n, 31);
      for (const kind of ['max', 'avg'] as const) {
        const run = () => {
          const f = (t: tf.Tensor4D) =>
            kind === 'max' ? tf.maxPool(t, c.filter, c.strides, c.pad) : tf.avgPool(t, c.filter, c.strides, c.pad);
          const xt = tf.tensor4d(x, c.shape);
          const [dx] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D), tf.tensor(w, c.shape))))([xt]);
          return [f(xt), dx];
        };
        const cpu = on('cpu', run), native = on('native', run);
        // tfjs-core's expected values: the input itself.
        expectClose(cpu[0], x, `${kind}Pool on cpu`, true);
        expectClose(native[0], cpu[0], `${kind}Pool ${JSON.stringify(c)}`, true);
        expectClose(native[1], cpu[1], `${kind}Pool grad ${JSON.stringify(c)}`);
      }
    });

  it('skips NaN and keeps -Infinity like cpu', () => {
    const x = new Float32Array([NaN, 1, -Infinity, NaN, -Infinity, -Infinity, -Infinity, -Infinity, 2, NaN, 3, 3, NaN, NaN, NaN, NaN]);
    const c: Case = {shape: [1, 4, 4, 1], filter: 2, strides: 2, pad: 'valid'};
    const {cpu, native} = poolBoth(c, 'max', x, randomValues(64, 3));
    expectClose(native[0], cpu[0], 'maxPool with NaN', true);
    expectClose(native[1], cpu[1], 'maxPool grad with NaN', true);
  });

  it('handles 3-D input (no batch) like cpu', () => {
    const x = randomValues(5 * 6 * 2, 21);
    const run = () => {
      const xt = tf.tensor3d(x, [5, 6, 2]);
      const [dx] = tf.grads((t: tf.Tensor) => tf.sum(tf.square(tf.maxPool(t as tf.Tensor3D, 2, 1, 'same'))))([xt]);
      return [tf.avgPool(xt, 3, 2, 'same'), dx];
    };
    const cpu = on('cpu', run), native = on('native', run);
    expectClose(native[0], cpu[0], 'avgPool 3-D');
    expectClose(native[1], cpu[1], 'maxPool grad 3-D', true);
  });

  it('raises an Error naming the kernel and the shapes on bad arguments', () => {
    const a = addon!;
    const geom = [1, 4, 4, 2, 2, 2, 2, 2, 2, 2, 0, 0];
    expect(() => a.maxPool(new Float32Array(31), new Float32Array(8), geom)).toThrow(/MaxPool: x has 31 elements, expected input shape \[1,4,4,2\]/);
    expect(() => a.avgPool(new Float32Array(32), new Float32Array(9), geom)).toThrow(/AvgPool: y has 9 elements, expected output shape \[1,2,2,2\]/);
    expect(() => a.maxPoolGrad(new Float32Array(32), new Float32Array(8), new Float32Array(8), geom)).toThrow(/MaxPoolGrad: dx/);
    expect(() => a.avgPoolGrad(new Float32Array(8), new Float32Array(32), [1, 2])).toThrow(/AvgPoolGrad: geom must have 12 entries/);
    expect(() => a.maxPool(new Float32Array(32), new Float32Array(8), [1, 4, 4, 2, 2, 2, 0, 2, 2, 2, 0, 0])).toThrow(/MaxPool: bad geom/);
    expect(() => a.maxPool(new Int32Array(32) as unknown as Float32Array, new Float32Array(8), geom)).toThrow(/MaxPool: x must be a Float32Array/);
  });
});
