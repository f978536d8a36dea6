import * as tf from '@tensorflow/tfjs-core';
import {describe, expect, it} from 'vitest';

import '../backend/index.js';
import {registerChainedOps} from './chained_ops.js';

// Whichever tfjs-core build the test runner loaded, start these methods from nothing.
const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
for (const name of ['sum', 'add', 'abs', 'matMul', 'as1D', 'toInt', 'argMax', 'reshapeAs']) delete proto[name];
registerChainedOps();

describe('tensor methods', () => {
  it('call the op of the same name with the tensor first', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.tensor2d([[1, -2, 3], [4, 5, -6]]);
      expect(Array.from(x.sum(1).dataSync())).toEqual([2, 3]);
      expect(Array.from(x.add(tf.scalar(1)).abs().dataSync())).toEqual([2, 1, 4, 5, 6, 5]);
      expect(x.matMul(x, false, true).shape).toEqual([2, 2]);
      expect(x.as1D().shape).toEqual([6]);
      expect(x.toInt().dtype).toBe('int32');
      expect(Array.from(x.argMax(1).dataSync())).toEqual([2, 1]);
      expect(x.reshapeAs(tf.zeros([3, 2])).shape).toEqual([3, 2]);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuse a disposed tensor', () => {
    const x = tf.tensor1d([1, 2]);
    x.dispose();
    expect(() => x.sum()).toThrow(/disposed/);
  });
});
