import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {describe, expect, it} from 'vitest';

import '../backend/index.js';
import {UsageError} from '../util/registry.js';
import {keepCount, magnitudeMasks, prunableWeights, topKMasks} from './magnitude.js';
import {MagnitudePruner, strip} from './pruner.js';
import {constantSparsity} from './schedule.js';

const glorot = (seed: number) => tfl.initializers.glorotUniform({seed});

/** conv → BN → ReLU → depthwise conv → flatten → dense: every prunable class and a BN to leave alone. */
function smallNet(): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({inputShape: [6, 6, 2], filters: 5, kernelSize: 3, kernelInitializer: glorot(1), name: 'c1'}),
      tfl.layers.batchNormalization({name: 'bn'}),
      tfl.layers.reLU({name: 'relu'}),
      tfl.layers.depthwiseConv2d({kernelSize: 3, depthMultiplier: 2, depthwiseInitializer: glorot(2), name: 'dw'}),
      tfl.layers.flatten({name: 'flat'}),
      tfl.layers.dense({units: 7, kernelInitializer: glorot(3), biasInitializer: 'ones', name: 'd1'}),
    ],
  });
}

describe('keepCount', () => {
  it('is max(round(N·(1 − s)), 1), rounding halves to even as tf.math.round', () => {
    expect(keepCount(10, 0.8)).toBe(2); // 10 · 0.2 = 2
    expect(keepCount(5, 0.5)).toBe(2); // 2.5 → 2 (half to even; Math.round would give 3)
    expect(keepCount(7, 0.5)).toBe(4); // 3.5 → 4
    expect(keepCount(100, 0.999)).toBe(1); // 0.1 → 0 → at least 1
    expect(keepCount(1000, 0)).toBe(1000);
    expect(keepCount(288, 0.9)).toBe(29); // 28.8 → 29
  });
});

describe('magnitude masks', () => {
  it('keep the k largest |w|, ties to the lower index, exactly k', () => {
    // |w| = [0.5, 3, 1, 1, 2, 0], s = 0.5 → k = round(6·0.5) = 3: 3 and 2, then one of the two 1s
    // (index 2, the lower). TFMOT's |w| ≥ threshold would keep both 1s (4 weights).
    const [m] = magnitudeMasks([new Float32Array([0.5, -3, 1, -1, 2, 0])], 0.5);
    expect(Array.from(m)).toEqual([0, 1, 1, 0, 1, 0]);
  });

  it('per layer ranks each kernel alone; global ranks all together', () => {
    // a = [0.1, 0.2], b = [0.5, 0.6, 0.8, 0.3], s = 0.5.
    //   per layer: a keeps round(1) = 1 → 0.2; b keeps 2 → 0.8, 0.6.
    //   global: k = round(6·0.5) = 3 → 0.8, 0.6, 0.5, all in b.
    const a = new Float32Array([0.1, 0.2]);
    const b = new Float32Array([0.5, 0.6, 0.8, 0.3]);
    expect(magnitudeMasks([a, b], 0.5, 'layer').map((m) => Array.from(m))).toEqual([[0, 1], [0, 1, 1, 0]]);
    expect(magnitudeMasks([a, b], 0.5, 'global').map((m) => Array.from(m))).toEqual([[0, 0], [1, 1, 1, 0]]);
  });

  it('an all-equal kernel still keeps exactly k', () => {
    const [m] = topKMasks([new Float32Array(10).fill(0.25)], 3);
    expect(Array.from(m)).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('prunableWeights', () => {
  it('finds the Conv2D, DepthwiseConv2D and Dense kernels, not biases or batch norm, minus the skip list', () => {
    const model = smallNet();
    try {
      const all = prunableWeights(model);
      expect(all.map((t) => [t.layer, t.className, t.variable.shape])).toEqual([
        ['c1', 'Conv2D', [3, 3, 2, 5]],
        ['dw', 'DepthwiseConv2D', [3, 3, 5, 2]],
        ['d1', 'Dense', [2 * 2 * 10, 7]],
      ]);
      expect(prunableWeights(model, ['dw']).map((t) => t.layer)).toEqual(['c1', 'd1']);
      expect(() => prunableWeights(model, ['nope'])).toThrow(/no layer named "nope"/);
    } finally {
      model.dispose();
    }
  });

  it('a model without a prunable layer is a UsageError naming its layers', () => {
    const model = tfl.sequential({layers: [tfl.layers.flatten({inputShape: [2, 2, 1], name: 'only_flatten'})]});
    try {
      expect(() => prunableWeights(model)).toThrow(UsageError);
      expect(() => prunableWeights(model)).toThrow(/no prunable layer.*only_flatten \(Flatten\)/);
    } finally {
      model.dispose();
    }
  });
});

describe('MagnitudePruner', () => {
  it('zeroes exactly N − keepCount(N, s) weights of each kernel; biases and batch norm untouched', () => {
    const model = smallNet();
    const before = tf.memory().numTensors;
    try {
      const biasBefore = model.getLayer('d1').getWeights()[1].dataSync().slice();
      const bnBefore = model.getLayer('bn').getWeights().map((w) => w.dataSync().slice());
      const pruner = new MagnitudePruner(model, {schedule: constantSparsity({targetSparsity: 0.8})});
      expect(pruner.maybeUpdate(0)).toBe(true);
      const {report} = strip(pruner);
      for (const l of report.layers) {
        // 90 → 18 kept, 90 → 18, 280 → 56.
        expect(l.weights - l.zeros).toBe(keepCount(l.weights, 0.8));
      }
      expect(report.layers.map((l) => l.weights - l.zeros)).toEqual([18, 18, 56]);
      expect(Array.from(model.getLayer('d1').getWeights()[1].dataSync())).toEqual(Array.from(biasBefore));
      model.getLayer('bn').getWeights().forEach((w, i) => expect(Array.from(w.dataSync())).toEqual(Array.from(bnBefore[i])));
      expect(pruner.maybeUpdate(50)).toBe(false);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
    }
  });

  it('keeps the largest-magnitude weights of the original kernel, unchanged', () => {
    const model = smallNet();
    try {
      const orig = model.getLayer('c1').getWeights()[0].dataSync().slice();
      const pruner = new MagnitudePruner(model, {schedule: constantSparsity({targetSparsity: 0.5})});
      pruner.updateMasks(0.5);
      const now = model.getLayer('c1').getWeights()[0].dataSync();
      let minKept = Infinity;
      let maxPruned = 0;
      for (let i = 0; i < orig.length; i++) {
        if (now[i] === 0) maxPruned = Math.max(maxPruned, Math.abs(orig[i]));
        else {
          expect(now[i]).toBe(orig[i]);
          minKept = Math.min(minKept, Math.abs(orig[i]));
        }
      }
      expect(minKept).toBeGreaterThanOrEqual(maxPruned);
    } finally {
      model.dispose();
    }
  });
});
