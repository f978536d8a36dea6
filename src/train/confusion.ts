import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {createPredictor} from '../infer/index.js';
import {HostExamples, labelsToInt32, range, type Inputs, type Labels} from './examples.js';
import {checkPositiveInteger} from './engine.js';
import {outputClasses} from './trainer.js';

/**
 * Counts of each true class predicted as each class, `matrix[actual][predicted]`, with the model
 * in inference mode; the predicted class is the output's argmax (the same for logits and
 * probabilities). The diagonal's sum over the total is the accuracy.
 * @example const m = confusionMatrix(student, xTest, yTest); // m[3][5]: threes taken for fives
 */
export function confusionMatrix(model: tfl.LayersModel, x: Inputs, y: Labels, options: {readonly batchSize?: number} = {}): number[][] {
  const {batchSize = 256} = options;
  checkPositiveInteger('batchSize', batchSize);
  const classes = outputClasses(model);
  const examples = new HostExamples(x, 'x');
  const labels = labelsToInt32(y, examples.count, classes, 'y');
  const m = Array.from({length: classes}, () => new Array<number>(classes).fill(0));
  const fused = createPredictor(model, {batchSize});
  for (let start = 0; start < examples.count; start += batchSize) {
    const end = Math.min(start + batchSize, examples.count);
    const pred = tf.tidy(() => tf.argMax(fused.predict(examples.gather(range(start, end)), batchSize), -1));
    const p = pred.dataSync();
    pred.dispose();
    for (let i = 0; i < p.length; i++) m[labels[start + i]][p[i]]++;
  }
  return m;
}
