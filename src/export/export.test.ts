import {mkdtemp, readdir, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import '../backend/index.js';
import {useBackend} from '../backend/index.js';
import {createModel} from '../models/index.js';
import {UsageError} from '../util/registry.js';
import {convertModel, exportOnnx, OnnxModel, ortAvailable, tfPads} from './index.js';

const haveOrt = ortAvailable();
let dir: string;
beforeAll(async () => {
  useBackend('cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'hafif-onnx-'));
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

/** Deterministic values in [-1, 1). */
function randomValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Gives every weight of `model` random values (so batch-norm statistics and biases are not trivial). */
function randomizeWeights(model: tfl.LayersModel, seed: number, onlyBatchNorm = false): void {
  let k = seed;
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0 || (onlyBatchNorm && layer.getClassName() !== 'BatchNormalization')) continue;
    const fresh = ws.map((w, i) => {
      const v = randomValues(w.size, k++);
      // moving variance must be positive; keep it near 1.
      const isVar = layer.weights[i].name.includes('moving_variance');
      return tf.tensor(isVar ? v.map((x) => 0.5 + Math.abs(x)) : v, w.shape);
    });
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
}

/** Max |tfjs − ORT| on a random batch of `n` (3 by default) examples. */
async function maxDiff(model: tfl.LayersModel, layout: 'nhwc' | 'nchw' = 'nhwc', n = 3): Promise<number> {
  const shape = model.inputs[0].shape.slice(1) as number[];
  const per = shape.reduce((a, b) => a * b, 1);
  const x = randomValues(n * per, 7);
  const expected = tf.tidy(() => (model.predict(tf.tensor(x, [n, ...shape])) as tf.Tensor).dataSync() as Float32Array);
  const file = path.join(dir, `${model.name}-${layout}.onnx`);
  await exportOnnx(model, file, {layout});
  const onnx = await OnnxModel.load(file);
  let input = x;
  if (layout === 'nchw' && shape.length === 3) {
    const [h, w, c] = shape;
    input = new Float32Array(x.length);
    for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) for (let ch = 0; ch < c; ch++) {
      input[((b * c + ch) * h + y) * w + xx] = x[((b * h + y) * w + xx) * c + ch];
    }
  }
  const got = await onnx.predict(input, n);
  await onnx.dispose();
  expect(got.length).toBe(expected.length);
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - expected[i]));
  return m;
}

function seq(inputShape: number[], ...layers: tfl.layers.Layer[]): tfl.LayersModel {
  const [first, ...rest] = layers;
  // The first layer gets the input shape through an explicit input layer.
  const model = tfl.sequential({layers: [tfl.layers.inputLayer({inputShape}), first, ...rest]});
  randomizeWeights(model, 11);
  return model;
}

describe('tfPads: TensorFlow same padding', () => {
  it('puts the smaller half first, as TensorFlow does', () => {
    // in 5, k 3, s 2: out 3, total (3-1)*2+3-5 = 2 → 1, 1.
    expect(tfPads('same', [5, 5], [3, 3], [2, 2])).toEqual([1, 1, 1, 1]);
    // in 6, k 3, s 2: out 3, total (3-1)*2+3-6 = 1 → 0 before, 1 after.
    expect(tfPads('same', [6, 6], [3, 3], [2, 2])).toEqual([0, 0, 1, 1]);
    // in 7, k 2, s 1: total 1 → 0, 1; in 4, k 4, s 1: total 3 → 1, 2.
    expect(tfPads('same', [7, 4], [2, 4], [1, 1])).toEqual([0, 1, 1, 2]);
    expect(tfPads('valid', [7, 4], [2, 4], [1, 1])).toEqual([0, 0, 0, 0]);
  });
});

describe.skipIf(!haveOrt)('ONNX export matches tfjs (float, within 1e-4)', () => {
  const cases: [string, () => tfl.LayersModel][] = [];
  for (const padding of ['same', 'valid'] as const) {
    for (const strides of [1, 2]) {
      cases.push([`Conv2D ${padding} stride ${strides} odd size`, () =>
        seq([7, 9, 3], tfl.layers.conv2d({filters: 4, kernelSize: [3, 2], strides, padding, activation: 'relu'}))]);
      cases.push([`DepthwiseConv2D ${padding} stride ${strides}`, () =>
        seq([7, 8, 3], tfl.layers.depthwiseConv2d({kernelSize: 3, depthMultiplier: 2, strides, padding}))]);
      cases.push([`MaxPooling2D ${padding} stride ${strides}`, () =>
        seq([7, 6, 2], tfl.layers.maxPooling2d({poolSize: 3, strides, padding}))]);
      cases.push([`AveragePooling2D ${padding} stride ${strides}`, () =>
        seq([7, 6, 2], tfl.layers.averagePooling2d({poolSize: [2, 3], strides, padding}))]);
    }
  }
  cases.push(['Conv2D dilated, no bias, relu6', () =>
    seq([9, 9, 2], tfl.layers.conv2d({filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same', useBias: false, activation: 'relu6'}))]);
  cases.push(['Conv2D + BatchNorm (folded)', () =>
    seq([6, 5, 2], tfl.layers.conv2d({filters: 3, kernelSize: 3, padding: 'same'}), tfl.layers.batchNormalization({epsilon: 1e-3}))]);
  cases.push(['Dense + BatchNorm (folded) and a standalone BatchNorm on a 4-D input', () =>
    seq([5, 5, 3], tfl.layers.batchNormalization({}), tfl.layers.flatten(), tfl.layers.dense({units: 4}), tfl.layers.batchNormalization({}))]);
  cases.push(['GlobalAveragePooling2D', () => seq([5, 7, 3], tfl.layers.conv2d({filters: 3, kernelSize: 1}), tfl.layers.globalAveragePooling2d({}))]);
  cases.push(['GlobalMaxPooling2D', () => seq([5, 7, 3], tfl.layers.conv2d({filters: 3, kernelSize: 1}), tfl.layers.globalMaxPooling2d({}))]);
  cases.push(['Flatten keeps the NHWC order after a conv', () =>
    seq([5, 3, 2], tfl.layers.conv2d({filters: 3, kernelSize: 2}), tfl.layers.flatten(), tfl.layers.dense({units: 5, activation: 'tanh'}))]);
  cases.push(['Reshape', () => seq([4, 6, 2], tfl.layers.conv2d({filters: 2, kernelSize: 1}), tfl.layers.reshape({targetShape: [8, 3, 2]}),
    tfl.layers.conv2d({filters: 2, kernelSize: 2}))]);
  for (const act of ['relu', 'relu6', 'elu', 'sigmoid', 'tanh', 'softmax', 'selu', 'softplus', 'hardSigmoid']) {
    cases.push([`Dense activation ${act}`, () => seq([6], tfl.layers.dense({units: 5, activation: act as 'relu'}))]);
  }
  cases.push(['ReLU, LeakyReLU, ELU, Softmax layers and Dropout on a 4-D input', () =>
    seq([4, 5, 3], tfl.layers.conv2d({filters: 3, kernelSize: 1}), tfl.layers.leakyReLU({alpha: 0.3}), tfl.layers.dropout({rate: 0.5}),
      tfl.layers.elu({alpha: 1}), tfl.layers.reLU({maxValue: 0.5}), tfl.layers.softmax({axis: -1}), tfl.layers.reLU())]);
  cases.push(['Activation layers (sigmoid, tanh, softmax) on a 4-D input', () =>
    seq([4, 5, 3], tfl.layers.conv2d({filters: 3, kernelSize: 1}), tfl.layers.activation({activation: 'sigmoid'}),
      tfl.layers.activation({activation: 'tanh'}), tfl.layers.activation({activation: 'softmax'}))]);

  for (const [name, make] of cases) {
    it(name, async () => {
      const before = tf.memory().numTensors;
      const model = make();
      expect(await maxDiff(model)).toBeLessThan(1e-4);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('Add and Concatenate of NCHW branches (functional model)', async () => {
    const input = tfl.input({shape: [5, 6, 2]});
    const a = tfl.layers.conv2d({filters: 3, kernelSize: 3, padding: 'same'}).apply(input) as tfl.SymbolicTensor;
    const b = tfl.layers.conv2d({filters: 3, kernelSize: 1}).apply(input) as tfl.SymbolicTensor;
    const sum = tfl.layers.add().apply([a, b]) as tfl.SymbolicTensor;
    const cat = tfl.layers.concatenate({axis: -1}).apply([sum, a]) as tfl.SymbolicTensor;
    const pooled = tfl.layers.globalAveragePooling2d({}).apply(cat) as tfl.SymbolicTensor;
    const flatSum = tfl.layers.flatten().apply(sum) as tfl.SymbolicTensor;
    const catFlat = tfl.layers.concatenate().apply([pooled, flatSum]) as tfl.SymbolicTensor;
    const model = tfl.model({inputs: input, outputs: catFlat});
    randomizeWeights(model, 3);
    expect(await maxDiff(model)).toBeLessThan(1e-4);
    model.dispose();
  });

  for (const name of ['keras-student', 'keras-teacher', 'deep-teacher', 'cifar-teacher', 'cifar-student', 'mlp-student']) {
    it(`registry model ${name}`, async () => {
      const inputShape = (name.startsWith('cifar') ? [32, 32, 3] : [28, 28, 1]) as [number, number, number];
      const model = createModel(name, {inputShape, numClasses: 10, seed: 1});
      // Glorot weights as initialized, batch-norm statistics made non-trivial (so folding is tested).
      randomizeWeights(model, 5, true);
      expect(await maxDiff(model, 'nhwc', 2)).toBeLessThan(1e-4);
      model.dispose();
    });
  }

  it('--layout nchw takes NCHW input', async () => {
    const model = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 2});
    expect(await maxDiff(model, 'nchw', 2)).toBeLessThan(1e-4);
    const cifar = seq([6, 5, 3], tfl.layers.conv2d({filters: 2, kernelSize: 3, padding: 'same'}), tfl.layers.flatten());
    expect(await maxDiff(cifar, 'nchw', 2)).toBeLessThan(1e-4);
    model.dispose();
    cifar.dispose();
  });

  it('has a dynamic batch dimension: one file runs batches of 1 and 5', async () => {
    const model = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 2});
    const file = path.join(dir, 'dyn.onnx');
    await exportOnnx(model, file);
    const onnx = await OnnxModel.load(file);
    expect(onnx.inputDims).toEqual([null, 28, 28, 1]);
    expect(onnx.outputDims).toEqual([null, 10]);
    expect((await onnx.run(randomValues(784, 1), 1)).length).toBe(10);
    expect((await onnx.run(randomValues(5 * 784, 1), 5)).length).toBe(50);
    await onnx.dispose();
    model.dispose();
  });
});

describe.skipIf(!haveOrt)('pruned weights', () => {
  it('keep their zeros in the float export, and the zeros make the file gzip smaller', async () => {
    const model = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 3});
    const dense = await exportOnnx(model, path.join(dir, 'dense.onnx'));
    // Zero 80% of the first conv's and the dense layer's kernels, as magnitude pruning would.
    for (const layer of [model.layers[0], model.layers[model.layers.length - 1]]) {
      const [k, ...rest] = layer.getWeights();
      const v = k.dataSync().slice() as Float32Array;
      const order = [...v.keys()].sort((a, b) => Math.abs(v[a]) - Math.abs(v[b]));
      for (const i of order.slice(0, Math.floor(0.8 * v.length))) v[i] = 0;
      const pruned = tf.tensor(v, k.shape);
      layer.setWeights([pruned, ...rest]);
      pruned.dispose();
    }
    const sparse = await exportOnnx(model, path.join(dir, 'sparse.onnx'));
    const {gzipSync} = await import('node:zlib');
    expect(gzipSync(sparse).length).toBeLessThan(0.6 * gzipSync(dense).length);
    const {decodeModel} = await import('./index.js');
    const inits = decodeModel(sparse).graph!.initializer!;
    const kernel = inits.find((t) => t.name === `${model.layers[0].name}/kernel`)!;
    const raw = kernel.rawData!;
    const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const zeros = values.filter((x) => x === 0).length;
    expect(zeros).toBe(Math.floor(0.8 * values.length));
    expect(await maxDiff(model)).toBeLessThan(1e-4);
    model.dispose();
  });
});

describe('bad input', () => {
  it('an unknown layer is an error naming the layer and its class, and nothing is written', async () => {
    const model = tfl.sequential({layers: [
      tfl.layers.inputLayer({inputShape: [4]}),
      tfl.layers.dense({units: 3}),
      tfl.layers.layerNormalization({name: 'ln_1'}),
    ]});
    const file = path.join(dir, 'unknown', 'x.onnx');
    await expect(exportOnnx(model, file)).rejects.toThrow(/layer "ln_1" of class LayerNormalization/);
    await expect(exportOnnx(model, file)).rejects.toBeInstanceOf(UsageError);
    await expect(readdir(path.dirname(file))).rejects.toThrow(/ENOENT/);
    expect(() => convertModel(model)).toThrow(UsageError);
    model.dispose();
  });
});
