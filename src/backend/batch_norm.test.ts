// Parity of training-mode batch norm (HafifBatchNormTrain and its gradient kernel) with the stock
// tfjs computation (tf.moments + tf.batchNorm + the Keras moving-average update) on the cpu backend:
// forward outputs and tf.grads wrt x, scale and offset, across shapes (batch 1, rank 2, a single
// row), epsilon, momentum, with and without scale and offset; and the patched BatchNormalization
// layer training a conv-BN model the same on native as the stock layer on cpu.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {describe, expect, it} from 'vitest';

import {addon as nativeAddon} from './addon.js';
import type {NativeAddon} from './addon.js';
import {batchNormTraining, nativeAvailable} from './index.js';
import {checkLeaks, countCalls, expectClose, on, randoms, size} from './kernels/test_util.js';

checkLeaks();

interface Case {
  name: string;
  x: number[];
  epsilon: number;
  momentum: number;
  scale: boolean;
  offset: boolean;
  /** Added to x: a large mean checks the variance's accuracy. */
  shift?: number;
}

const cases: Case[] = [
  {name: 'NHWC, Keras defaults', x: [4, 5, 5, 8], epsilon: 1e-3, momentum: 0.99, scale: true, offset: true},
  {name: 'batch 1', x: [1, 3, 4, 6], epsilon: 1e-5, momentum: 0.9, scale: true, offset: true},
  {name: 'no scale', x: [3, 4, 4, 5], epsilon: 1e-3, momentum: 0.9, scale: false, offset: true},
  {name: 'no offset', x: [3, 4, 4, 5], epsilon: 1e-3, momentum: 0.5, scale: true, offset: false},
  {name: 'neither, momentum 0', x: [2, 3, 3, 4], epsilon: 0.1, momentum: 0, scale: false, offset: false},
  {name: 'rank 2 (dense)', x: [16, 10], epsilon: 1e-3, momentum: 0.99, scale: true, offset: true},
  {name: 'one row (variance 0)', x: [1, 1, 1, 3], epsilon: 1e-3, momentum: 0.9, scale: true, offset: true},
  {name: 'mean 50 ≫ std', x: [8, 6, 6, 16], epsilon: 1e-5, momentum: 0.9, scale: true, offset: true, shift: 50},
  {name: 'many rows, 1 channel (blocked sums)', x: [32, 28, 28, 1], epsilon: 1e-3, momentum: 0.99, scale: true,
    offset: true},
  {name: '64 channels', x: [4, 7, 7, 64], epsilon: 1e-5, momentum: 0.9, scale: true, offset: true},
];

type Fn = (x: tf.Tensor, scale: tf.Tensor | null, offset: tf.Tensor | null, mm: tf.Tensor, mv: tf.Tensor) =>
  {y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor; movingMean: tf.Tensor; movingVariance: tf.Tensor};

/** What tfjs-layers' BatchNormalization computes in training, with stock ops. */
const reference = (c: Case): Fn => (x, scale, offset, mm, mv) => {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const {mean, variance} = tf.moments(x, axes);
  // tfjs' own batchNorm gradient cannot save a missing scale or offset: use the constants they stand for.
  const C = x.shape[x.shape.length - 1];
  const y = tf.batchNorm(x, mean, variance, offset ?? tf.zeros([C]), scale ?? tf.ones([C]), c.epsilon);
  const decay = 1 - c.momentum;
  return {y, mean, variance, movingMean: tf.sub(mm, tf.mul(tf.sub(mm, mean), decay)),
    movingVariance: tf.sub(mv, tf.mul(tf.sub(mv, variance), decay))};
};

const native = (c: Case): Fn => (x, scale, offset, movingMean, movingVariance) => {
  const r = batchNormTraining(x, {scale, offset, movingMean, movingVariance, epsilon: c.epsilon, momentum: c.momentum});
  return {y: r.y, mean: r.mean, variance: r.variance, movingMean: r.movingMean!, movingVariance: r.movingVariance!};
};

/** Forward outputs, then gradients of Σ y·w + Σ mean·a + Σ variance·b wrt x, scale and offset. */
function run(c: Case, f: Fn): () => tf.Tensor[] {
  const C = c.x[c.x.length - 1];
  return () => {
    const x = tf.add(tf.tensor(randoms(size(c.x), 1), c.x), c.shift ?? 0);
    const scale = c.scale ? tf.add(tf.tensor1d(randoms(C, 2)), 1) : null;
    const offset = c.offset ? tf.tensor1d(randoms(C, 3)) : null;
    const mm = tf.tensor1d(randoms(C, 4)), mv = tf.add(tf.tensor1d(randoms(C, 5)), 2);
    const w = tf.tensor(randoms(size(c.x), 6), c.x), a = tf.tensor1d(randoms(C, 7)), b = tf.tensor1d(randoms(C, 8));
    const out = f(x, scale, offset, mm, mv);
    const params = [x, scale, offset].filter((t): t is tf.Tensor => t != null);
    const grads = tf.grads((...ps: tf.Tensor[]) => {
      const [xx, ...rest] = ps;
      const s = c.scale ? rest.shift()! : null, o = c.offset ? rest.shift()! : null;
      const r = f(xx, s, o, mm, mv);
      return tf.addN([tf.sum(tf.mul(r.y, w)), tf.sum(tf.mul(r.mean, a)), tf.sum(tf.mul(r.variance, b))]) as tf.Scalar;
    })(params);
    return [out.y, out.mean, out.variance, out.movingMean, out.movingVariance, ...grads];
  };
}

/** fn's outputs on the active backend as host arrays, no tensor left behind. */
function values(fn: () => tf.Tensor[]): {values: Float32Array; shape: number[]}[] {
  const ts = tf.tidy(fn);
  const out = ts.map((t) => ({values: Float32Array.from(t.dataSync()), shape: t.shape}));
  tf.dispose(ts);
  return out;
}

describe.skipIf(!nativeAvailable())('HafifBatchNormTrain + gradient vs tfjs ops on cpu', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const names = ['y', 'mean', 'variance', 'movingMean', 'movingVariance', 'dx',
        ...(c.scale ? ['dscale'] : []), ...(c.offset ? ['doffset'] : [])];
      const want = await on('cpu', run(c, reference(c)));
      await tf.setBackend('native');
      const {result: got, calls} = countCalls(['batchNormTrain', 'batchNormTrainGrad'], () => values(run(c, native(c))));
      // One forward for the outputs, one forward and one backward inside tf.grads.
      expect(calls).toEqual({batchNormTrain: 2, batchNormTrainGrad: 1});
      expect(got.length).toBe(names.length);
      names.forEach((n, i) => {
        expect(got[i].shape, `${n}: shape`).toEqual(want[i].shape);
        expectClose(n, got[i].values, want[i].values);
      });
    });
  }

  it('rejects a scale of the wrong length, naming it', async () => {
    await tf.setBackend('native');
    const x = tf.zeros([2, 4]), s = tf.ones([3]);
    expect(() => batchNormTraining(x, {scale: s})).toThrow('HafifBatchNormTrain: scale has shape [3], expected 4 values');
    tf.dispose([x, s]);
  });
});

/** conv → BN → ReLU → GAP → dense; Adam steps; the losses and all weights (moving stats too). */
function trainConvBn(steps: number): {losses: number[]; weights: Float32Array[]} {
  const model = tfl.sequential({layers: [
    // No conv bias: before batch norm its gradient is rounding noise, which Adam turns into ±lr steps.
    tfl.layers.conv2d({inputShape: [6, 6, 2], filters: 4, kernelSize: 3, padding: 'same', useBias: false,
      kernelInitializer: tfl.initializers.glorotUniform({seed: 1})}),
    tfl.layers.batchNormalization({momentum: 0.9, epsilon: 1e-5}),
    tfl.layers.reLU(),
    tfl.layers.globalAveragePooling2d({}),
    tfl.layers.dense({units: 3, kernelInitializer: tfl.initializers.glorotUniform({seed: 2})}),
  ]});
  const x = tf.tensor4d(randoms(5 * 6 * 6 * 2, 11), [5, 6, 6, 2]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 1, 0], 'int32'), 3));
  const adam = tf.train.adam(1e-2);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const cost = adam.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, {training: true}) as tf.Tensor) as
      tf.Scalar, true, vars)!;
    losses.push(cost.dataSync()[0]);
    cost.dispose();
  }
  const weights = model.getWeights().map((w) => Float32Array.from(w.dataSync()));
  adam.dispose();
  model.dispose();
  tf.dispose([x, y]);
  return {losses, weights};
}

describe.skipIf(!nativeAvailable())('BatchNormalization layer on native', () => {
  it('trains like the stock layer on cpu (5 Adam steps: losses, weights, moving statistics)', async () => {
    await tf.setBackend('cpu');
    const want = trainConvBn(5);
    await tf.setBackend('native');
    const {result: got, calls} = countCalls(['batchNormTrain', 'batchNormTrainGrad'], () => trainConvBn(5));
    expect(calls).toEqual({batchNormTrain: 5, batchNormTrainGrad: 5});
    expectClose('losses', got.losses, want.losses);
    expect(got.weights.length).toBe(want.weights.length);
    got.weights.forEach((w, i) => expectClose(`weight ${i}`, w, want.weights[i]));
  });

  it('inference keeps the stock path (FusedBatchNorm on the moving statistics)', async () => {
    await tf.setBackend('native');
    const layer = tfl.layers.batchNormalization({});
    const x = tf.tensor4d(randoms(2 * 3 * 3 * 4, 3), [2, 3, 3, 4]);
    const {result, calls} = countCalls(['batchNormTrain', 'batchNorm'], () => tf.tidy(() =>
      Float32Array.from((layer.apply(x, {training: false}) as tf.Tensor).dataSync())));
    expect(calls).toEqual({batchNormTrain: 0, batchNorm: 1});
    // Fresh layer: moving mean 0, variance 1, γ 1, β 0 → y = x / sqrt(1 + 1e-3).
    expectClose('y', result, Float32Array.from(x.dataSync(), (v) => v / Math.sqrt(1 + 1e-3)));
    layer.dispose();
    x.dispose();
  });
});

describe.skipIf(!nativeAvailable())('batchNormTrain with a fused activation', () => {
  /**
   * The fused kernels against the plain ones followed by the native Relu / Relu6 and reluGrad:
   * the same values exactly (the same arithmetic, in one pass). Channel 0's x is [-1, 0, 1] per 3
   * rows with β = 6, so its middle row normalizes to exactly 6: Relu6's output is 6 there but
   * the gradient passes (ClipByValue's is x ≤ 6), unlike the row above it.
   */
  const cases = [
    {act: 'relu', max: undefined, rows: 300, C: 5},
    {act: 'relu6', max: 6, rows: 300, C: 5},
    {act: 'relu6', max: 6, rows: 3, C: 1},
    // Channel 1 has a NaN: its pre-activations, outputs and gradients are all NaN (Relu6 of NaN is
    // NaN, as the native unary kernel and tfjs' cpu backend give it, not 6).
    {act: 'relu', max: undefined, rows: 7, C: 3, nan: true},
    {act: 'relu6', max: 6, rows: 7, C: 3, nan: true},
    // Enough rows for several row blocks and threads, 20 channels (not a multiple of 8).
    {act: 'relu6', max: 6, rows: 4101, C: 20},
  ] as const;
  for (const {act, max, rows, C, ...rest} of cases) {
    const nan = 'nan' in rest;
    it(`${act}, ${rows} rows of ${C} channels${nan ? ', a NaN' : ''}`, async () => {
      await tf.setBackend('native');
      const addon = nativeAddon as NativeAddon;
      const n = rows * C;
      const x = randoms(n, 21).map((v) => v * 4);
      for (let r = 0; r < rows; r++) x[r * C] = (r % 3) - 1;
      if (nan) x[C + 1] = NaN;
      const scale = randoms(C, 22).map((v) => v * 8 + 1), offset = randoms(C, 23).map((v) => v * 3);
      offset[0] = 6;
      const dy = randoms(n, 24);
      const mm = randoms(C, 25), mv = randoms(C, 26).map((v) => v + 2);
      const stats = () => ({mean: new Float32Array(C), variance: new Float32Array(C), nmm: new Float32Array(C), nmv: new Float32Array(C)});
      // Plain: normalize, activation, activation gradient, batch-norm gradient.
      const p = stats(), pre = new Float32Array(n), yPlain = new Float32Array(n), dPre = new Float32Array(n);
      addon.batchNormTrain(x, scale, offset, mm, mv, pre, p.mean, p.variance, p.nmm, p.nmv, C, 1e-3, 0.9);
      addon.unary(act === 'relu' ? addon.unaryOps.Relu : addon.unaryOps.Relu6, pre, yPlain);
      addon.reluGrad(pre, dy, dPre, max);
      const dxPlain = new Float32Array(n), dsPlain = new Float32Array(C), doPlain = new Float32Array(C);
      addon.batchNormTrainGrad(dPre, x, p.mean, p.variance, scale, null, null, dxPlain, dsPlain, doPlain, C, 1e-3);
      // Fused.
      const f = stats(), y = new Float32Array(n);
      addon.batchNormTrain(x, scale, offset, mm, mv, y, f.mean, f.variance, f.nmm, f.nmv, C, 1e-3, 0.9, act);
      const dx = new Float32Array(n), ds = new Float32Array(C), dof = new Float32Array(C);
      addon.batchNormTrainGrad(dy, x, f.mean, f.variance, scale, null, null, dx, ds, dof, C, 1e-3, act, offset, y);
      if (nan) {
        expect(y.filter((_, i) => i % C === 1).every(Number.isNaN)).toBe(true);
        expect(dx.filter((_, i) => i % C === 1).every(Number.isNaN)).toBe(true);
      }
      if (act === 'relu6' && !nan) {
        // The case the gradient kernel decides from the pre-activation: output 6, gradient passed.
        const at6 = [...Array(rows).keys()].filter((r) => pre[r * C] === 6);
        expect(at6.length).toBeGreaterThan(0);
        for (const r of at6) expect(dPre[r * C]).toBe(dy[r * C]);
        expect(yPlain.some((v, i) => v === 6 && pre[i] > 6)).toBe(true);
      }
      if (rows > 3) expect(yPlain.some((v) => v === 0)).toBe(true);
      expect(y).toEqual(yPlain);
      expect([f.mean, f.variance, f.nmm, f.nmv]).toEqual([p.mean, p.variance, p.nmm, p.nmv]);
      expect(dx).toEqual(dxPlain);
      expect(ds).toEqual(dsPlain);
      expect(dof).toEqual(doPlain);
    });
  }

  it('rejects an unknown activation and a missing y, naming them', async () => {
    await tf.setBackend('native');
    const addon = nativeAddon as NativeAddon;
    const a = () => new Float32Array(4), c = () => new Float32Array(2);
    expect(() => addon.batchNormTrain(a(), null, null, null, null, a(), c(), c(), null, null, 2, 1e-3, 0.9,
      'elu' as 'relu')).toThrow('activation must be one of linear, relu, relu6, got elu');
    expect(() => addon.batchNormTrainGrad(a(), a(), c(), c(), null, null, null, a(), null, null, 2, 1e-3, 'relu'))
      .toThrow(/y/);
  });
});
