import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {describe, expect, it} from 'vitest';

import '../backend/index.js';
import {confusionMatrix} from './confusion.js';
import {evaluate} from './trainer.js';

describe('confusionMatrix', () => {
  it('counts argmax predictions per true class, agrees with evaluate, leaks nothing', () => {
    // A 2-feature, 3-class linear model with identity-like weights: the predicted class is the
    // argmax of [x0, x1, 0.5]. Inputs are chosen so the predictions are known by hand.
    const model = tfl.sequential({layers: [tfl.layers.dense({inputShape: [2], units: 3, useBias: true})]});
    model.setWeights([tf.tensor2d([[1, 0, 0], [0, 1, 0]]), tf.tensor1d([0, 0, 0.5])]);
    const x = tf.tensor2d([
      [2, 0], // -> 0
      [0, 2], // -> 1
      [0, 0], // -> 2
      [1, 0], // -> 0
      [0, 0], // -> 2
    ]);
    const y = [0, 0, 2, 1, 1];
    const before = tf.memory().numTensors;
    const m = confusionMatrix(model, x, y, {batchSize: 2});
    expect(tf.memory().numTensors).toBe(before);
    expect(m).toEqual([
      [1, 1, 0], // true 0: one right, one taken for 1
      [1, 0, 1], // true 1: one as 0, one as 2
      [0, 0, 1], // true 2: right
    ]);
    const diag = m.reduce((s, row, i) => s + row[i], 0);
    expect(diag / 5).toBeCloseTo(evaluate(model, x, tf.tensor1d(y, 'int32')).accuracy, 6);
    tf.dispose(x);
    model.dispose();
  });
});
