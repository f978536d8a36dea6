import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {addon} from '../../backend/addon.js';
import type {NativeAddon} from '../../backend/addon.js';
import '../../backend/index.js';
import type {NativeBackend} from '../../backend/native_backend.js';
import {createModel} from '../../models/index.js';
import {mulberry32} from '../../util/random.js';
import {HostAdam} from '../adam.js';
import {createTrainStep, tapeReason} from '../engine.js';
import {cachedPlan, compileSequential} from './plan.js';
import type {Plan} from './plan.js';
import type {LossTerm, StepContext, TeacherSource, TrainHook} from '../engine.js';

const SHAPES: Record<string, [number, number, number]> = {
  'keras-teacher': [28, 28, 1], 'keras-student': [28, 28, 1], 'deep-teacher': [28, 28, 1],
  'cifar-teacher': [32, 32, 3], 'cifar-student': [32, 32, 3], 'mobile-student': [32, 32, 3], 'mlp-student': [28, 28, 1],
};

interface Batches {
  readonly xs: Float32Array[];
  readonly ys: Int32Array[];
  readonly teacher: Float32Array[];
}

function batches(shape: readonly number[], n: number, steps: number, seed: number): Batches {
  const rng = mulberry32(seed);
  const per = shape.reduce((a, b) => a * b, 1);
  const xs = [], ys = [], teacher = [];
  for (let s = 0; s < steps; s++) {
    xs.push(Float32Array.from({length: n * per}, () => rng() * 2 - 1));
    // The last batch is smaller, as an epoch's last batch may be.
    ys.push(Int32Array.from({length: n}, () => Math.floor(rng() * 10)));
    teacher.push(Float32Array.from({length: n * 10}, () => rng() * 6 - 3));
  }
  return {xs, ys, teacher};
}

/** Trains `model` for the batches; returns the logs of every step. */
function train(model: tfl.LayersModel, b: Batches, shape: readonly number[], options: {
  terms: LossTerm[]; compiled: boolean; hooks?: TrainHook[]; optimizer?: tf.Optimizer;
}): {logs: Record<string, number>[]; reason: string | null; optimizer: tf.Optimizer} {
  const saved = process.env.HAFIF_COMPILED;
  process.env.HAFIF_COMPILED = options.compiled ? '1' : '0';
  const optimizer = options.optimizer ?? new HostAdam({learningRate: 1e-3});
  let stepIndex = 0;
  const teacher: TeacherSource = () => b.teacher[stepIndex];
  const step = createTrainStep({model, optimizer, terms: options.terms, teacher, hooks: options.hooks});
  if (saved === undefined) delete process.env.HAFIF_COMPILED;
  else process.env.HAFIF_COMPILED = saved;
  const logs = [];
  for (; stepIndex < b.xs.length; stepIndex++) {
    const n = b.ys[stepIndex].length;
    const x = tf.tensor(b.xs[stepIndex].slice(), [n, ...shape]);
    const y = tf.tensor1d(b.ys[stepIndex], 'int32');
    const ctx: StepContext = {model, optimizer, epoch: 0, batch: stepIndex, step: stepIndex};
    logs.push(step({x, y: y as tf.Tensor1D, indices: new Int32Array(n)}, ctx));
    tf.dispose([x, y]);
  }
  return {logs, reason: tapeReason(step), optimizer};
}

/** max |a − b| ≤ tol · max |b| over the array (relative to the tensor's scale). */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  expect(diff, `${what}: max diff ${diff} at scale ${scale}`).toBeLessThanOrEqual(tol * Math.max(scale, 1e-30));
}

function compare(name: string, terms: LossTerm[], options: {n?: number; steps?: number; hooks?: (m: tfl.LayersModel) => TrainHook[]} = {}): void {
  const shape = SHAPES[name];
  const {n = 8, steps = 10} = options;
  const b = batches(shape, n, steps, 7);
  // The last batch is smaller (a second plan).
  b.xs[steps - 1] = b.xs[steps - 1].subarray(0, (n - 3) * shape.reduce((p, d) => p * d, 1));
  b.ys[steps - 1] = b.ys[steps - 1].subarray(0, n - 3);
  b.teacher[steps - 1] = b.teacher[steps - 1].subarray(0, (n - 3) * 10);
  const tapeModel = createModel(name, {inputShape: shape, numClasses: 10, seed: 3});
  const compiledModel = createModel(name, {inputShape: shape, numClasses: 10, seed: 3});
  const tape = train(tapeModel, b, shape, {terms, compiled: false, hooks: options.hooks?.(tapeModel)});
  const compiled = train(compiledModel, b, shape, {terms, compiled: true, hooks: options.hooks?.(compiledModel)});
  expect(tape.reason).toBe('HAFIF_COMPILED=0');
  expect(compiled.reason).toBeNull();
  compiled.logs.forEach((l, i) => {
    expect(Object.keys(l)).toEqual(Object.keys(tape.logs[i]));
    for (const k of Object.keys(l)) expectClose([l[k]], [tape.logs[i][k]], 1e-5, `${name} step ${i} ${k}`);
  });
  // Every weight, trainable or not (batch norm's moving statistics).
  const wt = tapeModel.weights, wc = compiledModel.weights;
  expect(wc.length).toBe(wt.length);
  wt.forEach((w, i) => expectClose(wc[i].read().dataSync(), w.read().dataSync(), 1e-5, `${name} ${w.name}`));
  // And Adam's moments.
  const at = tape.optimizer as HostAdam, ac = compiled.optimizer as HostAdam;
  expect(ac.iterationCount).toBe(at.iterationCount);
  tapeModel.trainableWeights.forEach((w, i) => {
    const mt = at.momentsOf((w.read() as tf.Variable).name);
    const mc = ac.momentsOf((compiledModel.trainableWeights[i].read() as tf.Variable).name);
    expect(mt).toBeDefined();
    expect(mc).toBeDefined();
    expectClose((mc as {m: Float32Array}).m, (mt as {m: Float32Array}).m, 1e-5, `${name} ${w.name} m`);
    expectClose((mc as {v: Float32Array}).v, (mt as {v: Float32Array}).v, 1e-5, `${name} ${w.name} v`);
  });
  tapeModel.dispose();
  compiledModel.dispose();
  tape.optimizer.dispose();
  compiled.optimizer.dispose();
}

describe.skipIf(tf.getBackend() !== 'native')('compiled training step', () => {
  let start = 0;
  beforeEach(() => void (start = tf.memory().numTensors));
  afterEach(() => expect(tf.memory().numTensors).toBe(start));

  for (const name of Object.keys(SHAPES)) {
    it(`${name}: 10 Adam steps give the tape's losses, weights, moving statistics and moments`, () => {
      compare(name, [{kind: 'cross-entropy'}]);
    }, 120_000);
  }

  it('batch norm absorbs the ReLU / ReLU6 after it: the same outputs and gradients as the two layers, exactly', () => {
    for (const name of ['mobile-student', 'deep-teacher']) {
      const shape = SHAPES[name];
      // Two copies: each plan's forward updates its model's moving statistics.
      const models = [0, 1].map(() => createModel(name, {inputShape: shape, numClasses: 10, seed: 5}));
      const plans = models.map((m, i) => compileSequential(m, addon as NativeAddon, {fuse: i === 0}).plan as Plan);
      const names = plans.map((p) => p.layers.map((l) => l.name));
      expect(names[0].filter((l) => l.includes('+')), name).toEqual(
        models[0].layers.filter((l) => l.getClassName() === 'BatchNormalization').map((l) => `${l.name}+${models[0].layers[models[0].layers.indexOf(l) + 1].name}`));
      expect(names[1].some((l) => l.includes('+'))).toBe(false);
      const backend = tf.backend() as NativeBackend;
      const read = (v: tf.Variable) => backend.f32(v);
      const n = 6;
      const b = batches(shape, n, 1, 11);
      // Large inputs saturate ReLU6 in places.
      const x = b.xs[0].map((v) => v * 8);
      const dy = Float32Array.from({length: n * 10}, (_, i) => Math.sin(i));
      const results = plans.map((p) => {
        const {y, backward} = p.forward(x, n, read);
        const out = y.slice();
        backward(dy);
        return {out, grads: p.params.map((q) => q.grad.slice())};
      });
      expect(results[0].out).toEqual(results[1].out);
      results[0].grads.forEach((g, i) => expect(g, `${name} grad ${i}`).toEqual(results[1].grads[i]));
      models[0].weights.forEach((w, i) => expect(w.read().dataSync()).toEqual(models[1].weights[i].read().dataSync()));
      for (const m of models) m.dispose();
    }
  });

  it('a max pool after a Relu conv takes the Relu\'s gradient in its backward: the same outputs and gradients, exactly', () => {
    const model = () => tfl.sequential({layers: [
      tfl.layers.conv2d({inputShape: [9, 7, 5], filters: 12, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({seed: 3})}),
      tfl.layers.maxPooling2d({poolSize: 2}),
      tfl.layers.conv2d({filters: 17, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({seed: 4})}),
      tfl.layers.maxPooling2d({poolSize: 3, strides: 2, padding: 'same'}),
      tfl.layers.flatten(),
      tfl.layers.dense({units: 10, kernelInitializer: tfl.initializers.glorotUniform({seed: 5})}),
    ]});
    const models = [model(), model()];
    const calls = [0, 0];
    const plans = models.map((m, i) => {
      // Counts the separate Relu-gradient passes the plan makes.
      const counting = new Proxy(addon as NativeAddon, {get: (t, k) => k === 'reluGrad'
        ? (...a: Parameters<NativeAddon['reluGrad']>) => { calls[i]++; return t.reluGrad(...a); }
        : Reflect.get(t, k)});
      return compileSequential(m, counting, {fuse: i === 0}).plan as Plan;
    });
    const backend = tf.backend() as NativeBackend;
    const read = (v: tf.Variable) => backend.f32(v);
    for (const n of [1, 3]) {
      calls.fill(0);
      const x = Float32Array.from({length: n * 9 * 7 * 5}, (_, i) => Math.sin(i * 1.7) * 2);
      const dy = Float32Array.from({length: n * 10}, (_, i) => Math.cos(i));
      const results = plans.map((p) => {
        const {y, backward} = p.forward(x, n, read);
        const out = y.slice();
        backward(dy);
        return {out, grads: p.params.map((q) => q.grad.slice())};
      });
      expect(calls).toEqual([0, 2]);
      expect(results[0].out).toEqual(results[1].out);
      results[0].grads.forEach((g, i) => expect(g, `n ${n} grad ${i}`).toEqual(results[1].grads[i]));
    }
    for (const m of models) m.dispose();
  });

  it('keeps a model\'s plan across training steps until its layers, flags or variables change', () => {
    const make = () => tfl.sequential({layers: [
      tfl.layers.conv2d({inputShape: [6, 6, 1], filters: 2, kernelSize: 3}),
      tfl.layers.maxPooling2d({poolSize: 2}),
      tfl.layers.flatten(),
      tfl.layers.dense({units: 3}),
    ]});
    const a = make(), b = make();
    const na = addon as NativeAddon;
    const first = cachedPlan(a, na).plan;
    expect(first).toBeDefined();
    expect(cachedPlan(a, na).plan).toBe(first);
    expect(cachedPlan(b, na).plan).not.toBe(first);
    // A flag of a weightless layer: compiled again, and kept again.
    a.layers[1].trainable = false;
    const second = cachedPlan(a, na).plan;
    expect(second).not.toBe(first);
    expect(cachedPlan(a, na).plan).toBe(second);
    // A frozen weighted layer: not compileable, and that is kept too.
    a.layers[0].trainable = false;
    expect(cachedPlan(a, na).reason).toBe(`layer ${a.layers[0].name} is not trainable`);
    a.layers[0].trainable = true;
    expect(cachedPlan(a, na).plan).not.toBe(second);
    // A layer added to the model.
    const third = cachedPlan(a, na).plan;
    (a as tfl.Sequential).add(tfl.layers.dense({units: 2}));
    const fourth = cachedPlan(a, na).plan;
    expect(fourth).not.toBe(third);
    expect(fourth?.outShape).toEqual([2]);
    a.dispose();
    b.dispose();
  });

  it('times each layer forward and backward while timing is on, in plan order', () => {
    const model = createModel('mobile-student', {inputShape: SHAPES['mobile-student'], numClasses: 10, seed: 2});
    const plan = cachedPlan(model, addon as NativeAddon).plan as Plan;
    const backend = tf.backend() as NativeBackend;
    const read = (v: tf.Variable) => backend.f32(v);
    const x = batches(SHAPES['mobile-student'], 4, 1, 3).xs[0];
    const run = () => plan.forward(x, 4, read).backward(new Float32Array(40).fill(0.1));
    plan.startTiming();
    run();
    run();
    const times = plan.stopTiming();
    expect(times.map((t) => t.name)).toEqual(plan.layers.map((l) => l.name));
    expect(times.every((t) => t.forwardMs >= 0 && t.backwardMs >= 0)).toBe(true);
    expect(times.reduce((a, t) => a + t.forwardMs + t.backwardMs, 0)).toBeGreaterThan(0);
    // Off again: nothing accumulates.
    run();
    expect(plan.stopTiming().every((t) => t.forwardMs === 0 && t.backwardMs === 0)).toBe(true);
    model.dispose();
  });

  it('kl and mse terms with weights (the distiller\'s), on a batch-norm model', () => {
    compare('mobile-student', [
      {kind: 'cross-entropy', weight: 0.1, name: 'studentLoss'},
      {kind: 'kl', temperature: 3, weight: 0.9, name: 'distillationLoss'},
    ]);
    compare('keras-student', [{kind: 'cross-entropy', weight: 0.5}, {kind: 'mse', weight: 0.5, name: 'mse'}]);
  }, 120_000);

  it('keeps the hooks: beforeForward sees every step, afterUpdate masks hold (as pruning applies them)', () => {
    const calls: number[] = [];
    // Zeros every other weight of each kernel after each update, and the moments there, as the pruner does.
    const masking = (model: tfl.LayersModel): TrainHook[] => [{
      beforeForward: (ctx) => void calls.push(ctx.step),
      afterUpdate: (ctx) => {
        for (const w of model.trainableWeights) {
          if (!w.name.includes('kernel')) continue;
          const v = w.read() as tf.Variable;
          const values = v.dataSync().map((x, i) => (i % 2 === 0 ? 0 : x));
          const t = tf.tensor(values, v.shape);
          v.assign(t);
          t.dispose();
          const mv = (ctx.optimizer as HostAdam).momentsOf(v.name);
          if (mv) for (let i = 0; i < mv.m.length; i += 2) mv.m[i] = mv.v[i] = 0;
        }
      },
    }];
    compare('mobile-student', [{kind: 'cross-entropy'}], {hooks: masking});
    expect(calls).toEqual([...Array(10).keys(), ...Array(10).keys()]);
    // The masked weights are exactly 0 after the compiled steps.
    const fresh = createModel('cifar-student', {inputShape: [32, 32, 3], numClasses: 10, seed: 3});
    const b = batches([32, 32, 3], 4, 3, 1);
    const r = train(fresh, b, [32, 32, 3], {terms: [{kind: 'cross-entropy'}], compiled: true, hooks: masking(fresh)});
    expect(r.reason).toBeNull();
    for (const w of fresh.trainableWeights) {
      if (!w.name.includes('kernel')) continue;
      const v = w.read().dataSync();
      for (let i = 0; i < v.length; i += 2) expect(v[i]).toBe(0);
    }
    fresh.dispose();
    r.optimizer.dispose();
  }, 120_000);

  it('falls back to the tape, silently, for what it does not compile', () => {
    const shape = [8, 8, 1] as const;
    const withDropout = tfl.sequential({layers: [
      tfl.layers.conv2d({inputShape: [...shape], filters: 4, kernelSize: 3, activation: 'relu'}),
      tfl.layers.dropout({rate: 0.5}),
      tfl.layers.flatten(),
      tfl.layers.dense({units: 10}),
    ]});
    const b = batches(shape, 4, 2, 2);
    const ce: LossTerm[] = [{kind: 'cross-entropy'}];
    const r1 = train(withDropout, b, shape, {terms: ce, compiled: true});
    expect(r1.reason).toMatch(/Dropout has no compiled handler/);
    expect(Number.isFinite(r1.logs[1].loss)).toBe(true);
    r1.optimizer.dispose();
    const plain = tfl.sequential({layers: [tfl.layers.flatten({inputShape: [...shape]}), tfl.layers.dense({units: 10})]});
    const reasons = [
      train(plain, b, shape, {terms: ce, compiled: true, optimizer: tf.train.adam(1e-3)}),
      train(plain, b, shape, {terms: ce, compiled: true, hooks: [{afterGradients: () => undefined}]}),
      train(plain, b, shape, {terms: [{kind: 'custom', name: 'c', fn: ({logits}) => tf.mean(logits)}], compiled: true}),
    ].map((r) => {
      r.optimizer.dispose();
      return r.reason;
    });
    expect(reasons).toEqual(['optimizer Adam (only HostAdam)', 'a hook reads the gradients', 'custom loss term c']);
    const input = tfl.input({shape: [...shape]});
    const functional = tfl.model({inputs: input, outputs: tfl.layers.dense({units: 10}).apply(tfl.layers.flatten().apply(input)) as tfl.SymbolicTensor});
    const r2 = train(functional, b, shape, {terms: ce, compiled: true});
    expect(r2.reason).toBe('a Model, not a Sequential model');
    r2.optimizer.dispose();
    for (const m of [withDropout, plain, functional]) m.dispose();
  });

  it('hands batches to the tape on another backend', async () => {
    const shape = [8, 8, 1] as const;
    const make = () => tfl.sequential({layers: [
      tfl.layers.conv2d({inputShape: [...shape], filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({seed: 1})}),
      tfl.layers.flatten(),
      tfl.layers.dense({units: 10, kernelInitializer: tfl.initializers.glorotUniform({seed: 2})}),
    ]});
    const b = batches(shape, 4, 3, 5);
    const ce: LossTerm[] = [{kind: 'cross-entropy'}];
    await tf.setBackend('cpu');
    try {
      const a = make(), c = make();
      const ra = train(a, b, shape, {terms: ce, compiled: true});
      const rc = train(c, b, shape, {terms: ce, compiled: false});
      expect(ra.reason).toBeNull();
      expect(ra.logs).toEqual(rc.logs);
      a.weights.forEach((w, i) => expect(w.read().dataSync()).toEqual(c.weights[i].read().dataSync()));
      a.dispose();
      c.dispose();
      ra.optimizer.dispose();
      rc.optimizer.dispose();
    } finally {
      await tf.setBackend('native');
    }
  });
});
