import * as tfl from '@tensorflow/tfjs-layers';
import {describe, expect, it} from 'vitest';

import {tf} from '../index.js';
import {
  activationParams,
  calibrate,
  channelScales,
  foldBatchNorm,
  Int8Simulation,
  quantizationPoints,
  type Calibration,
} from './index.js';

const maxAbs = (t: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]);
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => maxAbs(tf.sub(a, b)));

/** conv → BN → ReLU → max-pool → depthwise conv → BN → ReLU → flatten → dense: every case the code handles. */
function convBnModel(): tfl.Sequential {
  const init = (seed: number) => tfl.initializers.glorotUniform({seed});
  const m = tfl.sequential({
    layers: [
      tfl.layers.conv2d({inputShape: [8, 8, 2], filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: init(1)}),
      tfl.layers.batchNormalization({epsilon: 1e-3}),
      tfl.layers.reLU(),
      tfl.layers.maxPooling2d({poolSize: 2}),
      tfl.layers.depthwiseConv2d({kernelSize: 3, depthMultiplier: 2, useBias: false, depthwiseInitializer: init(2)}),
      tfl.layers.batchNormalization({}),
      tfl.layers.reLU(),
      tfl.layers.flatten(),
      tfl.layers.dense({units: 5, kernelInitializer: init(3)}),
    ],
  });
  for (const i of [1, 5]) {
    const bn = m.layers[i];
    // gamma, beta, moving mean, moving variance (> 0), away from the identity so folding matters.
    const w = bn.getWeights().map((t, j) => tf.randomUniform(t.shape, j === 3 ? 0.2 : -1, j === 3 ? 2 : 1, 'float32', 10 * i + j));
    bn.setWeights(w);
    tf.dispose(w);
  }
  return m;
}

describe('activation and weight parameters', () => {
  it('matches the hand-worked values of quantization.json', () => {
    // [0, 6.1]: scale = 6.1/255 = 0.0239216, zeroPoint = round(−128 − 0) = −128.
    const a = activationParams(0, 6.1);
    expect(a.scale).toBeCloseTo(0.0239216, 6);
    expect(a.zeroPoint).toBe(-128);
    // [−1, 3]: scale = 4/255 = 0.0156863, zeroPoint = round(−128 + 1/0.0156863) = round(−64.25) = −64.
    expect(activationParams(-1, 3)).toMatchObject({min: -1, max: 3, zeroPoint: -64});
    // [0.5, 2] widens to [0, 2]; a zero range gets scale 1.
    expect(activationParams(0.5, 2)).toMatchObject({min: 0, max: 2, zeroPoint: -128});
    expect(activationParams(0, 0).scale).toBe(1);
    // Channel = fastest index: [[1, -4], [-2, 0]] → channel 0 max 2, channel 1 max 4; a zero channel gets 1.
    expect(channelScales(new Float32Array([1, -4, -2, 0]), 2)).toEqual([2 / 127, 4 / 127]);
    expect(channelScales(new Float32Array([0, 1]), 2)).toEqual([1, 1 / 127]);
  });
});

describe('batch-norm folding', () => {
  it('removes the batch norms and leaves the outputs unchanged', async () => {
    const model = convBnModel();
    const before = tf.memory().numTensors;
    const folded = await foldBatchNorm(model);
    expect(folded.layers.map((l) => l.getClassName())).toEqual(['Conv2D', 'ReLU', 'MaxPooling2D', 'DepthwiseConv2D', 'ReLU', 'Flatten', 'Dense']);
    const x = tf.randomNormal([4, 8, 8, 2], 0, 1, 'float32', 5);
    const [a, b] = [model.predict(x) as tf.Tensor, folded.predict(x) as tf.Tensor];
    expect(maxDiff(a, b)).toBeLessThan(1e-5 * Math.max(1, maxAbs(a)));
    tf.dispose([x, a, b]);
    folded.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('int8 simulation', () => {
  it('quantizes after the fused ReLU, not between conv and ReLU, and not after pooling or flatten', async () => {
    const model = convBnModel();
    const folded = await foldBatchNorm(model);
    const names = folded.layers.map((l) => l.name);
    expect(quantizationPoints(folded).map((p) => p.name)).toEqual(['input', names[1], names[4], names[6]]);
    folded.dispose();
    model.dispose();
  });

  it('with 16 bits and ranges much wider than the data (identity calibration) matches float', async () => {
    const model = convBnModel();
    const folded = await foldBatchNorm(model);
    const x = tf.randomNormal([32, 8, 8, 2], 0, 1, 'float32', 6);
    const before = tf.memory().numTensors;
    const cal = calibrate(folded, x);
    const widen = ({min, max}: {min: number; max: number}) => ({min: 4 * min - 1, max: 4 * max + 1});
    const wide: Calibration = {
      input: widen(cal.input),
      activations: Object.fromEntries(Object.entries(cal.activations).map(([k, r]) => [k, widen(r)])),
    };
    const float = folded.predict(x) as tf.Tensor;
    const scaleOfLogits = maxAbs(float);
    const sim16 = await Int8Simulation.create(folded, wide, {bits: 16});
    const q16 = sim16.predict(x);
    // 16-bit steps over a 4× range: ~1e-4 of the range per tensor, a few of them in a row.
    expect(maxDiff(q16, float)).toBeLessThan(2e-3 * scaleOfLogits);
    // 8 bits with the same wide ranges is visibly coarser: the simulation really rounds.
    const sim8 = await Int8Simulation.create(folded, wide, {bits: 8});
    const q8 = sim8.predict(x);
    expect(maxDiff(q8, float)).toBeGreaterThan(10 * maxDiff(q16, float));
    // The saved parameters follow the contract: symmetric per-channel kernels, depthwise channel = in·mult.
    const dw = folded.layers[3].name;
    expect(sim8.weights[dw]).toMatchObject({axis: 2});
    expect(sim8.weights[dw].scales).toHaveLength(8);
    tf.dispose([float, q16, q8]);
    sim16.dispose();
    sim8.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    folded.dispose();
    model.dispose();
  });

  it('rounds the input to the int8 grid and back: one int8 step at most', async () => {
    const model = tfl.sequential({layers: [tfl.layers.dense({inputShape: [3], units: 2, kernelInitializer: 'ones', biasInitializer: 'zeros'})]});
    const x = tf.tensor2d([[0, 0.5, 1], [0.25, 0.75, 0.1]]);
    const sim = await Int8Simulation.create(model, {input: {min: 0, max: 1}, activations: {[model.layers[0].name]: {min: 0, max: 3}}});
    // Kernel of ones: scale 1/127, stored exactly. Input step 1/255; output step 3/255 = 0.0118.
    const got = sim.predict(x);
    const want = tf.tensor2d([[1.5, 1.5], [1.1, 1.1]]);
    expect(maxDiff(got, want)).toBeLessThanOrEqual(3 / 255 / 2 + 3 / 255 / 2 + 1e-6);
    tf.dispose([x, got, want]);
    sim.dispose();
    model.dispose();
  });

  it('percentile clips a lone outlier; mse keeps it, but clips a light tail when the noise saving pays', () => {
    const model = tfl.sequential({layers: [tfl.layers.dense({inputShape: [1], units: 1, kernelInitializer: 'ones', biasInitializer: 'zeros'})]});
    const name = model.layers[0].name;
    // 1,000 values in [0, 1) and one outlier at 100.
    const values = new Float32Array(1001).map((_, i) => (i < 1000 ? i / 1000 : 100));
    const x = tf.tensor2d(values, [1001, 1]);
    const mm = calibrate(model, x, {method: 'minmax'}).activations[name];
    const pc = calibrate(model, x, {method: 'percentile', percentile: 99.9}).activations[name];
    expect(mm.max).toBeCloseTo(100, 5);
    expect(pc.max).toBeLessThan(2); // the top 0.1% (the outlier) is cut off
    // Keeping [0, 100] at 8 bits costs 1000·(100/255)²/12 ≈ 12.8; clipping near 1 costs 99² ≈ 9801 for the outlier.
    expect(calibrate(model, x, {method: 'mse'}).activations[name].max).toBeCloseTo(100, 5);
    // 10,000 values in [0, 1) and 10 in [1, 2) at 4 bits: the full range costs 10010·(2/15)²/12 ≈ 14.8,
    // a clip at 1 about 10010·(1/15)²/12 + Σ(x − 1)² ≈ 3.7 + 3.3, so the search clips.
    const tail = new Float32Array(10010).map((_, i) => (i < 10000 ? i / 10000 : 1 + (i - 10000) / 10));
    const xt = tf.tensor2d(tail, [10010, 1]);
    const mse = calibrate(model, xt, {method: 'mse', bits: 4}).activations[name];
    expect(mse.max).toBeLessThan(1.6);
    expect(mse.max).toBeGreaterThan(0.8);
    expect(() => calibrate(model, x.slice(0, 0))).toThrow(/calibration set is empty/);
    tf.dispose([x, xt]);
    model.dispose();
  });

  it('refuses a model that is not a chain', async () => {
    const input = tfl.input({shape: [2]});
    const out = tfl.layers.dense({units: 2}).apply(input) as tfl.SymbolicTensor;
    const model = tfl.model({inputs: input, outputs: out});
    expect(() => quantizationPoints(model)).toThrow(/Sequential/);
    model.dispose();
  });
});
