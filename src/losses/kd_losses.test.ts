import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '../backend/index.js';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {distillationKLHost} from './host_kernels.js';
import {
  attentionMapHost,
  attentionTransferTensor,
  dkdHost,
  dkdTensor,
  hintHost,
  hintTensor,
  logitStandardizedKdHost,
  logitStandardizedKdTensor,
  smoothLabels,
  softCrossEntropyHost,
} from './kd_losses.js';

let before = 0;
beforeEach(async () => {
  await tf.setBackend('cpu');
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(before);
});

const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-5) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(tol * Math.max(1, Math.abs(want[i])));
};

function randomLogits(n: number, c: number, seed: number, scale = 3): Float32Array {
  return tf.tidy(() => tf.randomNormal([n, c], 0, scale, 'float32', seed).dataSync() as Float32Array).slice();
}

/** d/d(student) of `f` by tf.grads, as a host array. */
function tfGrad(f: (s: tf.Tensor) => tf.Scalar, s: Float32Array, shape: number[]): Float32Array {
  return tf.tidy(() => {
    const [g] = tf.grads((x: tf.Tensor) => f(x))([tf.tensor(s, shape)]);
    return g.dataSync() as Float32Array;
  }).slice();
}

describe('DKD', () => {
  // 2×3 logits, T = 1.
  // Row 0: t = [ln 2, 0, 0] → p = [1/2, 1/4, 1/4], label 0; s = [0, 0, 0] → q = [1/3, 1/3, 1/3].
  //   TCKD = KL([1/2, 1/2] ‖ [1/3, 2/3]) = ½ln(3/2) + ½ln(3/4) = ½ln(9/8) = 0.0588915
  //   NCKD = KL([1/2, 1/2] ‖ [1/2, 1/2]) = 0
  // Row 1: t = [0, 0, ln 3] → p = [1/5, 1/5, 3/5], label 2; s = [ln 2, 0, 0] → q = [1/2, 1/4, 1/4].
  //   TCKD = KL([3/5, 2/5] ‖ [1/4, 3/4]) = 0.6·ln 2.4 + 0.4·ln(8/15) = 0.2738378
  //   NCKD = KL([1/2, 1/2] ‖ [2/3, 1/3]) = ½ln(3/4) + ½ln(3/2) = 0.0588915
  // Means: TCKD 0.1663646, NCKD 0.0294458; α 1, β 8: 0.1663646 + 8·0.0294458 = 0.4019307.
  const labels = [0, 2];
  const teacher = [Math.log(2), 0, 0, 0, 0, Math.log(3)];
  const student = [0, 0, 0, Math.log(2), 0, 0];

  it('matches the hand-worked 2×3 example', () => {
    const r = dkdHost(labels, teacher, student, 2, 3, {alpha: 1, beta: 8, temperature: 1});
    expect(r.tckd).toBeCloseTo(0.1663646, 6);
    expect(r.nckd).toBeCloseTo(0.0294458, 6);
    expect(r.loss).toBeCloseTo(0.4019307, 6);
  });

  it('scales by T² at temperature T (logits ×T give the same distributions)', () => {
    const r = dkdHost(labels, teacher.map((v) => 2 * v), student.map((v) => 2 * v), 2, 3, {alpha: 1, beta: 8, temperature: 2});
    expect(r.loss).toBeCloseTo(4 * 0.4019307, 5);
  });

  it('decomposes classic KD: KL = TCKD + (1 − p_y)·NCKD per example', () => {
    const t = randomLogits(1, 5, 1);
    const s = randomLogits(1, 5, 2);
    const y = [3];
    const r = dkdHost(y, t, s, 1, 5, {alpha: 1, beta: 0, temperature: 2});
    const n = dkdHost(y, t, s, 1, 5, {alpha: 0, beta: 1, temperature: 2});
    const p = Math.exp(t[3] / 2) / Array.from(t).reduce((a, v) => a + Math.exp(v / 2), 0);
    const kd = distillationKLHost(t, s, 1, 5, 2).loss;
    expect(r.loss + (1 - p) * n.loss).toBeCloseTo(kd, 5);
  });

  it('host value and gradient agree with tf.grads of the tensor version', () => {
    const n = 6;
    const c = 10;
    const t = randomLogits(n, c, 3);
    const s = randomLogits(n, c, 4);
    const y = [0, 9, 3, 3, 5, 7];
    const opts = {alpha: 0.7, beta: 5, temperature: 3};
    const host = dkdHost(y, t, s, n, c, opts);
    const yt = tf.tensor1d(y, 'int32');
    const tt = tf.tensor2d(t, [n, c]);
    const value = tf.tidy(() => dkdTensor(yt, tt, tf.tensor2d(s, [n, c]), opts).dataSync()[0]);
    expect(host.loss).toBeCloseTo(value, 4);
    close(host.grad, tfGrad((x) => dkdTensor(yt, tt, x, opts), s, [n, c]), 1e-4);
    tf.dispose([yt, tt]);
  });
});

describe('logit-standardized KD', () => {
  // One row, T = 1. Teacher [1, 2, 3]: mean 2, std (divisor C − 1) 1 → Z = [−1, 0, 1],
  // p = softmax(Z) = [0.0900306, 0.2447285, 0.6652409].
  // Student [0, 0, 3]: mean 1, deviations [−1, −1, 2], std √3 → Z = [−0.57735, −0.57735, 1.15470],
  // q = [0.1306808, 0.1306808, 0.7386384]. KL(p ‖ q) = Σ p·ln(p/q) = 0.0503709.
  it('matches the hand-worked example', () => {
    expect(logitStandardizedKdHost([1, 2, 3], [0, 0, 3], 1, 3, {temperature: 1}).loss).toBeCloseTo(0.0503709, 6);
  });

  it('is invariant to shifting and positively scaling either side', () => {
    const t = randomLogits(4, 10, 5);
    const s = randomLogits(4, 10, 6);
    const base = logitStandardizedKdHost(t, s, 4, 10).loss;
    expect(base).toBeGreaterThan(0.01);
    expect(logitStandardizedKdHost(t.map((v) => 3 * v + 5), s, 4, 10).loss).toBeCloseTo(base, 5);
    expect(logitStandardizedKdHost(t, s.map((v) => 0.5 * v - 2), 4, 10).loss).toBeCloseTo(base, 5);
    // Classic KD is not: the same shift-and-scale changes it.
    expect(Math.abs(distillationKLHost(t.map((v) => 3 * v + 5), s, 4, 10, 2).loss - distillationKLHost(t, s, 4, 10, 2).loss)).toBeGreaterThan(0.01);
  });

  it('host value and gradient agree with tf.grads of the tensor version', () => {
    const t = randomLogits(5, 10, 7);
    const s = randomLogits(5, 10, 8);
    const host = logitStandardizedKdHost(t, s, 5, 10, {temperature: 2});
    const tt = tf.tensor2d(t, [5, 10]);
    const value = tf.tidy(() => logitStandardizedKdTensor(tt, tf.tensor2d(s, [5, 10]), {temperature: 2}).dataSync()[0]);
    expect(host.loss).toBeCloseTo(value, 4);
    close(host.grad, tfGrad((x) => logitStandardizedKdTensor(tt, x, {temperature: 2}), s, [5, 10]), 1e-4);
    tt.dispose();
  });
});

describe('FitNets hint', () => {
  // Student map 1×1×2×1: pixels [1], [2]. Teacher map 1×1×2×2: [1, 0], [3, 1].
  // Regressor W = [[2, −1]], b = [0, 1]: r(F_s) = [2, 0] and [4, −1]; differences [1, 0] and
  // [1, −2]; squares 1, 0, 1, 4 → mean 6/4 = 1.5.
  // d/dF_s = Σ_k 2·diff_k·W_k / 4: pixel 0: (2·1·2 + 0)/4 = 1; pixel 1: (2·1·2 + 2·(−2)·(−1))/4 = 2.
  // d/db = Σ_p 2·diff/4 = [(2 + 2)/4, (0 − 4)/4] = [1, −1]; d/dW = Σ_p 2·diff·F_s/4 = [(2 + 4)/4, (0 − 8)/4] = [1.5, −2].
  it('matches the hand-worked tiny map', () => {
    const r = hintHost([1, 2], [1, 0, 3, 1], {n: 1, h: 1, w: 2, cs: 1, ct: 2}, {kernel: [2, -1], bias: [0, 1]});
    expect(r.loss).toBeCloseTo(1.5, 10);
    close(r.gradStudent, [1, 2]);
    close(r.gradBias, [1, -1]);
    close(r.gradKernel, [1.5, -2]);
  });

  it('host gradients agree with tf.grads of the tensor version', () => {
    const [n, h, w, cs, ct] = [2, 3, 3, 4, 6];
    const fs = randomLogits(n * h * w, cs, 9, 1);
    const ft = randomLogits(n * h * w, ct, 10, 1);
    const k = randomLogits(cs, ct, 11, 0.5);
    const b = randomLogits(1, ct, 12, 0.5);
    const host = hintHost(fs, ft, {n, h, w, cs, ct}, {kernel: k, bias: b});
    const [gs, gk, gb, value] = tf.tidy(() => {
      const f = (a: tf.Tensor, kk: tf.Tensor, bb: tf.Tensor) => hintTensor(a, tf.tensor4d(ft, [n, h, w, ct]), kk, bb);
      const g = tf.grads(f)([tf.tensor4d(fs, [n, h, w, cs]), tf.tensor2d(k, [cs, ct]), tf.tensor1d(b)]);
      const v = f(tf.tensor4d(fs, [n, h, w, cs]), tf.tensor2d(k, [cs, ct]), tf.tensor1d(b));
      return [g[0].dataSync().slice(), g[1].dataSync().slice(), g[2].dataSync().slice(), v.dataSync()[0]] as const;
    });
    expect(host.loss).toBeCloseTo(value, 5);
    close(host.gradStudent, gs);
    close(host.gradKernel, gk);
    close(host.gradBias, gb);
  });

  it('names the shapes when the maps cannot be matched', () => {
    const s = tf.zeros([1, 7, 7, 2]);
    const t = tf.zeros([1, 14, 14, 3]);
    const k = tf.zeros([2, 3]);
    const b = tf.zeros([3]);
    expect(() => hintTensor(s, t, k, b)).toThrow(/\[1,7,7,2\].*\[1,14,14,3\].*same n, h and w/);
    tf.dispose([s, t, k, b]);
  });
});

describe('attention transfer', () => {
  // One example, 1×2 map, 2 channels. Student pixels [1, 1], [0, 2]: mean_c F² = [1, 2],
  // normalized [1, 2]/√5. Teacher pixels [3], [0] (one channel): [9, 0] → [1, 0].
  // Loss = mean((1/√5 − 1)², (2/√5 − 0)²) = ((0.4472136 − 1)² + 0.8944272²)/2 = (0.3055728 + 0.8)/2 = 0.5527864.
  it('matches the hand-worked map and its host attention maps', () => {
    const s = tf.tensor4d([1, 1, 0, 2], [1, 1, 2, 2]);
    const t = tf.tensor4d([3, 0], [1, 1, 2, 1]);
    expect(tf.tidy(() => attentionTransferTensor(s, t).dataSync()[0])).toBeCloseTo(0.5527864, 6);
    close(attentionMapHost([1, 1, 0, 2], 1, 2, 2), [1 / Math.sqrt(5), 2 / Math.sqrt(5)]);
    tf.dispose([s, t]);
  });
});

describe('soft cross-entropy and label smoothing', () => {
  // Logits [0, ln 3] → softmax [1/4, 3/4]; target [1/2, 1/2]: −(½ln ¼ + ½ln ¾) = 0.8369882.
  // Gradient softmax − target = [−1/4, 1/4].
  it('matches a hand-worked row', () => {
    const r = softCrossEntropyHost([0.5, 0.5], [0, Math.log(3)], 1, 2);
    expect(r.loss).toBeCloseTo(0.8369882, 6);
    close(r.grad, [-0.25, 0.25]);
  });

  it('smoothing 0.1 over 4 classes puts 0.925 on the label and 0.025 elsewhere; rows sum to 1', () => {
    const y = smoothLabels([2, 0], 4, 0.1);
    close(y, [0.025, 0.025, 0.925, 0.025, 0.925, 0.025, 0.025, 0.025]);
    expect(() => smoothLabels([0], 4, 1)).toThrow('label smoothing must be in [0, 1), got 1');
  });
});
