import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import '../backend/index.js';
import {batchAugmentation} from '../train/augmentation.js';
import {kerasAdam} from '../train/trainer.js';
import {mulberry32} from '../util/random.js';
import {Distiller} from './distiller.js';

const glorot = (seed: number) => tfl.initializers.glorotUniform({seed});
const dense = (seed: number) =>
  tfl.sequential({layers: [tfl.layers.flatten({inputShape: [6, 6, 1]}), tfl.layers.dense({units: 3, kernelInitializer: glorot(seed)})]});

function data(n: number): {x: tf.Tensor4D; y: Int32Array} {
  const rng = mulberry32(4);
  const v = new Float32Array(n * 36).map(() => rng());
  return {x: tf.tensor4d(v, [n, 6, 6, 1]), y: new Int32Array(n).map(() => Math.floor(rng() * 3))};
}

/** Records the inputs each model is applied to, in training and in inference mode. */
function record(model: tfl.LayersModel): {train: Float32Array[]; infer: Float32Array[]} {
  const seen = {train: [] as Float32Array[], infer: [] as Float32Array[]};
  const apply = model.apply.bind(model);
  model.apply = ((x: tf.Tensor, kwargs?: {training?: boolean}) => {
    (kwargs?.training ? seen.train : seen.infer).push((x.dataSync() as Float32Array).slice());
    return apply(x, kwargs);
  }) as typeof model.apply;
  return seen;
}

describe('teacher view', () => {
  let before = 0;
  beforeEach(async () => {
    await tf.setBackend('cpu');
    before = tf.memory().numTensors;
  });
  afterEach(() => expect(tf.memory().numTensors).toBe(before));

  for (const loss of ['kl', 'dkd', 'lskd'] as const) {
    it(`'same' hands the teacher exactly the student's augmented batch, step by step (${loss}, mixup)`, async () => {
      const {x, y} = data(20);
      const teacher = dense(1);
      const student = dense(2);
      const t = record(teacher);
      const s = record(student);
      const d = new Distiller({teacher, student});
      const optimizer = kerasAdam();
      d.compile({optimizer, alpha: 0.5, temperature: 2, distillationLossFn: loss, labelSmoothing: 0.1});
      const augmentation = batchAugmentation({shift: 1, mixup: 0.4});
      const mid = tf.memory().numTensors;
      const history = await d.fit(x, y, {epochs: 2, batchSize: 8, augmentation, teacherView: 'same'});
      expect(tf.memory().numTensors).toBe(mid);
      expect(s.train.length).toBe(6);
      expect(t.infer.length).toBe(6);
      for (let i = 0; i < 6; i++) expect(t.infer[i]).toEqual(s.train[i]);
      // The view is augmented: the first batch is no clean gather of the training set.
      const clean = x.dataSync();
      expect(Array.from(s.train[0].subarray(0, 36))).not.toEqual(Array.from(clean.subarray(0, 36)));
      expect(Number.isFinite(history[1].loss) && Number.isFinite(history[1].distillationLoss)).toBe(true);
      optimizer.dispose();
      x.dispose();
      teacher.dispose();
      student.dispose();
    });
  }

  it("'clean' caches the teacher's logits of the unaugmented examples once", async () => {
    const {x, y} = data(20);
    const teacher = dense(1);
    const student = dense(2);
    const t = record(teacher);
    const s = record(student);
    const d = new Distiller({teacher, student});
    const optimizer = kerasAdam();
    d.compile({optimizer, alpha: 0.5, temperature: 2});
    await d.fit(x, y, {epochs: 2, batchSize: 8, augmentation: batchAugmentation({shift: 1}), teacherView: 'clean', evalBatchSize: 256});
    expect(t.infer.length).toBe(1); // one caching pass over all 20 examples
    expect(t.infer[0]).toEqual(x.dataSync());
    expect(s.train.length).toBe(6);
    await expect(d.fit(x, y, {augmentation: batchAugmentation({shift: 1}), teacherView: 'same', cacheTeacherLogits: true}))
      .rejects.toThrow(/cacheTeacherLogits needs teacherView 'clean'/);
    await expect(d.fit(x, y, {teacherView: 'both' as never})).rejects.toThrow("teacherView must be 'same' or 'clean', got 'both'");
    optimizer.dispose();
    x.dispose();
    teacher.dispose();
    student.dispose();
  });

  it('the same seed gives the same views and the same trained student twice', async () => {
    const {x, y} = data(20);
    const run = async () => {
      const teacher = dense(1);
      const student = dense(2);
      const d = new Distiller({teacher, student});
      const optimizer = kerasAdam();
      d.compile({optimizer, alpha: 0.5, temperature: 2, distillationLossFn: 'dkd', dkd: {alpha: 1, beta: 2}});
      await d.fit(x, y, {epochs: 2, batchSize: 8, seed: 3, augmentation: batchAugmentation({shift: 1, cutmix: 1})});
      const w = student.getWeights().map((v) => Array.from(v.dataSync()));
      optimizer.dispose();
      teacher.dispose();
      student.dispose();
      return w;
    };
    expect(await run()).toEqual(await run());
    x.dispose();
  });

  it('names an unknown distillation loss and bad DKD weights', () => {
    const teacher = dense(1);
    const student = dense(2);
    const d = new Distiller({teacher, student});
    expect(() => d.compile({distillationLossFn: 'dkdd' as never})).toThrow('unknown distillation loss "dkdd"; expected one of kl, mse, dkd, lskd');
    expect(() => d.compile({distillationLossFn: 'dkd', dkd: {beta: -1}})).toThrow('DKD beta must be a finite number >= 0, got -1');
    teacher.dispose();
    student.dispose();
  });
});
