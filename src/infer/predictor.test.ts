// The fused predictor against model.predict: every registry model (batch norm statistics moved off
// their initial 0 / 1 so folding matters), a model with every handled layer kind, ragged batches,
// the fallback for unknown layers, refresh() after new weights, and no leaked tensors.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {useBackend} from '../backend/index.js';
import {expectClose, randoms} from '../backend/kernels/test_util.js';
import {createModel, type ModelName} from '../models/registry.js';
import {createPredictor} from './predictor.js';

let before = 0;
beforeEach(async () => {
  await tf.setBackend('native');
  before = tf.memory().numTensors;
});
afterEach(async () => {
  await tf.setBackend('native');
  expect(tf.memory().numTensors, 'tensors leaked by the test').toBe(before);
});

/** Moves every batch norm's γ, β, moving mean and variance to seeded values around 1 / 0. */
function perturbBatchNorms(model: tfl.LayersModel, seed: number) {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const ws = layer.getWeights();
    const fresh = ws.map((w, i) => {
      const r = randoms(w.size, seed++);
      const name = layer.weights[i].originalName;
      // variance in [0.5, 1.5], the others in [-0.5, 0.5] (γ around 1)
      const v = r.map((u) => (name.endsWith('moving_variance') ? 1 + u / 2 : name.endsWith('gamma') ? 1 + u / 2 : u / 2));
      return tf.tensor(v, w.shape);
    });
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
}

/** predictor.predict(x, batchSize) equals model.predict(x) within 1e-4 relative. */
function expectSamePredictions(model: tfl.LayersModel, x: tf.Tensor, batchSize?: number) {
  const p = createPredictor(model);
  const want = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
  const got = p.predict(x, batchSize);
  expect(got.shape).toEqual([x.shape[0], ...(model.outputs[0].shape.slice(1) as number[])]);
  expectClose('logits', got.dataSync(), want);
  got.dispose();
  return p;
}

const registry: [ModelName, [number, number, number]][] = [
  ['keras-teacher', [28, 28, 1]], ['keras-student', [28, 28, 1]], ['deep-teacher', [28, 28, 1]],
  ['cifar-teacher', [32, 32, 3]], ['cifar-student', [32, 32, 3]], ['mobile-student', [32, 32, 3]], ['mlp-student', [28, 28, 1]],
];

describe('createPredictor', () => {
  it.each(registry)('%s: fused, and equal to model.predict (ragged batches of 5)', (name, inputShape) => {
    const model = createModel(name, {inputShape, numClasses: 10, seed: 3});
    perturbBatchNorms(model, 11);
    const x = tf.tensor(randoms(12 * inputShape.reduce((a, b) => a * b), 4), [12, ...inputShape]);
    const p = expectSamePredictions(model, x, 5);
    expect(p.fused, p.reason).toBe(true);
    expect(p.reason).toBe('');
    x.dispose();
    model.dispose();
  });

  it('folds batch norm and fuses activations in mobile-student (one pass per conv)', () => {
    const model = createModel('mobile-student', {inputShape: [32, 32, 3], numClasses: 10, seed: 1});
    const p = createPredictor(model);
    // conv + 4 × (depthwise + pointwise), global average pool, dense: 11 passes for 30 layers
    expect(p.plan.length).toBe(11);
    expect(p.plan[1]).toMatch(/depthwise conv 3×3 s1 same \+ batch norm \(.*\) \+ relu6/);
    model.dispose();
  });

  it('handles every layer kind it knows, standalone batch norm and activations included', () => {
    const init = (s: number) => tfl.initializers.glorotUniform({seed: s});
    const model = tfl.sequential({layers: [
      tfl.layers.conv2d({inputShape: [9, 8, 3], filters: 8, kernelSize: 3, padding: 'valid', activation: 'relu',
        kernelInitializer: init(1), biasInitializer: 'ones'}),
      tfl.layers.batchNormalization({epsilon: 1e-3}),  // after relu: cannot fold, runs on its own
      tfl.layers.activation({activation: 'tanh'}),
      tfl.layers.depthwiseConv2d({kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2,
        depthwiseInitializer: init(2), biasInitializer: 'ones', useBias: true}),
      tfl.layers.leakyReLU({alpha: 0.1}),
      tfl.layers.averagePooling2d({poolSize: 2, strides: 1, padding: 'same'}),
      tfl.layers.conv2d({filters: 12, kernelSize: 2, dilationRate: 2, padding: 'same', activation: 'elu', kernelInitializer: init(3)}),
      tfl.layers.dropout({rate: 0.5}),
      tfl.layers.maxPooling2d({poolSize: 2}),
      tfl.layers.flatten(),
      tfl.layers.dense({units: 16, activation: 'sigmoid', kernelInitializer: init(4)}),
      tfl.layers.batchNormalization({}),  // after sigmoid: on its own
      tfl.layers.dense({units: 7, kernelInitializer: init(5)}),
      tfl.layers.batchNormalization({}),  // folds into the dense
      tfl.layers.reLU({maxValue: 6}),
      tfl.layers.dense({units: 5, activation: 'softmax', kernelInitializer: init(6)}),
    ]});
    perturbBatchNorms(model, 21);
    const x = tf.tensor(randoms(7 * 9 * 8 * 3, 5), [7, 9, 8, 3]);
    const p = expectSamePredictions(model, x, 3);
    expect(p.fused, p.reason).toBe(true);
    expect(p.plan.some((l) => /: batch norm$/.test(l))).toBe(true);
    expect(p.plan.some((l) => /dense 16→7 \+ batch norm .* \+ relu6/.test(l))).toBe(true);
    x.dispose();
    model.dispose();
  });

  it('global max pooling, batch 1', () => {
    const model = tfl.sequential({layers: [
      tfl.layers.conv2d({inputShape: [6, 6, 2], filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: 'ones'}),
      tfl.layers.globalMaxPooling2d({}),
    ]});
    const x = tf.tensor(randoms(72, 6), [1, 6, 6, 2]);
    expect(expectSamePredictions(model, x).fused).toBe(true);
    x.dispose();
    model.dispose();
  });

  it('falls back to model.predict for an unknown layer, or names it in strict mode', () => {
    const model = tfl.sequential({layers: [
      tfl.layers.zeroPadding2d({inputShape: [5, 5, 1], padding: 1}),
      tfl.layers.flatten(),
      tfl.layers.dense({units: 3, kernelInitializer: 'ones'}),
    ]});
    const x = tf.tensor(randoms(2 * 25, 7), [2, 5, 5, 1]);
    const p = expectSamePredictions(model, x);
    expect(p.fused).toBe(false);
    expect(p.reason).toMatch(/ZeroPadding2D\) has no fused handler/);
    expect(() => createPredictor(model, {strict: true})).toThrow(/^createPredictor: layer ".*" \(ZeroPadding2D\) has no fused handler$/);
    x.dispose();
    model.dispose();
  });

  it('runs model.predict on the cpu backend', async () => {
    const model = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 2});
    const p = createPredictor(model);
    useBackend('cpu');
    const x = tf.tensor(randoms(3 * 784, 8), [3, 28, 28, 1]);
    const want = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    const got = p.predict(x);
    expectClose('cpu logits', got.dataSync(), want);
    tf.dispose([x, got]);
    model.dispose();
  });

  it('keeps its weight snapshot until refresh()', () => {
    const model = createModel('cifar-student', {inputShape: [32, 32, 3], numClasses: 10, seed: 4});
    const x = tf.tensor(randoms(4 * 3072, 9), [4, 32, 32, 3]);
    const p = createPredictor(model);
    const old = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    const last = model.layers[model.layers.length - 1];
    const shifted = last.getWeights().map((w) => tf.add(w, 0.5));
    last.setWeights(shifted);
    tf.dispose(shifted);
    const stale = p.predict(x);
    expectClose('snapshot', stale.dataSync(), old);
    p.refresh();
    const fresh = p.predict(x);
    const want = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    expectClose('refreshed', fresh.dataSync(), want);
    expect(Math.abs(want[0] - old[0])).toBeGreaterThan(0.1);
    tf.dispose([x, stale, fresh]);
    model.dispose();
  });

  it('rejects a wrong input shape and a bad batch size with one line each', () => {
    const model = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 2});
    const p = createPredictor(model);
    const x = tf.zeros([2, 28, 27, 1]);
    expect(() => p.predict(x)).toThrow('predict: x has shape [2,28,27,1], expected [n, 28, 28, 1]');
    expect(() => p.predict(x, 0)).toThrow('batchSize must be a positive integer, got 0');
    expect(() => createPredictor(model, {batchSize: 2.5})).toThrow('batchSize must be a positive integer, got 2.5');
    tf.dispose(x);
    model.dispose();
  });
});
