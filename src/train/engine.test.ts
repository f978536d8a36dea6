import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import '../backend/index.js';
import {distillationKL, distillationMSE} from '../losses/index.js';
import {createTrainStep, trainLoop, TrainingAborted} from './engine.js';
import type {Callback, LossTerm, StepContext, TrainHook} from './engine.js';
import {HostExamples} from './examples.js';
import {fit, kerasAdam} from './trainer.js';

const LN2 = Math.log(2);

/** logits = x · W with x the 2×2 identity: the logits are W's rows, and dLoss/dW = dLoss/dlogits. */
function logitModel(w: number[][]): tfl.Sequential {
  const m = tfl.sequential({layers: [tfl.layers.dense({units: 3, useBias: false, inputShape: [2]})]});
  const t = tf.tensor2d(w);
  m.setWeights([t]);
  t.dispose();
  return m;
}

const identity = {data: new Float32Array([1, 0, 0, 1]), shape: [2, 2]};

// The 2×3 logits of the loss tests: teacher t = [[0, 2ln2, 0], [0, 0, 0]], student s = [[0, 0, 0], [2ln2, 0, 2ln2]].
const TEACHER = new Float32Array([0, 2 * LN2, 0, 0, 0, 0]);
const STUDENT = [[0, 0, 0], [2 * LN2, 0, 2 * LN2]];

/** One step of SGD with learning rate 1 on the loss terms; returns the logs and dLoss/dlogits. */
async function oneStep(terms: LossTerm[]): Promise<{logs: Record<string, number>; grad: number[]}> {
  const model = logitModel(STUDENT);
  const optimizer = tf.train.sgd(1);
  const before = model.getWeights()[0].dataSync().slice();
  const step = createTrainStep({model, optimizer, terms, teacher: () => TEACHER, accuracy: false});
  const examples = new HostExamples(identity);
  let logs: Record<string, number> = {};
  await trainLoop(examples, new Int32Array([2, 1]), step, {
    model, optimizer, batchSize: 2, shuffle: false, callbacks: {onBatchEnd: (c) => void (logs = c.logs)},
  });
  const after = model.getWeights()[0].dataSync();
  const grad = [...before].map((v, i) => v - after[i]);
  model.dispose();
  optimizer.dispose();
  return {logs, grad};
}

function closeAll(actual: number[], expected: number[], tol = 1e-5): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(tol));
}

describe('createTrainStep: fused and generic loss terms', () => {
  let start = 0;
  beforeEach(() => void (start = tf.memory().numTensors));
  afterEach(() => expect(tf.memory().numTensors).toBe(start));

  it('kl: T²·KL and its gradient T·(q − p)/N, by hand, on both paths', async () => {
    // T = 2. Row 0: p = softmax([0, ln2, 0]) = [1/4, 1/2, 1/4], q = softmax(0) = [1/3]·3;
    //   KL = ¼ln(¾) + ½ln(3/2) + ¼ln(¾) = 0.0589034.
    // Row 1: p = [1/3]·3, q = softmax([ln2, 0, ln2]) = [2/5, 1/5, 2/5]; KL = ⅓ln(5/6)·2 + ⅓ln(5/3) = 0.0487164.
    // Loss = T²·mean = 4·(0.0589034 + 0.0487164)/2 = 0.2152397.
    // d/ds = T·(q − p)/N = (q − p): row 0 [1/12, −1/6, 1/12], row 1 [1/15, −2/15, 1/15].
    const expectedGrad = [1 / 12, -1 / 6, 1 / 12, 1 / 15, -2 / 15, 1 / 15];
    const fused = await oneStep([{kind: 'kl', temperature: 2, name: 'kd'}]);
    const generic = await oneStep([{kind: 'custom', name: 'kd', fn: ({teacherLogits, logits}) => distillationKL(teacherLogits as tf.Tensor, logits, 2)}]);
    for (const r of [fused, generic]) {
      expect(r.logs.loss).toBeCloseTo(0.2152397, 5);
      expect(r.logs.kd).toBeCloseTo(0.2152397, 5);
      closeAll(r.grad, expectedGrad);
    }
  });

  it('mse: mean (s − t)² and its gradient 2(s − t)/(N·C), by hand, on both paths', async () => {
    // s − t = [[0, −2ln2, 0], [2ln2, 0, 2ln2]]; squares sum to 3·(2ln2)² = 5.7654; mean over 6 = 0.9609060.
    // Gradient (s − t)/3: [0, −0.4620981, 0, 0.4620981, 0, 0.4620981].
    const g = (2 * LN2) / 3;
    const fused = await oneStep([{kind: 'mse', name: 'kd'}]);
    const generic = await oneStep([{kind: 'custom', name: 'kd', fn: ({teacherLogits, logits}) => distillationMSE(teacherLogits as tf.Tensor, logits)}]);
    for (const r of [fused, generic]) {
      expect(r.logs.loss).toBeCloseTo(0.960906, 5);
      closeAll(r.grad, [0, -g, 0, g, 0, g]);
    }
  });

  it('weights terms: 0.3·CE + 0.7·mse', async () => {
    // CE with labels [2, 1]: row 0 softmax(0) → −ln(1/3) = ln3; row 1 softmax([2ln2, 0, 2ln2]) = [4/9, 1/9, 4/9] → ln 9.
    // mean CE = (ln3 + ln9)/2 = 1.6479184; total = 0.3·1.6479184 + 0.7·0.960906 = 1.1670097.
    const fused = await oneStep([{kind: 'cross-entropy', weight: 0.3, name: 'ce'}, {kind: 'mse', weight: 0.7, name: 'kd'}]);
    expect(fused.logs.ce).toBeCloseTo(1.6479184, 5);
    expect(fused.logs.loss).toBeCloseTo(1.1670097, 5);
    // CE gradient (softmax − onehot)/N: row 0 [1/3, 1/3, 1/3 − 1]/2, row 1 [4/9, 1/9 − 1, 4/9]/2.
    const g = (2 * LN2) / 3;
    const ce = [1 / 6, 1 / 6, -1 / 3, 2 / 9, -4 / 9, 2 / 9];
    const mse = [0, -g, 0, g, 0, g];
    closeAll(fused.grad, ce.map((v, i) => 0.3 * v + 0.7 * mse[i]));
  });

  it('rejects a kl or mse term without a teacher, naming it', () => {
    const model = logitModel(STUDENT);
    const optimizer = tf.train.sgd(1);
    expect(() => createTrainStep({model, optimizer, terms: [{kind: 'mse'}]})).toThrow('loss term mse needs a teacher');
    model.dispose();
    optimizer.dispose();
  });
});

function tiny(seed: number): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.flatten({inputShape: [2, 2, 1]}),
      tfl.layers.dense({units: 3, kernelInitializer: tfl.initializers.glorotUniform({seed})}),
    ],
  });
}

function data(n: number): {x: {data: Float32Array; shape: number[]}; y: Int32Array} {
  const x = new Float32Array(n * 4).map((_, i) => Math.sin(i * 1.7));
  const y = new Int32Array(n).map((_, i) => i % 3);
  return {x: {data: x, shape: [n, 2, 2, 1]}, y};
}

describe('trainLoop: callbacks, hooks, stop', () => {
  let start = 0;
  beforeEach(() => void (start = tf.memory().numTensors));
  afterEach(() => expect(tf.memory().numTensors).toBe(start));

  it('calls callbacks and hooks in Keras order with the global step, and stop() ends after the batch', async () => {
    const model = tiny(1);
    const optimizer = kerasAdam();
    const events: string[] = [];
    const log = (name: string): Callback[keyof Callback] => (ctx) => {
      events.push(`${name} e${ctx.epoch} b${ctx.batch} s${ctx.step}`);
      expect(ctx.model).toBe(model);
      expect(ctx.optimizer).toBe(optimizer);
    };
    const callback: Callback = {
      onTrainBegin: log('trainBegin'),
      onEpochBegin: log('epochBegin'),
      onBatchBegin: log('batchBegin'),
      onBatchEnd: (ctx) => {
        log('batchEnd')?.(ctx);
        if (ctx.step === 5) ctx.stop();
      },
      onEpochEnd: log('epochEnd'),
      onTrainEnd: log('trainEnd'),
    };
    const hook: TrainHook = {
      onTrainBegin: () => void events.push('hook begin'),
      beforeForward: (c: StepContext) => void events.push(`hook forward s${c.step}`),
      afterGradients: (c: StepContext, g) => {
        events.push(`hook grads s${c.step} ${Object.keys(g).length}`);
      },
      afterUpdate: (c: StepContext) => void events.push(`hook update s${c.step}`),
      onTrainEnd: () => void events.push('hook end'),
    };
    const {x, y} = data(12); // 3 batches of 4 per epoch
    const history = await fit(model, x, y, {epochs: 5, batchSize: 4, optimizer, callbacks: callback, hooks: [hook], shuffle: false});
    // Epoch 0: steps 0–2; epoch 1: steps 3–4, and stop() once 5 updates are done closes epoch 1 after its batch 1.
    expect(history).toHaveLength(2);
    expect(events.slice(0, 8)).toEqual([
      'hook begin',
      'trainBegin e0 b0 s0',
      'epochBegin e0 b0 s0',
      'batchBegin e0 b0 s0',
      'hook forward s0',
      'hook grads s0 2',
      'hook update s0',
      'batchEnd e0 b0 s1',
    ]);
    expect(events.filter((e) => e.startsWith('epochEnd'))).toEqual(['epochEnd e0 b3 s3', 'epochEnd e1 b2 s5']);
    expect(events.slice(-2)).toEqual(['hook end', 'trainEnd e2 b0 s5']);
    model.dispose();
    optimizer.dispose();
  });

  it('a stop in mid-epoch closes the epoch with the examples that ran', async () => {
    const model = tiny(2);
    const optimizer = kerasAdam();
    const {x, y} = data(12);
    const history = await fit(model, x, y, {
      epochs: 3, batchSize: 4, optimizer, callbacks: {onBatchEnd: (c) => void (c.step === 2 && c.stop())},
    });
    expect(history).toHaveLength(1);
    expect(Number.isFinite(history[0].loss)).toBe(true);
    model.dispose();
    optimizer.dispose();
  });

  it('an abort rejects with TrainingAborted that keeps the history so far', async () => {
    const model = tiny(3);
    const optimizer = kerasAdam();
    const {x, y} = data(12);
    const controller = new AbortController();
    const run = fit(model, x, y, {
      epochs: 4, batchSize: 4, optimizer, signal: controller.signal,
      callbacks: {onBatchEnd: (c) => void (c.step === 7 && controller.abort(new Error('enough')))},
    });
    const err = await run.catch((e) => e);
    expect(err).toBeInstanceOf(TrainingAborted);
    expect(err.message).toBe('enough');
    expect((err as TrainingAborted).history.map((h) => h.epoch)).toEqual([0, 1]);
    model.dispose();
    optimizer.dispose();
  });

  it('waits for an async callback before the next batch; sync ones run in order beside it', async () => {
    const model = tiny(5);
    const optimizer = kerasAdam();
    const events: string[] = [];
    let pending = false;
    const slow: Callback = {
      onBatchEnd: async (c) => {
        pending = true;
        await new Promise((resolve) => setTimeout(resolve, 2));
        pending = false;
        events.push(`slow end b${c.batch}`);
      },
    };
    const sync: Callback = {
      onBatchBegin: (c) => void events.push(`begin b${c.batch} ${pending ? 'early' : 'after'}`),
      onBatchEnd: (c) => void events.push(`sync end b${c.batch}`),
    };
    const {x, y} = data(8);
    await fit(model, x, y, {epochs: 1, batchSize: 4, optimizer, shuffle: false, callbacks: [sync, slow]});
    expect(events).toEqual(['begin b0 after', 'sync end b0', 'slow end b0', 'begin b1 after', 'sync end b1', 'slow end b1']);
    model.dispose();
    optimizer.dispose();
  });

  it('an abort from a timer stops a run whose callbacks never return a promise', async () => {
    const model = tiny(6);
    const optimizer = kerasAdam();
    const {x, y} = data(4);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('timer')), 20);
    // 1-example batches, many epochs: the loop must give the timer its turn between steps.
    const run = fit(model, x, y, {epochs: 100000, batchSize: 1, optimizer, signal: controller.signal, callbacks: {onBatchEnd: () => undefined}});
    const err = await run.catch((e) => e);
    expect(err).toBeInstanceOf(TrainingAborted);
    expect(err.message).toBe('timer');
    model.dispose();
    optimizer.dispose();
  });

  it('a hook that replaces the gradients changes the update; the replaced tensors are freed', async () => {
    const model = tiny(4);
    const optimizer = tf.train.sgd(0.5);
    const w0 = model.getWeights().map((w) => w.dataSync().slice());
    const zero: TrainHook = {
      afterGradients: (_c, g) => Object.fromEntries(Object.entries(g).map(([k, v]) => [k, tf.zerosLike(v)])),
    };
    const {x, y} = data(8);
    await fit(model, x, y, {epochs: 2, batchSize: 4, optimizer, hooks: [zero]});
    model.getWeights().forEach((w, i) => expect([...w.dataSync()]).toEqual([...w0[i]]));
    model.dispose();
    optimizer.dispose();
  });
});
