// The same student training steps on the cpu backend and on native give the same losses.
import * as tf from '@tensorflow/tfjs-core';
import {afterAll, describe, expect, it} from 'vitest';

import {nativeAvailable, useBackend} from '../backend/index.js';
import {loadDataset} from '../data/index.js';
import {kerasStudent} from '../models/index.js';
import {fit} from './trainer.js';

afterAll(() => {
  useBackend('native');
});

async function losses(backend: 'cpu' | 'native'): Promise<number[]> {
  useBackend(backend, {strict: true});
  const data = await loadDataset('mnist', {limit: 96, seed: 3});
  const before = tf.memory().numTensors;
  const model = kerasStudent({seed: 7});
  const seen: number[] = [];
  const x = {data: data.train.images, shape: [data.train.count, 28, 28, 1]};
  const history = await fit(model, x, data.train.labels, {
    epochs: 2,
    batchSize: 32,
    seed: 5,
    callbacks: {onBatchEnd: ({logs}) => void seen.push(logs.loss)},
  });
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
  expect(history).toHaveLength(2);
  return seen;
}

describe.runIf(nativeAvailable())('student training on both backends', () => {
  it('gives the same losses step by step (6 Adam steps of the Keras student)', async () => {
    const cpu = await losses('cpu');
    const native = await losses('native');
    expect(cpu).toHaveLength(6);
    expect(native).toHaveLength(6);
    // Training moved: the last loss differs from the first.
    expect(Math.abs(cpu[5] - cpu[0])).toBeGreaterThan(1e-3);
    for (let i = 0; i < 6; i++) expect(Math.abs(native[i] - cpu[i])).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(cpu[i])));
  });
});
