import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import '../backend/index.js';
import {createModel, models} from './registry.js';
import type {ModelFactoryOptions} from './registry.js';
import {formatBytes, formatCount, modelSize} from './size.js';

/** True when both models' weights are bit-identical (a byte compare: toEqual is slow on 1M floats). */
function sameWeights(a: tfl.LayersModel, b: tfl.LayersModel): boolean {
  const wa = a.getWeights();
  const wb = b.getWeights();
  const bytes = (t: tf.Tensor) => {
    const v = t.dataSync() as Float32Array;
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  };
  return wa.length === wb.length && wa.every((w, i) => bytes(w).equals(bytes(wb[i])));
}

describe('model registry', () => {
  let before = 0;
  beforeEach(() => {
    before = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors).toBe(before);
  });

  it('lists the built-in models and names the known ones on a typo', () => {
    expect(models.names()).toEqual(['keras-teacher', 'keras-student', 'cifar-teacher', 'cifar-student', 'deep-teacher',
      'mobile-student', 'mlp-student']);
    expect(() => createModel('keras-studnet', {inputShape: [28, 28, 1], numClasses: 10})).toThrow(
      'unknown model "keras-studnet"; expected one of keras-teacher, keras-student, cifar-teacher, cifar-student, deep-teacher, mobile-student, mlp-student',
    );
  });

  for (const name of models.names()) {
    it(`${name}: logits of shape [N, classes] on 28×28×1 and 32×32×3; same seed → same weights`, () => {
      for (const inputShape of [[28, 28, 1], [32, 32, 3]] as const) {
        const a = createModel(name, {inputShape, numClasses: 7, seed: 5});
        const b = createModel(name, {inputShape, numClasses: 7, seed: 5});
        const c = createModel(name, {inputShape, numClasses: 7, seed: 6});
        expect(a.outputs[0].shape).toEqual([null, 7]);
        const x = tf.randomUniform([2, ...inputShape], 0, 1, 'float32', 1);
        const y = a.predict(x) as tf.Tensor;
        expect(y.shape).toEqual([2, 7]);
        // Logits, not probabilities: rows need not sum to 1 and may be negative.
        expect(y.dataSync().some((v) => v < 0)).toBe(true);
        expect(sameWeights(a, b)).toBe(true);
        expect(sameWeights(a, c)).toBe(false);
        tf.dispose([x, y]);
        for (const m of [a, b, c]) m.dispose();
      }
    });
  }

  it('parameter counts match the Keras example and the PyTorch reference', () => {
    const shape: ModelFactoryOptions = {inputShape: [28, 28, 1], numClasses: 10};
    const count = (name: string, opts = shape) => {
      const m = createModel(name, opts);
      const s = modelSize(m);
      m.dispose();
      return s;
    };
    // Keras example summary: teacher 1,433,610 and student 20,490 parameters.
    expect(count('keras-teacher').params).toBe(1_433_610);
    expect(count('keras-student').params).toBe(20_490);
    // deep_cnn in PyTorch: convs 320 + 9,248 + 18,496 + 36,928 + 73,856, BN γ/β 64 + 64 + 128 + 128 + 256,
    // linear 1,290 → 140,778 trainable; the BN moving mean/variance add 2·(32+32+64+64+128) = 640.
    const deep = count('deep-teacher');
    expect(deep.trainableParams).toBe(140_778);
    expect(deep.params).toBe(141_418);
    expect(deep.bytes).toBe(141_418 * 4);
    // cifar-student on 32×32×3: 3·9·16+16 = 448, 16·9·32+32 = 4,640, 8·8·32·10+10 = 20,490 → 25,578.
    expect(count('cifar-student', {inputShape: [32, 32, 3], numClasses: 10}).params).toBe(25_578);
    // cifar-teacher on 32×32×3, bias-free convs: 864 + 9,216 + 18,432 + 36,864 + 73,728 + 147,456,
    // BN γ/β 2·(32+32+64+64+128+128) = 896, dense 1,290 → 288,746 trainable.
    expect(count('cifar-teacher', {inputShape: [32, 32, 3], numClasses: 10}).trainableParams).toBe(288_746);
    // mobile-student on 32×32×3 (PyTorch's mobile_student: 19,114): conv 3·9·16 = 432, depthwise 9·(16+32+64+64)
    // = 1,584, pointwise 16·32 + 32·64 + 64·64 + 64·128 = 14,848, BN γ/β 2·(16+16+32+32+64+64+64+64+128) = 960,
    // dense 128·10+10 = 1,290; moving statistics add another 960.
    const mobile = count('mobile-student', {inputShape: [32, 32, 3], numClasses: 10});
    expect(mobile.trainableParams).toBe(19_114);
    expect(mobile.params).toBe(19_114 + 960);
    // mlp-student on 28×28×1: 784·128+128 = 100,480 and 128·10+10 = 1,290.
    expect(count('mlp-student').params).toBe(101_770);
    const m = createModel('mobile-student', {inputShape: [32, 32, 3], numClasses: 10});
    const kinds = m.layers.map((l) => l.getClassName());
    expect(kinds.filter((k) => k === 'DepthwiseConv2D')).toHaveLength(4);
    const depthwise = m.layers.filter((l) => l.getClassName() === 'DepthwiseConv2D')
      .map((l) => (l.outputShape as number[]).slice(1).join('×'));
    m.dispose();
    // Strides 2, then 1, 2, 1, 2 in the depthwise convs, as the reference's.
    expect(depthwise).toEqual(['16×16×16', '8×8×32', '8×8×64', '4×4×64']);
    expect(kinds.filter((k) => k === 'BatchNormalization')).toHaveLength(9);
  });

  it('modelSize lists layers and formats sizes', () => {
    const m = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10});
    const s = modelSize(m);
    // conv1 1·9·16+16 = 160, conv2 16·9·32+32 = 4,640, dense 7·7·32·10+10 = 15,690.
    expect(s.layers.map((l) => l.params)).toEqual([160, 0, 0, 4640, 0, 15690]);
    expect(s.layers.map((l) => l.className)).toEqual(['Conv2D', 'LeakyReLU', 'MaxPooling2D', 'Conv2D', 'Flatten', 'Dense']);
    expect(formatCount(s.params)).toBe('20,490');
    expect(formatBytes(s.bytes)).toBe('80.0 KB');
    expect(formatBytes(1_433_610 * 4)).toBe('5.47 MB');
    m.dispose();
  });
});
