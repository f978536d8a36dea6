// The buffer pool reuses a disposed tensor's Float32Array for later kernel outputs. These tests
// check that nothing still visible is ever reused: arrays handed to the user, views of a buffer,
// arrays the user wrapped, and that training gives the same bits with the pool on and off.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {BufferPool, bufferPool} from './buffer_pool.js';
import {nativeAvailable} from './index.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function uniform(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({length: n}, () => r() * 2 - 1);
}

/** Many ops whose outputs have `n` elements, each input disposed after use. */
function churn(n: number, rounds = 40): void {
  const one = tf.scalar(1);
  let t = tf.fill([n], 7);
  for (let i = 0; i < rounds; i++) {
    const next = tf.add(t, one);
    t.dispose();
    t = next;
  }
  tf.dispose([t, one]);
}

describe.skipIf(!nativeAvailable())('buffer pool', () => {
  let before = 0;
  beforeEach(() => {
    tf.setBackend('native');
    bufferPool.setEnabled(true);
    before = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors).toBe(before);
    bufferPool.setEnabled(process.env.HAFIF_POOL !== '0');
  });

  it('reuses the buffer of a disposed kernel output', () => {
    const x = tf.tensor1d(uniform(1000, 1));
    const a = tf.exp(x);
    const hits = bufferPool.hits;
    a.dispose();
    const b = tf.exp(x);
    expect(bufferPool.hits).toBe(hits + 1);
    tf.dispose([x, b]);
  });

  it('never reuses an array dataSync() or data() returned', async () => {
    const x = tf.tensor1d(uniform(1000, 2));
    const a = tf.exp(x);
    const b = tf.exp(x);
    const sync = a.dataSync() as Float32Array;
    const viaAsync = (await b.data()) as Float32Array;
    const want1 = Float32Array.from(sync), want2 = Float32Array.from(viaAsync);
    tf.dispose([a, b]);
    churn(1000);
    tf.dispose(x);
    expect(sync).toEqual(want1);
    expect(viaAsync).toEqual(want2);
  });

  it('never reuses an array arraySync() or bufferSync() read', () => {
    const a = tf.tidy(() => tf.exp(tf.tensor1d(uniform(1000, 3))));
    const buf = a.bufferSync();
    const want = Float32Array.from(buf.values as Float32Array);
    a.dispose();
    churn(1000);
    expect(buf.values).toEqual(want);
  });

  it('keeps a contiguous slice view valid after its parent is disposed', () => {
    const x = tf.tensor2d(uniform(2000, 4), [20, 100]);
    const parent = tf.exp(x);
    const view = tf.slice(parent, [5, 0], [10, 100]);
    const want = Float32Array.from(view.dataSync());
    parent.dispose();
    churn(2000);
    churn(1000);
    expect(view.dataSync()).toEqual(want);
    tf.dispose([x, view]);
  });

  it('keeps a reshaped or cloned tensor valid after the original is disposed', () => {
    const parent = tf.tidy(() => tf.relu(tf.tensor1d(uniform(600, 5))));
    const reshaped = tf.reshape(parent, [20, 30]);
    const cloned = tf.clone(parent);
    const want = Float32Array.from(parent.dataSync());
    parent.dispose();
    churn(600);
    expect(reshaped.dataSync()).toEqual(want);
    expect(cloned.dataSync()).toEqual(want);
    tf.dispose([reshaped, cloned]);
  });

  it('never overwrites the array of tf.tensor(userArray)', () => {
    const user = uniform(1000, 6);
    const want = Float32Array.from(user);
    const t = tf.tensor1d(user);
    const y = tf.exp(t);
    tf.dispose([t, y]);
    churn(1000);
    expect(user).toEqual(want);
  });

  it('never reuses the buffer of an input to a cpu kernel', () => {
    const a = tf.tidy(() => tf.exp(tf.tensor2d(uniform(400, 7), [4, 100])));
    const parts = tf.unstack(a); // Unpack: the cpu kernel, which may return views
    const want = parts.map((p) => Float32Array.from(p.dataSync()));
    a.dispose();
    churn(400);
    churn(100);
    parts.forEach((p, i) => expect(p.dataSync()).toEqual(want[i]));
    tf.dispose(parts);
  });

  it('gives bit-identical training losses with the pool on and off', () => {
    const losses = (pool: boolean): number[] => {
      bufferPool.setEnabled(pool);
      const x = tf.tensor4d(uniform(8 * 12 * 12, 8), [8, 12, 12, 1]);
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], 'int32'), 5));
      const w1 = tf.tidy(() => tf.variable(tf.tensor4d(uniform(3 * 3 * 1 * 8, 9), [3, 3, 1, 8])));
      const w2 = tf.tidy(() => tf.variable(tf.tensor4d(uniform(3 * 3 * 8 * 16, 10).map((v) => v * 0.3), [3, 3, 8, 16])));
      const wd = tf.tidy(() => tf.variable(tf.tensor2d(uniform(3 * 3 * 16 * 5, 11).map((v) => v * 0.3), [3 * 3 * 16, 5])));
      const opt = tf.train.adam(1e-2);
      const out: number[] = [];
      const numTensors: number[] = [];
      for (let step = 0; step < 6; step++) {
        const loss = tf.tidy(() => {
          const {value, grads} = tf.variableGrads(() => {
            let h = tf.conv2d(x, w1 as tf.Tensor4D, 2, 'same');
            h = tf.leakyRelu(h, 0.2);
            h = tf.maxPool(h, 2, 1, 'same');
            h = tf.conv2d(h, w2 as tf.Tensor4D, 2, 'same');
            const logits = tf.matMul(tf.reshape(h, [8, -1]), wd);
            return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
          });
          opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({name, tensor})));
          return value;
        });
        out.push(loss.dataSync()[0]);
        loss.dispose();
        numTensors.push(tf.memory().numTensors);
      }
      // Adam's moments appear after the first step; after that the count stays flat.
      expect(new Set(numTensors.slice(1)).size).toBe(1);
      opt.dispose();
      tf.dispose([x, y, w1, w2, wd]);
      return out;
    };
    const off = losses(false);
    const hits = bufferPool.hits;
    const on = losses(true);
    expect(bufferPool.hits).toBeGreaterThan(hits + 20);
    expect(on).toEqual(off);
    expect(on.every(Number.isFinite)).toBe(true);
    expect(on[5]).toBeLessThan(on[0]);
  });

  it('bounds the pooled bytes and the buffers kept per size', () => {
    const pool = new BufferPool({enabled: true, maxBytes: 10_000, maxPerSize: 3});
    const arrays = Array.from({length: 10}, () => pool.alloc(500)); // 2000 bytes each
    for (const a of arrays) pool.adopt(a);
    for (const a of arrays) pool.release(a);
    expect(pool.pooledBytes).toBe(6000);
    const big = Array.from({length: 3}, () => pool.alloc(1000));
    for (const a of big) pool.adopt(a);
    for (const a of big) pool.release(a);
    expect(pool.pooledBytes).toBeLessThanOrEqual(10_000);
    expect(pool.pooledBytes).toBe(10_000);
  });

  it('only reuses buffers it allocated, adopted once and not escaped', () => {
    const pool = new BufferPool({enabled: true});
    const foreign = new Float32Array(100);
    pool.adopt(foreign);
    pool.release(foreign);
    const twice = pool.alloc(100);
    pool.adopt(twice);
    pool.adopt(twice);
    pool.release(twice);
    const viewed = pool.alloc(100);
    pool.adopt(viewed);
    pool.adopt(viewed.subarray(10));
    pool.release(viewed);
    const read = pool.alloc(100);
    pool.adopt(read);
    pool.escape(read);
    pool.release(read);
    expect(pool.pooledBytes).toBe(0);
    const ok = pool.alloc(100);
    pool.adopt(ok);
    pool.release(ok);
    expect(pool.pooledBytes).toBe(400);
    expect(pool.alloc(100)).toBe(ok);
  });
});
