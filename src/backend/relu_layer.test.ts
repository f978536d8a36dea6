// The patched tfjs-layers ReLU (maxValue 6 → one Relu6 kernel when not training on native) gives
// exactly the stock layer's outputs on cpu (Relu then ClipByValue), special values and the sign of
// zero included, and leaves training and other maxValues to the stock call.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterEach, describe, expect, it, vi} from 'vitest';

import {nativeAvailable} from './index.js';
import {clipByValueConfig} from './kernels/ClipByValue.js';
import {relu6Config} from './kernels/Relu6.js';
import {checkLeaks, randoms} from './kernels/test_util.js';

checkLeaks();

const SPECIAL = [0, -0, 1e-30, -1e-30, 6, 6.000001, 5.999999, -6, 7, NaN, Infinity, -Infinity, 3e9];

/** The layer's output on `backend` for x (values in [-9, 9) after the special values). */
async function apply(backend: 'cpu' | 'native', layer: tfl.layers.Layer, shape: number[], training?: boolean) {
  await tf.setBackend(backend);
  const n = shape.reduce((a, b) => a * b, 1);
  const xv = Float32Array.from(randoms(n, 7), (v, i) => (i < SPECIAL.length ? SPECIAL[i] : v * 9));
  return tf.tidy(() => {
    const y = layer.apply(tf.tensor(xv, shape), training == null ? {} : {training}) as tf.Tensor;
    return Float32Array.from(y.dataSync());
  });
}

function expectSame(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; ++i) {
    if (!Object.is(got[i], want[i])) expect.fail(`element ${i}: native ${got[i]}, cpu ${want[i]}`);
  }
}

describe.skipIf(!nativeAvailable())('ReLU layer with maxValue 6 on native', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([[[1, 3, 3, 5]], [[2, 7]], [[131077]]])('inference of %j is one Relu6 kernel, bit-equal to the stock layer on cpu', async (shape) => {
    const layer = tfl.layers.reLU({maxValue: 6});
    const want = await apply('cpu', layer, shape);
    const relu6 = vi.spyOn(relu6Config, 'kernelFunc'), clip = vi.spyOn(clipByValueConfig, 'kernelFunc');
    const got = await apply('native', layer, shape);
    expect(relu6).toHaveBeenCalledTimes(1);
    expect(clip).not.toHaveBeenCalled();
    expectSame(got, want);
  });

  it('training and other maxValues keep the stock call (Relu then ClipByValue)', async () => {
    for (const [maxValue, training] of [[6, true], [4, false], [4, true]] as const) {
      const layer = tfl.layers.reLU({maxValue});
      const want = await apply('cpu', layer, [3, 4, 5], training);
      const relu6 = vi.spyOn(relu6Config, 'kernelFunc'), clip = vi.spyOn(clipByValueConfig, 'kernelFunc');
      const got = await apply('native', layer, [3, 4, 5], training);
      expect(relu6, `maxValue ${maxValue}, training ${training}`).not.toHaveBeenCalled();
      expect(clip, `maxValue ${maxValue}, training ${training}`).toHaveBeenCalledTimes(1);
      expectSame(got, want);
      vi.restoreAllMocks();
    }
  });


  it('a model of conv, batch norm and ReLU6 predicts the same on native as on cpu', async () => {
    const run = async (backend: 'cpu' | 'native') => {
      await tf.setBackend(backend);
      const model = tfl.sequential({layers: [
        tfl.layers.conv2d({inputShape: [5, 5, 3], filters: 6, kernelSize: 3, padding: 'same',
          kernelInitializer: tfl.initializers.glorotUniform({seed: 3})}),
        tfl.layers.batchNormalization({}),
        tfl.layers.reLU({maxValue: 6}),
      ]});
      const y = tf.tidy(() => Float32Array.from((model.predict(tf.mul(tf.tensor4d(randoms(3 * 75, 11), [3, 5, 5, 3]), 4)) as tf.Tensor).dataSync()));
      model.dispose();
      return y;
    };
    const want = await run('cpu');
    const relu6 = vi.spyOn(relu6Config, 'kernelFunc');
    const got = await run('native');
    expect(relu6).toHaveBeenCalledTimes(1);
    for (let i = 0; i < want.length; ++i) expect(Math.abs(got[i] - want[i]), `element ${i}`).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(want[i])));
  });
});
