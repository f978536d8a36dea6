import * as tfl from '@tensorflow/tfjs-layers';
import {describe, expect, it} from 'vitest';

import {tf} from '../index.js';
import {fit} from '../train/index.js';
import {activationParams, fakeQuantize, fakeQuantizeKernel, QuantizationAware} from './index.js';

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('quantization-aware fine-tuning', () => {
  it('one SGD step updates the float kernel with the gradient taken at the fake-quantized one (STE)', async () => {
    const model = tfl.sequential({layers: [tfl.layers.dense({inputShape: [3], units: 4, kernelInitializer: tfl.initializers.glorotUniform({seed: 4})})]});
    const x = tf.randomUniform([16, 3], -1, 1, 'float32', 8);
    const y = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3], 'int32');
    const [w0, b0] = model.getWeights().map((t) => t.clone());
    const qat = new QuantizationAware(model);
    const sgd = tf.train.sgd(0.5);
    const before = tf.memory().numTensors;
    await fit(model, x, y, {epochs: 1, batchSize: 16, shuffle: false, optimizer: sgd, hooks: [qat.hook]});
    expect(tf.memory().numTensors).toBe(before);
    // By hand: the first batch sets the ranges to its own min and max, so every value is inside
    // them and the straight-through gradient is the identity at both fake-quant points.
    const cal = qat.calibration();
    const expected = tf.tidy(() => {
      const xq = fakeQuantize(x, activationParams(cal.input.min, cal.input.max));
      const wq = fakeQuantizeKernel(w0, 4);
      const z = fakeQuantize(xq.matMul(wq).add(b0), activationParams(Object.values(cal.activations)[0].min, Object.values(cal.activations)[0].max));
      const dz = tf.softmax(z).sub(tf.oneHot(y, 4)).div(16); // mean cross-entropy's gradient
      return [w0.sub(xq.transpose().matMul(dz).mul(0.5)), b0.sub(dz.sum(0).mul(0.5))];
    });
    const [w1, b1] = model.getWeights();
    expect(maxDiff(w1, expected[0])).toBeLessThan(1e-6);
    expect(maxDiff(b1, expected[1])).toBeLessThan(1e-6);
    // The float kernel is back in the variable, not its int8 grid version.
    const onGrid = fakeQuantizeKernel(w1, 4);
    expect(maxDiff(onGrid, w1)).toBeGreaterThan(1e-4);
    // remove() gives the plain model back: its output is the float forward pass.
    qat.remove();
    const out = model.predict(x) as tf.Tensor;
    const plain = tf.tidy(() => x.matMul(w1).add(b1));
    expect(maxDiff(out, plain)).toBeLessThan(1e-6);
    tf.dispose([x, y, w0, b0, ...expected, onGrid, out, plain]);
    sgd.dispose();
    model.dispose();
  });

  it('zeroes the gradient of activations outside the range and refuses unfolded batch norm', () => {
    const bn = tfl.sequential({layers: [tfl.layers.dense({inputShape: [2], units: 2}), tfl.layers.batchNormalization({})]});
    expect(() => new QuantizationAware(bn)).toThrow(/batch norm.*foldBatchNorm/);
    bn.dispose();
    const model = tfl.sequential({layers: [tfl.layers.dense({inputShape: [1], units: 1, kernelInitializer: 'ones', biasInitializer: 'zeros'})]});
    const qat = new QuantizationAware(model, {emaDecay: 0.5});
    // First (inference) call sets the ranges to [0, 1] (input) and [0, 1] (output).
    tf.tidy(() => model.predict(tf.tensor2d([[0], [1]])));
    const g = tf.tidy(() => tf.grad((x: tf.Tensor) => (model.apply(x) as tf.Tensor).sum())(tf.tensor2d([[0.5], [3]])));
    // 0.5 is inside both ranges: gradient 1 (the kernel of ones); 3 is outside the input range: 0.
    expect(Array.from(g.dataSync())).toEqual([1, 0]);
    g.dispose();
    qat.remove();
    model.dispose();
  });
});
