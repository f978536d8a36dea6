// The addon's reluGrad, clipByValueGrad and leakyReluGrad against tf.grads of the ops tfjs-layers' ReLU,
// ReLU(maxValue 6) and LeakyReLU layers run, on the cpu backend (the reference): signs of zero,
// NaN, ±Infinity and values at the clip bound included.
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import {describe, expect, it} from 'vitest';

import './index.js';
import {addon} from './addon.js';
import {checkLeaks, on} from './kernels/test_util.js';

const SPECIAL = [0, -0, 6, 6.000001, 5.999999, -1e-30, 1e-30, NaN, Infinity, -Infinity, 3, -3];

function inputs(n: number, seed: number): {x: Float32Array; dy: Float32Array} {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 20 - 10;
  const x = Float32Array.from({length: n}, (_, i) => (i < SPECIAL.length ? SPECIAL[i] : rnd()));
  const dy = Float32Array.from({length: n}, (_, i) => (i % 7 === 3 ? -0 : i % 11 === 5 ? NaN : rnd()));
  return {x, dy};
}

/** Same values bit for bit, NaN matching NaN. */
function expectSame(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i])) expect(got[i], `${what} [${i}]`).toBeNaN();
    else expect(Object.is(got[i], want[i]) || got[i] === want[i], `${what} [${i}]: ${got[i]} vs ${want[i]}`).toBe(true);
  }
}

describe.skipIf(addon == null)('activation gradients (native reluGrad, clipByValueGrad, leakyReluGrad)', () => {
  checkLeaks();
  const a = addon as NonNullable<typeof addon>;

  for (const n of [12, 1000, 70_001]) {
    const {x, dy} = inputs(n, n);
    const grad = (f: (t: tf.Tensor) => tf.Tensor) => on('cpu', () => [tf.grad(f)(tf.tensor1d(x), tf.tensor1d(dy))]);

    it(`reluGrad = d relu on ${n} values`, async () => {
      const [want] = await grad((t) => tf.relu(t));
      const got = new Float32Array(n);
      a.reluGrad(x, dy, got);
      expectSame(got, want.values, 'relu');
    });

    it(`reluGrad(maxValue 6) = d clipByValue(relu, 0, 6) on ${n} values`, async () => {
      const [want] = await grad((t) => tf.clipByValue(tf.relu(t), 0, 6));
      const got = new Float32Array(n);
      a.reluGrad(x, dy, got, 6);
      expectSame(got, want.values, 'relu6');
    });

    it(`clipByValueGrad = d clipByValue on ${n} values`, async () => {
      for (const [lo, hi] of [[0, 6], [-1, 0.5], [0.1, 0.3]]) {
        const [want] = await grad((t) => tf.clipByValue(t, lo, hi));
        const got = new Float32Array(n);
        a.clipByValueGrad(x, dy, got, lo, hi);
        expectSame(got, want.values, `clip [${lo}, ${hi}]`);
      }
    });

    it(`leakyReluGrad = d leakyRelu(alpha 0.2) on ${n} values`, async () => {
      const [want] = await grad((t) => tf.leakyRelu(t, 0.2));
      const got = new Float32Array(n);
      a.leakyReluGrad(x, dy, got, 0.2);
      expectSame(got, want.values, 'leakyRelu');
    });
  }

  it('names the array of the wrong length', () => {
    expect(() => a.reluGrad(new Float32Array(3), new Float32Array(2), new Float32Array(3))).toThrow('reluGrad: dy has 2 elements, expected 3');
    expect(() => a.leakyReluGrad(new Float32Array(3), new Float32Array(3), new Float32Array(4), 0.2)).toThrow('leakyReluGrad: dx has 4 elements, expected 3');
    expect(() => a.clipByValueGrad(new Float32Array(3), new Float32Array(3), new Float32Array(2), 0, 6)).toThrow('clipByValueGrad: dx has 2 elements, expected 3');
  });
});
