import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {nativeAvailable} from '../index.js';

const available = nativeAvailable();

interface Result {
  shape: number[];
  y: number[];
  dx: number[] | null;
}

function run(backend: 'cpu' | 'native', x: Float32Array, shape: number[], reps: number[]): Result {
  tf.setBackend(backend);
  const results: Result[] = [];
  tf.tidy(() => {
    const t = tf.tensor(x, shape, 'float32');
    const y = tf.tile(t, reps);
    // The gradient of tile sums the repetitions back; tfjs implements it for ranks 1 to 4 only.
    const dx = shape.length >= 1 && shape.length <= 4
      ? Array.from(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.tile(a, reps), tf.reshape(tf.range(0, y.size), y.shape))))(t).dataSync())
      : null;
    results.push({shape: y.shape, y: Array.from(y.dataSync()), dx});
  });
  return results[0];
}

describe.runIf(available)('Tile on native matches cpu', () => {
  let before = 0;
  beforeEach(() => {
    before = tf.memory().numTensors;
  });
  afterEach(() => {
    tf.setBackend('native');
    expect(tf.memory().numTensors).toBe(before);
  });

  const cases: [number[], number[]][] = [
    [[], []],
    [[5], [3]],
    [[2, 3], [1, 1]],
    [[2, 3], [2, 4]],
    [[1, 1, 1, 7], [32, 14, 14, 1]], // batch-norm gradient shape
    [[3, 1, 2], [1, 5, 1]],
    [[2, 3, 4, 5], [2, 1, 3, 2]],
    [[0, 3], [2, 2]],
    [[2, 2, 1, 3, 2], [1, 2, 3, 1, 2]],
  ];
  for (const [shape, reps] of cases) {
    it(`[${shape}] × [${reps}]`, () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = Float32Array.from({length: n}, (_, i) => Math.sin(i * 1.7) * 3);
      const want = run('cpu', x, shape, reps);
      const got = run('native', x, shape, reps);
      expect(tf.getKernel('Tile', 'native')?.kernelFunc).not.toBe(tf.getKernel('Tile', 'cpu')?.kernelFunc);
      expect(got.shape).toEqual(want.shape);
      expect(got.y).toEqual(want.y);
      expect(got.dx).toEqual(want.dx);
    });
  }

  it('other dtypes go to the cpu kernel', () => {
    tf.setBackend('native');
    tf.tidy(() => {
      const t = tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32');
      expect(tf.tile(t, [2, 1]).arraySync()).toEqual([[1, 2], [3, 4], [1, 2], [3, 4]]);
    });
  });
});
