import * as tf from '@tensorflow/tfjs-core';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

// tfjs-core alone registers no gradient functions; the tfjs-layers bundle does.
import '@tensorflow/tfjs-layers';

import '../backend/index.js';
import {
  distillationKL,
  distillationLosses,
  distillationMSE,
  klDivergence,
  sparseCategoricalCrossentropy,
  studentLosses,
} from './losses.js';

const LN2 = Math.log(2);

// Teacher/student logits chosen so that the softened distributions are simple fractions:
//   row 0: teacher T·[0, ln2, 0] → softmax(t/T) = p = [1/4, 1/2, 1/4]
//          student T·[0, 0, 0]   → softmax(s/T) = q = [1/3, 1/3, 1/3]
//          KL(p‖q) = 1/4·ln(3/4) + 1/2·ln(3/2) + 1/4·ln(3/4) = 1/2·ln(9/8)   = 0.0588915178
//   row 1: teacher T·[0, 0, 0]         → p = [1/3, 1/3, 1/3]
//          student T·[ln2, 0, ln2]     → q = [2/5, 1/5, 2/5]
//          KL(p‖q) = 1/3·(ln(5/6) + ln(5/3) + ln(5/6)) = 1/3·ln(125/108) = 0.0487275034
//   batch mean = (0.0588915178 + 0.0487275034) / 2 = 0.0538095106
//   × T²: T=2 → 0.2152380424, T=10 → 5.3809510610
// The reverse direction KL(q‖p) of row 0 is 1/3·ln(32/27) = 0.0566330 ≠ 0.0588915, so a
// teacher/student swap changes the value.
function kdLogits(T: number): {teacher: tf.Tensor2D; student: tf.Tensor2D} {
  return {
    teacher: tf.tensor2d([[0, T * LN2, 0], [0, 0, 0]]),
    student: tf.tensor2d([[0, 0, 0], [T * LN2, 0, T * LN2]]),
  };
}

function close(actual: number, expected: number, tol = 1e-5): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tol * (1 + Math.abs(expected)));
}

describe('losses', () => {
  let before = 0;
  beforeEach(() => {
    before = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors).toBe(before);
  });

  it('distillationKL at T=2 and T=10 matches the hand-computed T²·KL(p‖q)', () => {
    for (const [T, expected] of [[2, 0.2152380424], [10, 5.380951061]] as const) {
      const {teacher, student} = kdLogits(T);
      const loss = distillationKL(teacher, student, T);
      close(loss.dataSync()[0], expected);
      tf.dispose([teacher, student, loss]);
    }
  });

  it('distillationKL gradient w.r.t. the student is T·(q − p)/N', () => {
    // d/ds [T²·KL(p‖softmax(s/T))] = T²·(q − p)/T, then /N for the batch mean; T=2, N=2 → (q − p).
    // row 0: q − p = [1/3 − 1/4, 1/3 − 1/2, 1/3 − 1/4] = [1/12, −1/6, 1/12]
    // row 1: q − p = [2/5 − 1/3, 1/5 − 1/3, 2/5 − 1/3] = [1/15, −2/15, 1/15]
    const {teacher, student} = kdLogits(2);
    const g = tf.grad((s: tf.Tensor) => distillationKL(teacher, s, 2))(student);
    const want = [1 / 12, -1 / 6, 1 / 12, 1 / 15, -2 / 15, 1 / 15];
    g.dataSync().forEach((v, i) => close(v, want[i]));
    tf.dispose([teacher, student, g]);
  });

  it('klDivergence on probabilities equals row 0 above, and is not symmetric', () => {
    const p = tf.tensor2d([[0.25, 0.5, 0.25]]);
    const q = tf.tensor2d([[1 / 3, 1 / 3, 1 / 3]]);
    const pq = klDivergence(p, q);
    const qp = klDivergence(q, p);
    close(pq.dataSync()[0], 0.5 * Math.log(9 / 8)); // 0.0588915
    close(qp.dataSync()[0], Math.log(32 / 27) / 3); // 0.0566330
    tf.dispose([p, q, pq, qp]);
  });

  it('klDivergence clips zeros like Keras instead of returning NaN', () => {
    // p = [1, 0], q = [1, 0]: clipped to [1, 1e-7] both, so every term is 0.
    const p = tf.tensor2d([[1, 0]]);
    const kl = klDivergence(p, p);
    expect(kl.dataSync()[0]).toBe(0);
    tf.dispose([p, kl]);
  });

  it('distillationMSE is the mean squared logit difference and ignores the temperature', () => {
    // differences [[0, 2, 0], [−1, −1, −1]] → squares sum to 4 + 3 = 7 over 6 entries = 1.1666667
    const t = tf.tensor2d([[1, 2, 3], [0, 0, 0]]);
    const s = tf.tensor2d([[1, 0, 3], [-1, -1, -1]]);
    const direct = distillationMSE(t, s);
    const viaRegistryT2 = distillationLosses.get('mse')(t, s, 2);
    const viaRegistryT10 = distillationLosses.get('mse')(t, s, 10);
    close(direct.dataSync()[0], 7 / 6);
    close(viaRegistryT2.dataSync()[0], 7 / 6);
    close(viaRegistryT10.dataSync()[0], 7 / 6);
    tf.dispose([t, s, direct, viaRegistryT2, viaRegistryT10]);
  });

  it('sparseCategoricalCrossentropy from logits', () => {
    // row 0: logits [0, 0, 0], label 2 → −log(1/3) = ln 3 = 1.0986123
    // row 1: logits [ln4, 0, ln4] → softmax [4/9, 1/9, 4/9], label 1 → −log(1/9) = ln 9 = 2.1972246
    // mean = 1.6479184
    const logits = tf.tensor2d([[0, 0, 0], [2 * LN2, 0, 2 * LN2]]);
    const labels = tf.tensor1d([2, 1], 'int32');
    const floatLabels = tf.tensor1d([2, 1], 'float32');
    const a = sparseCategoricalCrossentropy(labels, logits);
    const b = studentLosses.get('sparse-categorical-crossentropy')(floatLabels, logits);
    close(a.dataSync()[0], 1.6479184);
    close(b.dataSync()[0], 1.6479184);
    tf.dispose([logits, labels, floatLabels, a, b]);
  });

  it('sparseCategoricalCrossentropy stays finite for huge logits', () => {
    // logits [1000, 0]: label 1 → −log softmax = 1000 − log(1 + e^−1000) ≈ 1000
    const logits = tf.tensor2d([[1000, 0]]);
    const labels = tf.tensor1d([1], 'int32');
    const loss = sparseCategoricalCrossentropy(labels, logits);
    close(loss.dataSync()[0], 1000);
    tf.dispose([logits, labels, loss]);
  });

  it('rejects bad shapes and temperatures, naming the values', () => {
    const a = tf.zeros([2, 3]);
    const b = tf.zeros([2, 4]);
    const labels = tf.zeros([3], 'int32');
    expect(() => distillationKL(a, b, 2)).toThrow('distillationKL: shapes must match, got [2,3] and [2,4]');
    expect(() => distillationKL(a, a, 0)).toThrow('temperature must be a finite number > 0, got 0');
    expect(() => sparseCategoricalCrossentropy(labels, a)).toThrow('labels must have shape [2], got [3]');
    expect(() => distillationLosses.get('kld')).toThrow('unknown distillation loss "kld"; expected one of kl, mse');
    tf.dispose([a, b, labels]);
  });

  it('host kernels match tf-op compositions in value and gradient, on random logits', () => {
    // References built from tfjs ops (log-softmax, one-hot), differentiated by tfjs' autodiff.
    const refCE = (labels: tf.Tensor, logits: tf.Tensor) =>
      tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, logits.shape[1] as number), tf.logSoftmax(logits)), -1)));
    const refKL = (t: tf.Tensor, s: tf.Tensor, T: number) => {
      const logP = tf.logSoftmax(tf.div(t, T));
      const logQ = tf.logSoftmax(tf.div(s, T));
      return tf.mul(tf.mean(tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1)), T * T);
    };
    const agree = (a: tf.Tensor, b: tf.Tensor) => {
      const av = a.dataSync();
      const bv = b.dataSync();
      expect(av.length).toBe(bv.length);
      av.forEach((v, i) => expect(Math.abs(v - bv[i])).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(bv[i]))));
    };
    for (const [n, c, scale, seed] of [[32, 10, 3, 1], [5, 7, 20, 2], [1, 2, 1, 3]]) {
      tf.tidy(() => {
        const t = tf.randomNormal([n, c], 0, scale, 'float32', seed);
        const s = tf.randomNormal([n, c], 0, scale, 'float32', seed + 100);
        const labels = tf.cast(tf.floor(tf.randomUniform([n], 0, c, 'float32', seed + 200)), 'int32');
        agree(sparseCategoricalCrossentropy(labels, s), refCE(labels, s));
        agree(tf.grad((x: tf.Tensor) => sparseCategoricalCrossentropy(labels, x))(s), tf.grad((x: tf.Tensor) => refCE(labels, x))(s));
        for (const T of [1, 2.5, 10]) {
          agree(distillationKL(t, s, T), refKL(t, s, T));
          // Upstream gradient 3 checks that dy is applied; both arguments' gradients are compared.
          const mine = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mul(distillationKL(a, b, T), 3))([t, s]);
          const ref = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mul(refKL(a, b, T), 3))([t, s]);
          agree(mine[0], ref[0]);
          agree(mine[1], ref[1]);
        }
      });
    }
  });
});
