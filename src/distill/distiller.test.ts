import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import '../backend/index.js';
import {mulberry32} from '../util/random.js';
import type {HostArray} from '../train/examples.js';
import {kerasAdam} from '../train/trainer.js';
import {Distiller, distillerLoss} from './distiller.js';
import type {LogitsTeacher, Teacher} from './distiller.js';
import {distillationKL, distillationMSE, sparseCategoricalCrossentropy} from '../losses/index.js';

const LN2 = Math.log(2);
const glorot = (seed: number) => tfl.initializers.glorotUniform({seed});

/** conv → batch norm → ReLU → dense: a teacher with moving statistics that must not move. */
function bnTeacher(seed: number, classes = 3): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({inputShape: [4, 4, 1], filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: glorot(seed)}),
      tfl.layers.batchNormalization(),
      tfl.layers.reLU(),
      tfl.layers.flatten(),
      tfl.layers.dense({units: classes, kernelInitializer: glorot(seed + 1)}),
    ],
  });
}

function denseStudent(seed: number, classes = 3, softmax = false): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.flatten({inputShape: [4, 4, 1]}),
      tfl.layers.dense({units: classes, kernelInitializer: glorot(seed)}),
      ...(softmax ? [tfl.layers.softmax()] : []),
    ],
  });
}

function toyData(n: number, seed: number): {x: HostArray; y: Int32Array} {
  const rng = mulberry32(seed);
  const data = new Float32Array(n * 16);
  for (let i = 0; i < data.length; i++) data[i] = rng() * 2 - 1;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.floor(rng() * 3);
  return {x: {data, shape: [n, 4, 4, 1]}, y};
}

function weightsOf(model: tfl.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
}

function close(actual: number, expected: number, tol = 1e-5): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tol * (1 + Math.abs(expected)));
}

describe('distillerLoss', () => {
  // The 2×3 logits of losses.test.ts at T = 2:
  //   teacher [[0, 2ln2, 0], [0, 0, 0]], student [[0, 0, 0], [2ln2, 0, 2ln2]], labels [2, 1].
  //   student CE: row 0 softmax [1/3]*3, label 2 → ln 3; row 1 softmax [4/9, 1/9, 4/9], label 1 → ln 9;
  //     mean = (1.0986123 + 2.1972246) / 2 = 1.6479184
  //   KL·T² = 4 · (½·ln(9/8) + ⅓·ln(125/108)) / 2 = 0.2152380
  //   MSE: three squared differences of (2ln2)² = 1.9218121 and three zeros → 3·1.9218121/6 = 0.9609060
  //   alpha 1   → 1.6479184 (student loss only)
  //   alpha 0   → 0.2152380 (kl) / 0.9609060 (mse)
  //   alpha 0.1 → 0.1·1.6479184 + 0.9·0.2152380 = 0.3585061 (kl)
  //               0.1·1.6479184 + 0.9·0.9609060 = 1.0296073 (mse)
  const cases = [
    {alpha: 1, kd: 'kl', want: 1.6479184},
    {alpha: 0, kd: 'kl', want: 0.215238},
    {alpha: 0.1, kd: 'kl', want: 0.3585061},
    {alpha: 0, kd: 'mse', want: 0.960906},
    {alpha: 0.1, kd: 'mse', want: 1.0296073},
  ] as const;
  for (const {alpha, kd, want} of cases) {
    it(`alpha ${alpha}, ${kd}: ${want}`, () => {
      const before = tf.memory().numTensors;
      const teacher = tf.tensor2d([[0, 2 * LN2, 0], [0, 0, 0]]);
      const student = tf.tensor2d([[0, 0, 0], [2 * LN2, 0, 2 * LN2]]);
      const labels = tf.tensor1d([2, 1], 'int32');
      const terms = distillerLoss(labels, teacher, student, {
        alpha,
        temperature: 2,
        studentLossFn: sparseCategoricalCrossentropy,
        distillationLossFn: kd === 'kl' ? distillationKL : (t, s) => distillationMSE(t, s),
      });
      close(terms.loss.dataSync()[0], want);
      close(terms.studentLoss.dataSync()[0], 1.6479184);
      tf.dispose([teacher, student, labels, terms.loss, terms.studentLoss, terms.distillationLoss]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('Distiller', () => {
  let before = 0;
  beforeEach(() => {
    before = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors).toBe(before);
  });

  it('changes only the student: the teacher, batch-norm statistics included, stays bit-identical', async () => {
    const teacher = bnTeacher(1);
    const student = denseStudent(2);
    const {x, y} = toyData(48, 3);
    const teacher0 = weightsOf(teacher);
    const student0 = weightsOf(student);
    for (const cacheTeacherLogits of [true, false]) {
      const d = new Distiller({teacher, student});
      d.compile({alpha: 0.1, temperature: 3});
      await d.fit(x, y, {epochs: 2, batchSize: 16, cacheTeacherLogits});
      d.dispose();
    }
    expect(weightsOf(teacher)).toEqual(teacher0);
    const student1 = weightsOf(student);
    expect(student1.every((w, i) => w.some((v, j) => v !== student0[i][j]))).toBe(true);
    teacher.dispose();
    student.dispose();
  });

  it('cached and uncached teacher logits give the same losses and weights', async () => {
    const {x, y} = toyData(40, 4);
    const val = toyData(16, 5);
    const teacher = bnTeacher(1);
    const run = async (cacheTeacherLogits: boolean) => {
      const student = denseStudent(9);
      const d = new Distiller({teacher, student});
      d.compile({alpha: 0.3, temperature: 2});
      const history = await d.fit(x, y, {epochs: 2, batchSize: 8, cacheTeacherLogits, validationData: [val.x, val.y]});
      const w = weightsOf(student);
      d.dispose();
      student.dispose();
      return {history, w};
    };
    const cached = await run(true);
    const direct = await run(false);
    for (const key of ['loss', 'studentLoss', 'distillationLoss', 'accuracy', 'valLoss', 'valAccuracy']) {
      for (let e = 0; e < 2; e++) close(cached.history[e][key], direct.history[e][key], 1e-5);
    }
    cached.w.forEach((w, i) => w.forEach((v, j) => close(v, direct.w[i][j], 1e-4)));
    teacher.dispose();
  });

  it('the built-in losses (one fused host step) train exactly like the same losses as plain functions', async () => {
    // Wrapping the built-ins in new functions sends the Distiller down its generic path: a tape node
    // per loss, tfjs ops weighting them, logits kept for the accuracy.
    const {x, y} = toyData(40, 6);
    const teacher = bnTeacher(3);
    const run = async (generic: boolean, cacheTeacherLogits: boolean) => {
      const student = denseStudent(11);
      const d = new Distiller({teacher, student});
      d.compile({
        alpha: 0.3,
        temperature: 2.5,
        ...(generic
          ? {
              studentLossFn: (l: tf.Tensor, z: tf.Tensor) => sparseCategoricalCrossentropy(l, z),
              distillationLossFn: (t: tf.Tensor, z: tf.Tensor, T: number) => distillationKL(t, z, T),
            }
          : {}),
      });
      const history = await d.fit(x, y, {epochs: 2, batchSize: 8, cacheTeacherLogits});
      const w = weightsOf(student);
      d.dispose();
      student.dispose();
      return {history, w};
    };
    for (const cache of [true, false]) {
      const fused = await run(false, cache);
      const generic = await run(true, cache);
      for (const key of ['loss', 'studentLoss', 'distillationLoss', 'accuracy']) {
        for (let e = 0; e < 2; e++) close(fused.history[e][key], generic.history[e][key], 1e-5);
      }
      fused.w.forEach((w, i) => w.forEach((v, j) => close(v, generic.w[i][j], 1e-5)));
    }
    teacher.dispose();
  });

  it('reports loss = alpha·studentLoss + (1 − alpha)·distillationLoss, accuracy and validation', async () => {
    const teacher = bnTeacher(1);
    const student = denseStudent(2);
    const {x, y} = toyData(32, 3);
    const d = new Distiller({teacher, student});
    d.compile({alpha: 0.25, temperature: 4, distillationLossFn: 'mse'});
    const history = await d.fit(x, y, {epochs: 2, batchSize: 8, validationData: [x, y]});
    for (const h of history) {
      close(h.loss, 0.25 * h.studentLoss + 0.75 * h.distillationLoss);
      expect(h.accuracy).toBeGreaterThanOrEqual(0);
      expect(h.accuracy).toBeLessThanOrEqual(1);
    }
    const ev = d.evaluate(x, y);
    close(history[1].valLoss, ev.loss);
    close(history[1].valAccuracy, ev.accuracy);
    d.dispose();
    teacher.dispose();
    student.dispose();
  });

  it('with alpha 0 and useless labels the student learns to agree with the teacher', async () => {
    const teacher = denseStudent(21);
    const student = denseStudent(22);
    const {x} = toyData(96, 6);
    const y = new Int32Array(96); // every label 0: only the teacher carries information
    const optimizer = kerasAdam(0.05);
    const d = new Distiller({teacher, student});
    d.compile({optimizer, alpha: 0, temperature: 1});
    const history = await d.fit(x, y, {epochs: 15, batchSize: 16});
    expect(history[14].distillationLoss).toBeLessThan(history[0].distillationLoss / 4);
    const agreement = tf.tidy(() => {
      const xt = tf.tensor4d(x.data as Float32Array, [96, 4, 4, 1]);
      const t = tf.argMax(teacher.predict(xt) as tf.Tensor, -1);
      const s = tf.argMax(d.predict(xt), -1);
      return tf.mean(tf.cast(tf.equal(t, s), 'float32')).dataSync()[0];
    });
    expect(agreement).toBeGreaterThan(0.85);
    optimizer.dispose();
    teacher.dispose();
    student.dispose();
  });

  it('keeps tf.memory().numTensors flat across steps and epochs, cached or not', async () => {
    const teacher = bnTeacher(1);
    const student = denseStudent(2);
    const {x, y} = toyData(40, 3);
    const optimizer = kerasAdam();
    for (const cacheTeacherLogits of [true, false]) {
      const afterBatch: number[] = [];
      const afterEpoch: number[] = [];
      const d = new Distiller({teacher, student});
      d.compile({optimizer});
      await d.fit(x, y, {
        epochs: 3,
        batchSize: 16,
        cacheTeacherLogits,
        validationData: [x, y],
        callbacks: {
          onBatchEnd: () => void afterBatch.push(tf.memory().numTensors),
          onEpochEnd: () => void afterEpoch.push(tf.memory().numTensors),
        },
      });
      expect(afterBatch).toHaveLength(9);
      expect(new Set([...afterBatch, ...afterEpoch]).size).toBe(1);
    }
    optimizer.dispose();
    teacher.dispose();
    student.dispose();
  });

  it("augments the inputs of both models when asked, and refuses to cache then (unless teacherView is 'clean')", async () => {
    const teacher = bnTeacher(1);
    const student = denseStudent(2);
    const {x, y} = toyData(16, 3);
    const d = new Distiller({teacher, student});
    d.compile();
    let calls = 0;
    const augment = (xb: tf.Tensor) => {
      calls++;
      return tf.reverse(xb, 2);
    };
    await expect(d.fit(x, y, {augment, cacheTeacherLogits: true})).rejects.toThrow(
      "cacheTeacherLogits needs teacherView 'clean' with augment",
    );
    await d.fit(x, y, {augment, batchSize: 8});
    expect(calls).toBe(2);
    d.dispose();
    teacher.dispose();
    student.dispose();
  });

  it('an ensemble teaches the mean of its members\' logits, cached or per batch', async () => {
    const {x, y} = toyData(40, 6);
    const members = [bnTeacher(1), bnTeacher(7)];
    // The same mean worked out outside the Distiller: each member's model.predict, averaged.
    const mean: LogitsTeacher = {
      inputShape: [4, 4, 1], numClasses: 3,
      logits: async (rows, count) => tf.tidy(() => {
        const xb = tf.tensor(rows, [count, 4, 4, 1]);
        const l = members.map((m) => m.predict(xb) as tf.Tensor);
        return tf.div(tf.add(l[0], l[1]), 2).dataSync() as Float32Array;
      }),
    };
    const run = async (teacher: Teacher, cacheTeacherLogits: boolean) => {
      const student = denseStudent(9);
      const d = new Distiller({teacher, student});
      d.compile({alpha: 0.2, temperature: 2});
      const history = await d.fit(x, y, {epochs: 2, batchSize: 8, cacheTeacherLogits});
      const w = weightsOf(student);
      d.dispose();
      student.dispose();
      return {history, w};
    };
    const want = await run(mean, true);
    const single = await run(members[0], true);
    for (const cache of [true, false]) {
      const got = await run(members, cache);
      for (let e = 0; e < 2; e++) close(got.history[e].distillationLoss, want.history[e].distillationLoss, 1e-5);
      got.w.forEach((w, i) => w.forEach((v, j) => close(v, want.w[i][j], 1e-4)));
    }
    // Not the first member alone.
    expect(Math.abs(single.history[0].distillationLoss - want.history[0].distillationLoss)).toBeGreaterThan(1e-3);
    for (const m of members) m.dispose();
  });

  it('refuses an empty ensemble, a member of the wrong shape, and feature losses on an ensemble', () => {
    const student = denseStudent(2);
    const members = [bnTeacher(1), bnTeacher(2, 5)];
    expect(() => new Distiller({teacher: [], student})).toThrow('a teacher ensemble needs at least one model, got an empty array');
    expect(() => new Distiller({teacher: members, student})).toThrow(
      'teacher 1 of the ensemble output shape [null,5] does not match student output shape [null,3]',
    );
    const d = new Distiller({teacher: [members[0], bnTeacher(3)], student});
    expect(() => d.compile({featureLosses: [{kind: 'hint', studentLayer: 'x', teacherLayer: 'y'}]})).toThrow(
      'feature losses read one teacher\'s layers: the teacher is an ensemble of 2 models',
    );
    for (const m of [student, ...members, ...(d.teacher as tfl.LayersModel[]).slice(1)]) m.dispose();
  });

  it('validates its configuration, quoting the bad value', async () => {
    const teacher = bnTeacher(1, 10);
    const student5 = denseStudent(2, 5);
    const student10 = denseStudent(2, 10);
    expect(() => new Distiller({teacher, student: student5})).toThrow(
      'teacher output shape [null,10] does not match student output shape [null,5]',
    );
    const d = new Distiller({teacher, student: student10});
    const {x, y} = toyData(4, 1);
    await expect(d.fit(x, y)).rejects.toThrow('call compile() before fit()');
    expect(() => d.compile({alpha: 1.5})).toThrow('alpha must be in [0, 1], got 1.5');
    expect(() => d.compile({alpha: -0.1})).toThrow('alpha must be in [0, 1], got -0.1');
    expect(() => d.compile({alpha: NaN})).toThrow('alpha must be in [0, 1], got NaN');
    expect(() => d.compile({temperature: 0})).toThrow('temperature must be a finite number > 0, got 0');
    expect(() => d.compile({temperature: -3})).toThrow('temperature must be a finite number > 0, got -3');
    expect(() => d.compile({distillationLossFn: 'kld' as 'kl'})).toThrow(
      'unknown distillation loss "kld"; expected one of kl, mse',
    );
    expect(() => d.compile({metrics: ['mae' as 'accuracy']})).toThrow('unknown metric "mae"; expected accuracy');
    d.compile();
    await expect(d.fit(x, new Int32Array([0, 1, 2, 10]))).rejects.toThrow('y[3] = 10 is not a class index in [0, 10)');
    d.dispose();
    const wideInput = tfl.sequential({layers: [tfl.layers.flatten({inputShape: [5, 5, 1]}), tfl.layers.dense({units: 10})]});
    expect(() => new Distiller({teacher, student: wideInput})).toThrow(
      'teacher input shape [null,4,4,1] does not match student input shape [null,5,5,1]',
    );
    for (const m of [teacher, student5, student10, wideInput]) m.dispose();
  });

  it('models that output probabilities, declared so, distill like their logit twins', async () => {
    const {x, y} = toyData(32, 8);
    const run = async (softmax: boolean) => {
      const teacher = denseStudent(31, 3, softmax);
      const student = denseStudent(32, 3, softmax);
      const kind = softmax ? 'probabilities' : 'logits';
      const d = new Distiller({teacher, student, teacherOutputs: kind, studentOutputs: kind});
      d.compile({alpha: 0.5, temperature: 2});
      const history = await d.fit(x, y, {epochs: 2, batchSize: 8, validationData: [x, y]});
      d.dispose();
      teacher.dispose();
      student.dispose();
      return history;
    };
    const probs = await run(true);
    const logits = await run(false);
    for (const key of ['loss', 'studentLoss', 'distillationLoss', 'valLoss', 'valAccuracy']) {
      for (let e = 0; e < 2; e++) close(probs[e][key], logits[e][key], 1e-4);
    }
    const teacher = denseStudent(31);
    expect(() => new Distiller({teacher, student: teacher, teacherOutputs: 'softmax' as 'logits'})).toThrow(
      "outputs must be 'logits' or 'probabilities', got 'softmax'",
    );
    teacher.dispose();
  });
});
