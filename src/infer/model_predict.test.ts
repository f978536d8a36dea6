// model.predict / predictOnBatch through the fused plan against the stock method (the plan
// switched off with HAFIF_PREDICT_PLAN=0): every registry model, a linear functional model, the
// batch sizes and options, weights changed by setWeights, by assign, by hafif's fit (HostAdam and
// the compiled step, batch norm statistics included) and by a pruning hook, tfjs' own fit, and
// the models, backends and calls that must take the stock method.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';

import {useBackend} from '../backend/index.js';
import {expectClose, randoms} from '../backend/kernels/test_util.js';
import {createModel, type ModelName} from '../models/registry.js';
import {MagnitudePruner} from '../prune/pruner.js';
import {constantSparsity} from '../prune/schedule.js';
import {fit, HostAdam} from '../train/index.js';
import './index.js';
import {FusedPlan} from './predictor.js';

let before = 0;
beforeEach(() => {
  useBackend('native');
  delete process.env.HAFIF_PREDICT_PLAN;
  before = tf.memory().numTensors;
});
afterEach(() => {
  vi.restoreAllMocks();
  delete process.env.HAFIF_PREDICT_PLAN;
  useBackend('native');
  expect(tf.memory().numTensors, 'tensors leaked by the test').toBe(before);
});

/** The stock method's values (the plan switched off for this call). */
function stock<T>(f: () => T): T {
  process.env.HAFIF_PREDICT_PLAN = '0';
  try {
    return f();
  } finally {
    delete process.env.HAFIF_PREDICT_PLAN;
  }
}

const values = (f: () => tf.Tensor | tf.Tensor[]) => tf.tidy(() => (f() as tf.Tensor).dataSync());

/** model.predict(x, args) through the plan equals the stock method within 1e-5; returns whether the plan ran. */
function expectPlanMatches(model: tfl.LayersModel, x: tf.Tensor, args?: {batchSize?: number; verbose?: boolean}): boolean {
  const run = vi.spyOn(FusedPlan.prototype, 'run');
  const want = stock(() => values(() => model.predict(x, args)));
  expect(run).not.toHaveBeenCalled();
  const got = model.predict(x, args) as tf.Tensor;
  const ran = run.mock.calls.length > 0;
  run.mockRestore();
  expect(got.shape).toEqual([x.shape[0], ...(model.outputs[0].shape.slice(1) as number[])]);
  expectClose('outputs', got.dataSync(), want, 1e-5);
  got.dispose();
  return ran;
}

/** Moves every batch norm's γ, β, moving mean and variance to seeded values around 1 / 0. */
function perturbBatchNorms(model: tfl.LayersModel, seed: number) {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const fresh = layer.getWeights().map((w, i) => {
      const name = layer.weights[i].originalName;
      const v = randoms(w.size, seed++).map((u) => (/(moving_variance|gamma)$/.test(name) ? 1 + u / 2 : u / 2));
      return tf.tensor(v, w.shape);
    });
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
}

const input = (n: number, shape: readonly number[], seed: number) =>
  tf.tensor(randoms(n * shape.reduce((a, b) => a * b, 1), seed), [n, ...shape]);

const registry: [ModelName, [number, number, number]][] = [
  ['keras-teacher', [28, 28, 1]], ['keras-student', [28, 28, 1]], ['deep-teacher', [28, 28, 1]],
  ['cifar-teacher', [32, 32, 3]], ['cifar-student', [32, 32, 3]], ['mobile-student', [32, 32, 3]], ['mlp-student', [28, 28, 1]],
];

/** A small conv net with batch norm, ReLU6, pooling and a softmax head. */
function smallNet(seed: number): tfl.Sequential {
  const init = (s: number) => tfl.initializers.glorotUniform({seed: s});
  return tfl.sequential({layers: [
    tfl.layers.conv2d({inputShape: [9, 9, 3], filters: 5, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(seed)}),
    tfl.layers.batchNormalization(),
    tfl.layers.reLU({maxValue: 6}),
    tfl.layers.depthwiseConv2d({kernelSize: 3, strides: 2, depthwiseInitializer: init(seed + 1)}),
    tfl.layers.batchNormalization(),
    tfl.layers.activation({activation: 'relu'}),
    tfl.layers.maxPooling2d({poolSize: 2}),
    tfl.layers.flatten(),
    tfl.layers.dense({units: 7, kernelInitializer: init(seed + 2), activation: 'softmax'}),
  ]});
}

describe('model.predict through the fused plan', () => {
  it.each(registry)('%s: the plan runs and equals the stock predict', (name, inputShape) => {
    const model = createModel(name, {inputShape, numClasses: 10, seed: 3});
    perturbBatchNorms(model, 11);
    const x = input(37, inputShape, 4);
    expect(expectPlanMatches(model, x)).toBe(true);
    const bPlan = vi.spyOn(FusedPlan.prototype, 'run');
    const want = stock(() => values(() => model.predictOnBatch(x)));
    expectClose('predictOnBatch', values(() => model.predictOnBatch(x)), want, 1e-5);
    expect(bPlan).toHaveBeenCalledTimes(1);
    x.dispose();
    model.dispose();
  });

  it('batch sizes only bound memory (1, 7, 32, 300, on 1, 13 and 300 images); verbose is ignored', () => {
    const model = smallNet(1);
    perturbBatchNorms(model, 5);
    for (const n of [1, 13, 300]) {
      const x = input(n, [9, 9, 3], n);
      for (const batchSize of [undefined, 1, 7, 32, 300]) expect(expectPlanMatches(model, x, {batchSize})).toBe(true);
      expect(expectPlanMatches(model, x, {batchSize: 4, verbose: true})).toBe(true);
      x.dispose();
    }
    model.dispose();
  });

  it('an invalid batch size gets the stock error', () => {
    const model = smallNet(1);
    const x = input(3, [9, 9, 3], 1);
    for (const batchSize of [0, -1, 2.5]) {
      const want = stock(() => {
        try {
          model.predict(x, {batchSize});
        } catch (e) {
          return (e as Error).message;
        }
        return 'no error';
      });
      expect(want).not.toBe('no error');
      expect(() => model.predict(x, {batchSize})).toThrow(want);
    }
    x.dispose();
    model.dispose();
  });

  it('a linear functional model runs the plan; an input of the wrong shape gets the stock error', () => {
    const inp = tfl.input({shape: [6]});
    const h = tfl.layers.dense({units: 5, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({seed: 2})}).apply(inp);
    const out = tfl.layers.dense({units: 3, kernelInitializer: tfl.initializers.glorotUniform({seed: 3})}).apply(h);
    const model = tfl.model({inputs: inp, outputs: out as tfl.SymbolicTensor});
    const x = input(4, [6], 1);
    expect(expectPlanMatches(model, x)).toBe(true);
    const bad = input(4, [5], 1);
    const want = stock(() => {
      try {
        model.predict(bad);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    });
    expect(() => model.predict(bad)).toThrow(want);
    tf.dispose([x, bad]);
    model.dispose();
  });

  it('the result is a tensor the caller owns: it outlives its input, tidy disposes it, tensors stay flat', () => {
    const model = smallNet(2);
    const x = input(5, [9, 9, 3], 2);
    const start = tf.memory().numTensors;
    const y = model.predict(x) as tf.Tensor;
    expect(tf.memory().numTensors).toBe(start + 1);
    x.dispose();
    const s = tf.sum(y);
    expect(Number.isFinite(s.dataSync()[0])).toBe(true);
    tf.dispose([s, y]);
    tf.tidy(() => {
      model.predict(input(5, [9, 9, 3], 3));
    });
    expect(tf.memory().numTensors).toBe(start - 1);
    model.dispose();
  });

  it('follows setWeights, loadWeights-style writes and variable.assign', () => {
    const model = smallNet(3);
    const x = input(6, [9, 9, 3], 3);
    expect(expectPlanMatches(model, x)).toBe(true);
    perturbBatchNorms(model, 21);  // setWeights on every batch norm
    expect(expectPlanMatches(model, x)).toBe(true);
    const other = smallNet(4);
    model.setWeights(other.getWeights());
    expect(expectPlanMatches(model, x)).toBe(true);
    const kernel = model.layers[0].weights[0].read() as tf.Variable;
    tf.tidy(() => kernel.assign(tf.mul(kernel, -2)));
    expect(expectPlanMatches(model, x)).toBe(true);
    tf.dispose([x]);
    model.dispose();
    other.dispose();
  });

  it('follows hafif fit (HostAdam, compiled step, batch norm statistics) and a pruning hook between predicts', async () => {
    const model = smallNet(5);
    const n = 24;
    const x = input(n, [9, 9, 3], 5);
    const y = new Int32Array(n).map((_, i) => i % 7);
    const optimizer = new HostAdam({learningRate: 0.05});
    const pruner = new MagnitudePruner(model, {schedule: constantSparsity({targetSparsity: 0.6, frequency: 1})});
    expect(expectPlanMatches(model, x)).toBe(true);
    const first = values(() => model.predict(x));
    await fit(model, x, y, {epochs: 1, batchSize: 8, optimizer});
    expect(expectPlanMatches(model, x)).toBe(true);
    await fit(model, x, y, {epochs: 1, batchSize: 8, optimizer, hooks: [pruner.hook()]});
    expect(pruner.report().sparsity).toBeGreaterThan(0.4);
    expect(expectPlanMatches(model, x)).toBe(true);
    // The plan did not keep serving the first weights.
    const now = values(() => model.predict(x));
    expect(now.some((v, i) => Math.abs(v - first[i]) > 1e-3)).toBe(true);
    optimizer.dispose();
    x.dispose();
    model.dispose();
  });

  it('follows tfjs model.fit with a tf.train optimizer', async () => {
    const model = smallNet(6);
    model.compile({optimizer: tf.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy'});
    const x = input(16, [9, 9, 3], 6);
    const y = tf.tensor1d(Array.from({length: 16}, (_, i) => i % 7), 'float32');
    expect(expectPlanMatches(model, x)).toBe(true);
    await model.fit(x, y, {epochs: 2, batchSize: 8, verbose: 0});
    expect(expectPlanMatches(model, x)).toBe(true);
    tf.dispose([x, y]);
    model.optimizer.dispose();
    model.dispose();
  });
});

describe('model.predict falls back to the stock method', () => {
  const noPlan = (model: tfl.LayersModel, x: tf.Tensor | tf.Tensor[]) => {
    const run = vi.spyOn(FusedPlan.prototype, 'run');
    const want = stock(() => values(() => model.predict(x)));
    const got = values(() => model.predict(x));
    expect(run).not.toHaveBeenCalled();
    expect(Array.from(got)).toEqual(Array.from(want));
  };

  it('for a layer the plan does not handle', () => {
    const model = tfl.sequential({layers: [
      tfl.layers.dense({inputShape: [4], units: 6}), tfl.layers.layerNormalization(), tfl.layers.dense({units: 2}),
    ]});
    const x = input(3, [4], 1);
    noPlan(model, x);
    x.dispose();
    model.dispose();
  });

  it('for a model with two inputs, and for a branching one', () => {
    const a = tfl.input({shape: [3]}), b = tfl.input({shape: [3]});
    const two = tfl.model({inputs: [a, b], outputs: tfl.layers.dense({units: 2}).apply(tfl.layers.concatenate().apply([a, b])) as tfl.SymbolicTensor});
    const xa = input(4, [3], 1), xb = input(4, [3], 2);
    noPlan(two, [xa, xb]);
    const c = tfl.input({shape: [3]});
    const d1 = tfl.layers.dense({units: 3}).apply(c) as tfl.SymbolicTensor;
    const branching = tfl.model({inputs: c, outputs: tfl.layers.add().apply([c, d1]) as tfl.SymbolicTensor});
    noPlan(branching, xa);
    tf.dispose([xa, xb]);
    two.dispose();
    branching.dispose();
  });

  it('on the cpu backend, with HAFIF_PREDICT_PLAN=0, for int inputs and under a gradient tape', () => {
    const model = smallNet(7);
    const x = input(3, [9, 9, 3], 7);
    useBackend('cpu');
    const xc = input(3, [9, 9, 3], 7);
    noPlan(model, xc);
    xc.dispose();
    useBackend('native');
    const run = vi.spyOn(FusedPlan.prototype, 'run');
    process.env.HAFIF_PREDICT_PLAN = '0';
    tf.dispose(model.predict(x));
    delete process.env.HAFIF_PREDICT_PLAN;
    tf.tidy(() => {
      model.predict(tf.cast(x, 'int32'));
    });
    // The gradient of the sum of outputs with respect to the input flows through the stock predict.
    const g = tf.grad((t: tf.Tensor) => tf.sum(model.predict(t) as tf.Tensor))(x);
    expect(run).not.toHaveBeenCalled();
    expect(tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose(g);
    x.dispose();
    model.dispose();
  });

  it('for a layer whose call was replaced on the instance (fake quantization)', () => {
    const model = smallNet(8);
    const layer = model.layers[8];
    const call = layer.call.bind(layer);
    layer.call = (inputs, kwargs) => tf.mul(call(inputs, kwargs) as tf.Tensor, 2);
    const x = input(3, [9, 9, 3], 8);
    noPlan(model, x);
    layer.call = Object.getPrototypeOf(layer).call;  // restored as QAT restores it: the plan again
    expect(expectPlanMatches(model, x)).toBe(true);
    x.dispose();
    model.dispose();
  });
});
