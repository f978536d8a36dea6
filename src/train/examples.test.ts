// HostExamples.gather: the rows asked for, in order, from float and byte inputs; on native the
// batch buffers come from the backend's pool and go back to it when the batch is disposed.
import * as tf from '@tensorflow/tfjs-core';
import {afterEach, describe, expect, it} from 'vitest';

import {useBackend} from '../backend/index.js';
import {bufferPool} from '../backend/buffer_pool.js';
import {HostExamples} from './examples.js';

describe('HostExamples.gather', () => {
  const backend = tf.getBackend();
  afterEach(() => {
    tf.setBackend(backend);
  });

  for (const name of ['cpu', 'native'] as const) {
    it(`gathers the rows at the indices, in order (${name})`, () => {
      if (useBackend(name) !== name) return;
      const before = tf.memory().numTensors;
      const bytes = new HostExamples({data: Uint8Array.from({length: 5 * 6}, (_, i) => i), shape: [5, 2, 3, 1]});
      const source = tf.tensor(Float32Array.from({length: 5 * 6}, (_, i) => i / 2), [5, 6]);
      const floats = new HostExamples(source);
      for (let round = 0; round < 3; round++) {
        const a = bytes.gather([4, 0, 4]);
        expect(a.shape).toEqual([3, 2, 3, 1]);
        expect(Array.from(a.dataSync())).toEqual([24, 25, 26, 27, 28, 29, 0, 1, 2, 3, 4, 5, 24, 25, 26, 27, 28, 29]);
        const b = floats.gather([1]);
        expect(Array.from(b.dataSync())).toEqual([3, 3.5, 4, 4.5, 5, 5.5]);
        tf.dispose([a, b]);
      }
      source.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('copies runs of consecutive indices as the rows one by one would be', () => {
    const ex = new HostExamples({data: Float32Array.from({length: 9 * 4}, (_, i) => i), shape: [9, 2, 2]});
    const rows = (ix: number[]) => ix.flatMap((r) => [0, 1, 2, 3].map((j) => r * 4 + j));
    for (const ix of [[0, 1, 2, 3, 4, 5, 6, 7, 8], [3, 4, 5], [8], [2, 3, 7, 8, 0], [5, 4, 3], [1, 1, 2], [6, 7, 0, 1, 2]]) {
      const t = ex.gather(ix);
      expect(Array.from(t.dataSync())).toEqual(rows(ix));
      t.dispose();
    }
  });

  it('reuses the pool\'s buffers on native: a disposed batch\'s buffer serves the next one', () => {
    if (useBackend('native') !== 'native' || !bufferPool.enabled) return;
    const ex = new HostExamples({data: new Float32Array(64 * 10).fill(1), shape: [64, 10]});
    ex.gather(Int32Array.from({length: 7}, (_, i) => i)).dispose();
    const hits = bufferPool.hits;
    for (let i = 0; i < 5; i++) ex.gather(Int32Array.from({length: 7}, (_, j) => j + i)).dispose();
    expect(bufferPool.hits).toBe(hits + 5);
  });
});
