import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {describe, expect, it} from 'vitest';

import '../backend/index.js';
import {Distiller} from '../distill/index.js';
import {fit, HostAdam, type HostArray} from '../train/index.js';
import {mulberry32} from '../util/random.js';
import {keepCount} from './magnitude.js';
import {MagnitudePruner, strip} from './pruner.js';
import {constantSparsity, polynomialDecay} from './schedule.js';

const glorot = (seed: number) => tfl.initializers.glorotUniform({seed});

function net(seed: number): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({inputShape: [5, 5, 1], filters: 6, kernelSize: 3, kernelInitializer: glorot(seed), activation: 'relu'}),
      tfl.layers.flatten(),
      tfl.layers.dense({units: 12, kernelInitializer: glorot(seed + 1), activation: 'relu'}),
      tfl.layers.dense({units: 3, kernelInitializer: glorot(seed + 2)}),
    ],
  });
}

function toyData(n: number, seed: number): {x: HostArray; y: Int32Array} {
  const rng = mulberry32(seed);
  const data = new Float32Array(n * 25);
  for (let i = 0; i < data.length; i++) data[i] = rng() * 2 - 1;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.floor(rng() * 3);
  return {x: {data, shape: [n, 5, 5, 1]}, y};
}

/** Every masked weight is exactly 0; for HostAdam, its m and v too. Returns how many were checked. */
function checkPruned(pruner: MagnitudePruner, optimizer: tf.Optimizer | null): number {
  let checked = 0;
  pruner.targets.forEach((t, i) => {
    const mask = (pruner.masks as Float32Array[])[i];
    const w = t.variable.dataSync();
    const moments = optimizer instanceof HostAdam ? optimizer.momentsOf(t.variable.name) : undefined;
    if (optimizer instanceof HostAdam) expect(moments).toBeDefined();
    let kept = 0;
    for (let j = 0; j < mask.length; j++) {
      if (mask[j] === 1) {
        kept++;
        continue;
      }
      expect(w[j]).toBe(0);
      if (moments) {
        expect(moments.m[j]).toBe(0);
        expect(moments.v[j]).toBe(0);
      }
      checked++;
    }
    expect(kept).toBe(keepCount(mask.length, pruner.sparsity as number));
  });
  return checked;
}

describe('MagnitudePruner.hook in fit', () => {
  it('after 12 Adam steps every pruned weight is exactly 0, its Adam moments are 0, and the kept count is exact', async () => {
    const model = net(1);
    const {x, y} = toyData(48, 2);
    const before = tf.memory().numTensors;
    const optimizer = new HostAdam({learningRate: 0.01});
    // Constant 0.7, frequency 5: masks set at steps 0, 5 and 10 of the 12 (4 batches × 3 epochs).
    const pruner = new MagnitudePruner(model, {schedule: constantSparsity({targetSparsity: 0.7, frequency: 5})});
    await fit(model, x, y, {epochs: 3, batchSize: 12, optimizer, hooks: [pruner.hook()]});
    expect(pruner.sparsity).toBe(0.7);
    // Kept at 0.7: conv 3·3·1·6 = 54 → round(16.2) = 16; dense (3·3·6)·12 = 648 → round(194.4) = 194;
    // logits 12·3 = 36 → round(10.8) = 11.
    expect(checkPruned(pruner, optimizer)).toBe(54 - 16 + 648 - 194 + 36 - 11);

    // The check can fail: three more steps without the hook move the pruned weights and moments.
    await fit(model, x, y, {epochs: 1, batchSize: 16, optimizer});
    const w = pruner.targets[1].variable.dataSync();
    const mask = (pruner.masks as Float32Array[])[1];
    expect(Array.from(w).some((v, j) => mask[j] === 0 && v !== 0)).toBe(true);
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('with tf.train.adam the slots of pruned weights are 0 too', async () => {
    const model = net(3);
    const {x, y} = toyData(32, 4);
    const optimizer = tf.train.adam(0.01);
    const pruner = new MagnitudePruner(model, {schedule: constantSparsity({targetSparsity: 0.5, frequency: 3}), scope: 'global'});
    await fit(model, x, y, {epochs: 2, batchSize: 8, optimizer, hooks: [pruner.hook()]});
    checkPrunedGlobal(pruner);
    const slots = await optimizer.getWeights();
    let zeroed = 0;
    pruner.targets.forEach((t, i) => {
      const mask = (pruner.masks as Float32Array[])[i];
      for (const suffix of ['/m', '/v']) {
        const s = slots.find((n) => n.name === `${t.variable.name}${suffix}`);
        expect(s).toBeDefined();
        const v = (s as {tensor: tf.Tensor}).tensor.dataSync();
        for (let j = 0; j < mask.length; j++) {
          if (mask[j] === 0) {
            expect(Math.abs(v[j])).toBe(0); // tf.mul by the mask leaves −0 for a negative moment
            zeroed++;
          }
        }
      }
    });
    expect(zeroed).toBeGreaterThan(0);
    optimizer.dispose();
    model.dispose();
  });

  it('polynomial decay raises the sparsity on its steps; the tensor count stays flat', async () => {
    const model = net(5);
    const {x, y} = toyData(40, 6);
    const optimizer = new HostAdam({learningRate: 0.01});
    // 0 → 0.8 over steps 0..8, frequency 4: masks at 0 (s = 0), 4 (p = 0.5 → 0.8 − 0.8·0.125 = 0.7), 8 (0.8).
    const pruner = new MagnitudePruner(model, {schedule: polynomialDecay({finalSparsity: 0.8, endStep: 8, frequency: 4})});
    const seen: number[] = [];
    const hook = pruner.hook();
    const spy = {...hook, afterUpdate: (ctx: Parameters<NonNullable<typeof hook.afterUpdate>>[0]) => {
      hook.afterUpdate?.(ctx);
      seen.push(pruner.sparsity as number);
    }};
    await fit(model, x, y, {epochs: 1, batchSize: 4, optimizer, hooks: [spy]}); // 10 steps, 0..9
    expect(seen.length).toBe(10);
    expect(seen.slice(0, 4)).toEqual([0, 0, 0, 0]);
    for (const s of seen.slice(4, 8)) expect(s).toBeCloseTo(0.7, 12);
    expect(seen.slice(8)).toEqual([0.8, 0.8]);
    const tensors = tf.memory().numTensors;
    await fit(model, x, y, {epochs: 2, batchSize: 4, optimizer, hooks: [pruner.hook()]});
    expect(tf.memory().numTensors).toBe(tensors);
    // Kept at 0.8: 54 → round(10.8) = 11, 648 → round(129.6) = 130, 36 → round(7.2) = 7.
    expect(strip(pruner).report.sparsity).toBeCloseTo(1 - (11 + 130 + 7) / (54 + 648 + 36), 12);
    optimizer.dispose();
    model.dispose();
  });

  it('prunes with distillation: the Distiller runs the same hook', async () => {
    const teacher = net(7);
    const student = net(8);
    const {x, y} = toyData(32, 9);
    const optimizer = new HostAdam({learningRate: 0.01});
    const pruner = new MagnitudePruner(student, {schedule: constantSparsity({targetSparsity: 0.8, frequency: 2})});
    const d = new Distiller({teacher, student});
    d.compile({optimizer, alpha: 0.5, distillationLossFn: 'mse'});
    await d.fit(x, y, {epochs: 2, batchSize: 8, hooks: [pruner.hook()]});
    expect(checkPruned(pruner, optimizer)).toBe(54 - 11 + 648 - 130 + 36 - 7);
    d.dispose();
    optimizer.dispose();
    teacher.dispose();
    student.dispose();
  });
});

/** Global scope: the total kept over all kernels is exact. */
function checkPrunedGlobal(pruner: MagnitudePruner): void {
  const masks = pruner.masks as Float32Array[];
  let kept = 0;
  let total = 0;
  pruner.targets.forEach((t, i) => {
    const w = t.variable.dataSync();
    for (let j = 0; j < w.length; j++) {
      if (masks[i][j] === 0) expect(w[j]).toBe(0);
      else kept++;
    }
    total += w.length;
  });
  expect(kept).toBe(keepCount(total, 0.5));
}
