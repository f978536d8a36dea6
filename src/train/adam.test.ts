import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import '../backend/index.js';
import {HostAdam} from './adam.js';

describe('HostAdam', () => {
  let before = 0;
  beforeEach(() => {
    before = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors).toBe(before);
  });

  it('first step by hand: moves each weight by lr·sign(g) (bias correction makes m̂/sqrt(v̂) = g/|g|)', () => {
    // t=1: m = 0.1·g, v = 0.001·g², m̂ = g, v̂ = g² → w − lr·g/(|g| + ε) ≈ w − lr·sign(g)
    const w = tf.tidy(() => tf.variable(tf.tensor1d([1, -2, 3]), true, 'adam_hand_w'));
    const opt = new HostAdam({learningRate: 0.1});
    const g = tf.tensor1d([0.5, -4, 1e-3]);
    opt.applyGradients({adam_hand_w: g});
    const got = w.dataSync();
    const want = [1 - 0.1 * (0.5 / (0.5 + 1e-7)), -2 + 0.1 * (4 / (4 + 1e-7)), 3 - 0.1 * (1e-3 / (1e-3 + 1e-7))];
    got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-6));
    expect(opt.iterations).toBe(1);
    tf.dispose([w, g]);
    opt.dispose();
  });

  it('matches tf.train.adam over several steps of random gradients', () => {
    const shapes = [[3, 4], [7], [2, 2, 2]];
    // tidy frees each variable's initial tensor; the variable keeps the data.
    const mine = shapes.map((s, i) => tf.tidy(() => tf.variable(tf.randomNormal(s, 0, 1, 'float32', i), true, `adam_a${i}`)));
    const ref = mine.map((v, i) => tf.tidy(() => tf.variable(v.clone(), true, `adam_b${i}`)));
    const a = new HostAdam({learningRate: 0.01, epsilon: 1e-7});
    const b = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
    for (let step = 0; step < 6; step++) {
      const grads = shapes.map((s, i) => tf.randomNormal(s, 0, step + 1, 'float32', 100 * step + i));
      // Passing the variables in different orders also checks moments are kept per name.
      a.applyGradients(Object.fromEntries(grads.map((g, i) => [`adam_a${i}`, g]).reverse()));
      b.applyGradients(grads.map((g, i) => ({name: `adam_b${i}`, tensor: g})));
      tf.dispose(grads);
    }
    mine.forEach((v, i) => {
      const x = v.dataSync();
      const y = ref[i].dataSync();
      x.forEach((xi, j) => expect(Math.abs(xi - y[j])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(y[j]))));
    });
    a.dispose();
    b.dispose();
    tf.dispose([...mine, ...ref]);
  });

  it('minimizes a quadratic through optimizer.minimize', () => {
    const w = tf.tidy(() => tf.variable(tf.tensor1d([5, -3]), true, 'adam_quad_w'));
    const target = tf.tensor1d([1, 2]);
    const opt = new HostAdam({learningRate: 0.1});
    for (let i = 0; i < 300; i++) {
      const cost = opt.minimize(() => tf.sum(tf.squaredDifference(w, target)), true);
      cost?.dispose();
    }
    const v = w.dataSync();
    expect(Math.abs(v[0] - 1)).toBeLessThan(1e-2);
    expect(Math.abs(v[1] - 2)).toBeLessThan(1e-2);
    tf.dispose([w, target]);
    opt.dispose();
  });
});
