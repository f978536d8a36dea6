import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {describe, expect, it} from 'vitest';

import '../backend/index.js';
import {mulberry32} from '../util/random.js';
import {UsageError} from '../util/registry.js';
import {filterNorms, keptFilters, sliceAxis, structuredPrune} from './structured.js';

const glorot = (seed: number) => tfl.initializers.glorotUniform({seed});

/** c1 (6 filters) → BN → ReLU → c2 (4) → max-pool → flatten → d1 (8) → ReLU → logits (3). */
function chain(): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({inputShape: [6, 6, 2], filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: glorot(1), name: 'c1'}),
      tfl.layers.batchNormalization({name: 'bn'}),
      tfl.layers.reLU({name: 'r1'}),
      tfl.layers.conv2d({filters: 4, kernelSize: 3, kernelInitializer: glorot(2), activation: 'relu', name: 'c2'}),
      tfl.layers.maxPooling2d({poolSize: 2, name: 'pool'}),
      tfl.layers.flatten({name: 'flat'}),
      tfl.layers.dense({units: 8, kernelInitializer: glorot(3), activation: 'relu', name: 'd1'}),
      tfl.layers.dense({units: 3, kernelInitializer: glorot(4), name: 'logits'}),
    ],
  });
}

/** Sets the layer's weights from host arrays after `edit` changes them. */
function editWeights(layer: tfl.layers.Layer, edit: (values: Float32Array[], shapes: number[][]) => void): void {
  const ws = layer.getWeights();
  const values = ws.map((w) => w.dataSync().slice() as Float32Array);
  const shapes = ws.map((w) => w.shape);
  edit(values, shapes);
  const ts = values.map((v, i) => tf.tensor(v, shapes[i]));
  layer.setWeights(ts);
  tf.dispose(ts);
}

/** Zeroes filters `dead` of a Conv2D / Dense (kernel's last axis and bias). */
function killFilters(layer: tfl.layers.Layer, dead: number[]): void {
  editWeights(layer, ([k, b]) => {
    const f = b.length;
    for (let i = 0; i < k.length; i++) if (dead.includes(i % f)) k[i] = 0;
    for (const d of dead) b[d] = 0;
  });
}

function randomInput(n: number, seed: number): tf.Tensor4D {
  const rng = mulberry32(seed);
  const v = new Float32Array(n * 6 * 6 * 2);
  for (let i = 0; i < v.length; i++) v[i] = rng() * 2 - 1;
  return tf.tensor4d(v, [n, 6, 6, 2]);
}

describe('structuredPrune', () => {
  it('removing all-zero filters leaves the outputs unchanged (1e-6) and shrinks every shape', async () => {
    const model = chain();
    const x = randomInput(5, 7);
    const before = tf.memory().numTensors;
    // Dead filters: c1 {1, 3, 4} (their BN channels get mean 0 and beta 0, so they stay 0 through
    // BN and ReLU), c2 {0, 2}, d1 {2, 5, 6, 7}: half of each layer, the lowest-norm half.
    killFilters(model.getLayer('c1'), [1, 3, 4]);
    editWeights(model.getLayer('bn'), ([gamma, beta, mean, variance]) => {
      for (let c = 0; c < 6; c++) {
        gamma[c] = 0.5 + 0.25 * c;
        variance[c] = 1 + 0.1 * c;
        mean[c] = [1, 3, 4].includes(c) ? 0 : 0.05 * c;
        beta[c] = [1, 3, 4].includes(c) ? 0 : 0.1;
      }
    });
    killFilters(model.getLayer('c2'), [0, 2]);
    killFilters(model.getLayer('d1'), [2, 5, 6, 7]);
    const yBefore = tf.tidy(() => model.predict(x) as tf.Tensor);
    const {model: small, layers} = await structuredPrune(model, {sparsity: 0.5, norm: 'l2'});
    try {
      expect(layers.map((l) => [l.layer, l.before, l.after, l.kept])).toEqual([
        ['c1', 6, 3, [0, 2, 5]],
        ['c2', 4, 2, [1, 3]],
        ['d1', 8, 4, [0, 1, 3, 4]],
      ]);
      const shapes = Object.fromEntries(small.layers.map((l) => [l.name, l.getWeights().map((w) => w.shape)]));
      expect(shapes).toMatchObject({
        c1: [[3, 3, 2, 3], [3]],
        bn: [[3], [3], [3], [3]],
        c2: [[3, 3, 3, 2], [2]],
        // c2's output is 4×4×2 → pool 2×2×2 → flatten 8.
        d1: [[8, 4], [4]],
        logits: [[4, 3], [3]],
      });
      const yAfter = tf.tidy(() => small.predict(x) as tf.Tensor);
      const a = yBefore.dataSync();
      const b = yAfter.dataSync();
      expect(b.length).toBe(a.length);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-6);
      yAfter.dispose();
    } finally {
      small.dispose();
    }
    yBefore.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    model.dispose();
  });

  it('slices a depthwise conv after a pruned conv (its channels and their multiplier copies)', async () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({inputShape: [6, 6, 2], filters: 4, kernelSize: 3, kernelInitializer: glorot(5), activation: 'relu', name: 'c1'}),
        tfl.layers.depthwiseConv2d({kernelSize: 3, depthMultiplier: 2, depthwiseInitializer: glorot(6), biasInitializer: 'ones', useBias: true, name: 'dw'}),
        tfl.layers.flatten({name: 'flat'}),
        tfl.layers.dense({units: 3, kernelInitializer: glorot(7), name: 'logits'}),
      ],
    });
    const x = randomInput(3, 8);
    // c1 filters 0 and 2 dead; the depthwise outputs of channels 0 and 2 (0·2 + {0, 1}, 2·2 + {0, 1}) get bias 0.
    killFilters(model.getLayer('c1'), [0, 2]);
    editWeights(model.getLayer('dw'), ([, bias]) => {
      for (const i of [0, 1, 4, 5]) bias[i] = 0;
    });
    const a = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    const {model: small, layers} = await structuredPrune(model, {sparsity: 0.5});
    try {
      expect(layers.map((l) => l.kept)).toEqual([[1, 3]]);
      expect(small.getLayer('dw').getWeights().map((w) => w.shape)).toEqual([[3, 3, 2, 2], [4]]);
      // dw output 2×2×(2·2) → flatten 16.
      expect(small.getLayer('logits').getWeights()[0].shape).toEqual([16, 3]);
      const b = tf.tidy(() => (small.predict(x) as tf.Tensor).dataSync());
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-6);
    } finally {
      small.dispose();
      model.dispose();
      x.dispose();
    }
  });

  it('keeps the original model as it was', async () => {
    const model = chain();
    const w0 = model.getWeights().map((w) => w.dataSync().slice());
    const {model: small} = await structuredPrune(model, {sparsity: 0.5});
    small.dispose();
    model.getWeights().forEach((w, i) => expect(Array.from(w.dataSync())).toEqual(Array.from(w0[i])));
    expect(model.getLayer('c1').getWeights()[0].shape).toEqual([3, 3, 2, 6]);
    model.dispose();
  });

  it('refuses a layer whose output feeds two layers, and a concatenated input, naming the layer', async () => {
    const input = tfl.input({shape: [6, 6, 2]});
    const a = tfl.layers.conv2d({filters: 4, kernelSize: 3, padding: 'same', name: 'a'}).apply(input) as tfl.SymbolicTensor;
    const b = tfl.layers.conv2d({filters: 4, kernelSize: 3, padding: 'same', name: 'b'}).apply(a) as tfl.SymbolicTensor;
    const c = tfl.layers.conv2d({filters: 4, kernelSize: 3, padding: 'same', name: 'c'}).apply(a) as tfl.SymbolicTensor;
    const cat = tfl.layers.concatenate({name: 'cat'}).apply([b, c]) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({units: 3, name: 'out'}).apply(tfl.layers.flatten().apply(cat)) as tfl.SymbolicTensor;
    const model = tfl.model({inputs: input, outputs: out});
    try {
      await expect(structuredPrune(model, {sparsity: 0.5})).rejects.toThrow(UsageError);
      await expect(structuredPrune(model, {sparsity: 0.5})).rejects.toThrow(/layer a feeds 2 layers \(b, c\)/);
      await expect(structuredPrune(model, {sparsity: 0.5, skip: ['a']})).rejects.toThrow(/layer b feeds cat \(Concatenate\), which merges/);
      await expect(structuredPrune(model, {sparsity: 1})).rejects.toThrow(/sparsity must be in \[0, 1\), got 1/);
    } finally {
      model.dispose();
    }
  });
});

describe('structured helpers', () => {
  it('filter norms over the kernel, the last axis being the filter', () => {
    // kernel [2, 2] (in 2, out 2) = [[1, -2], [3, 4]]: filter 0 = (1, 3), filter 1 = (−2, 4).
    const k = new Float32Array([1, -2, 3, 4]);
    expect(Array.from(filterNorms(k, 2, 'l1'))).toEqual([4, 6]);
    expect(Array.from(filterNorms(k, 2, 'l2'))).toEqual([Math.sqrt(10), Math.sqrt(20)]);
    expect(keptFilters(new Float64Array([3, 1, 3, 2]), 2)).toEqual([0, 2]);
    expect(keptFilters(new Float64Array([1, 1, 1]), 2)).toEqual([0, 1]);
  });

  it('sliceAxis picks indices along one axis', () => {
    // [2, 3] = [[0, 1, 2], [3, 4, 5]]; axis 1, {0, 2} → [[0, 2], [3, 5]]; axis 0, {1} → [3, 4, 5].
    const v = new Float32Array([0, 1, 2, 3, 4, 5]);
    expect(Array.from(sliceAxis(v, [2, 3], 1, [0, 2]))).toEqual([0, 2, 3, 5]);
    expect(Array.from(sliceAxis(v, [2, 3], 0, [1]))).toEqual([3, 4, 5]);
  });
});
