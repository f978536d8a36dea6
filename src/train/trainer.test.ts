import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import '../backend/index.js';
import {mulberry32} from '../util/random.js';
import type {HostArray} from './examples.js';
import {evaluate, fit, kerasAdam, measureInference} from './trainer.js';
import {trainLoop} from './engine.js';
import {HostExamples} from './examples.js';
import {sparseCategoricalCrossentropy} from '../losses/index.js';

function tinyModel(seed: number, units = 3, softmax = false): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.flatten({inputShape: [4, 4, 1]}),
      tfl.layers.dense({units: 8, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({seed})}),
      tfl.layers.dense({units, kernelInitializer: tfl.initializers.glorotUniform({seed: seed + 1})}),
      ...(softmax ? [tfl.layers.softmax()] : []),
    ],
  });
}

/** What trainLoop's context carries, for loops whose step trains nothing. */
const loopModel = {model: tinyModel(0), optimizer: kerasAdam()};

/** n random 4×4×1 images; the label is which third of the image (rows 0-1, 2, 3) is brightest. */
function toyData(n: number, seed: number): {x: HostArray; y: Int32Array} {
  const rng = mulberry32(seed);
  const data = new Float32Array(n * 16);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = Math.floor(rng() * 3);
    for (let p = 0; p < 16; p++) {
      const row = Math.floor(p / 4);
      const region = row < 2 ? 0 : row - 1;
      data[i * 16 + p] = rng() * 0.5 + (region === y[i] ? 0.7 : 0);
    }
  }
  return {x: {data, shape: [n, 4, 4, 1]}, y};
}

function weightsOf(model: tfl.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
}

describe('trainer', () => {
  let before = 0;
  beforeEach(() => {
    before = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fit learns a separable toy problem and reports per-epoch logs', async () => {
    const model = tinyModel(1);
    const {x, y} = toyData(192, 2);
    const val = toyData(64, 3);
    const optimizer = kerasAdam(0.01);
    const history = await fit(model, x, y, {epochs: 8, batchSize: 16, optimizer, validationData: [val.x, val.y]});
    expect(history.map((h) => h.epoch)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(history[7].loss).toBeLessThan(history[0].loss);
    expect(history[7].accuracy).toBeGreaterThan(0.9);
    // valLoss/valAccuracy are the model's evaluation after the epoch.
    const ev = evaluate(model, val.x, val.y);
    expect(history[7].valLoss).toBeCloseTo(ev.loss, 5);
    expect(history[7].valAccuracy).toBeCloseTo(ev.accuracy, 6);
    expect(ev.accuracy).toBeGreaterThan(0.9);
    expect(history[7].imagesPerSecond).toBeGreaterThan(0);
    optimizer.dispose();
    model.dispose();
  });

  it("the built-in loss (one fused host step) trains exactly like the same loss as a plain function", async () => {
    // A new function around the built-in sends fit down its generic path (loss op with its own
    // gradient, accuracy from the kept logits).
    const {x, y} = toyData(48, 7);
    const run = async (loss: 'sparse-categorical-crossentropy' | ((l: tf.Tensor, z: tf.Tensor) => tf.Scalar)) => {
      const model = tinyModel(5);
      const history = await fit(model, x, y, {epochs: 2, batchSize: 16, loss});
      const w = weightsOf(model);
      model.dispose();
      return {history, w};
    };
    const fused = await run('sparse-categorical-crossentropy');
    const generic = await run((l, z) => sparseCategoricalCrossentropy(l, z));
    const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(b)));
    for (let e = 0; e < 2; e++) {
      close(fused.history[e].loss, generic.history[e].loss);
      close(fused.history[e].accuracy, generic.history[e].accuracy);
    }
    fused.w.forEach((w, i) => w.forEach((v, j) => close(v, generic.w[i][j])));
  });

  it('keeps tf.memory().numTensors flat across steps and epochs', async () => {
    const model = tinyModel(1);
    const optimizer = kerasAdam();
    const {x, y} = toyData(40, 2);
    const afterBatch: number[] = [];
    const afterEpoch: number[] = [];
    await fit(model, x, y, {
      epochs: 3,
      batchSize: 16,
      optimizer,
      validationData: [x, y],
      callbacks: {
        onBatchEnd: () => void afterBatch.push(tf.memory().numTensors),
        onEpochEnd: () => void afterEpoch.push(tf.memory().numTensors),
      },
    });
    // The first step creates Adam's moment variables; from then on nothing accumulates.
    expect(afterBatch).toHaveLength(9);
    expect(new Set(afterBatch).size).toBe(1);
    expect(new Set(afterEpoch).size).toBe(1);
    expect(afterEpoch[0]).toBe(afterBatch[0]);
    optimizer.dispose();
    model.dispose();
  });

  it('the same seeds give bit-identical weights; another shuffle seed does not', async () => {
    const {x, y} = toyData(64, 5);
    const run = async (shuffleSeed: number) => {
      const m = tinyModel(7);
      await fit(m, x, y, {epochs: 2, batchSize: 8, seed: shuffleSeed});
      const w = weightsOf(m);
      m.dispose();
      return w;
    };
    const a = await run(11);
    const b = await run(11);
    const c = await run(12);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('shuffles each epoch differently, reproducibly from the seed, visiting every example once', async () => {
    const examples = new HostExamples({data: new Float32Array(10), shape: [10, 1]});
    const labels = new Int32Array(10);
    const order = async (seed: number, shuffle = true) => {
      const seen: number[][] = [];
      await trainLoop(examples, labels, ({indices}) => {
        seen.push([...indices]);
        return {loss: 0};
      }, {epochs: 2, batchSize: 4, seed, shuffle, ...loopModel});
      return seen;
    };
    const a = await order(3);
    expect(a.map((b) => b.length)).toEqual([4, 4, 2, 4, 4, 2]);
    const epoch0 = a.slice(0, 3).flat();
    const epoch1 = a.slice(3).flat();
    expect([...epoch0].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(epoch1).not.toEqual(epoch0);
    expect(await order(3)).toEqual(a);
    expect(await order(4)).not.toEqual(a);
    expect((await order(3, false)).slice(0, 3).flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('averages step logs over examples, weighting the short last batch', async () => {
    const examples = new HostExamples({data: new Float32Array(5), shape: [5, 1]});
    // Batches of 2, 2, 1 reporting loss 1, 2, 4: (2·1 + 2·2 + 1·4) / 5 = 2.
    const losses = [1, 2, 4];
    let i = 0;
    const history = await trainLoop(examples, new Int32Array(5), () => ({loss: losses[i++]}), {batchSize: 2, ...loopModel});
    expect(history[0].loss).toBe(2);
  });

  it('evaluate: all-zero logits give loss ln C and the accuracy of always answering class 0', () => {
    const model = tinyModel(1);
    const zeros = model.getWeights().map((w) => tf.zerosLike(w));
    model.setWeights(zeros);
    tf.dispose(zeros);
    const {x} = toyData(8, 1);
    // logits [0, 0, 0] → softmax 1/3 each → loss −ln(1/3) = ln 3; argmax of a tie is 0,
    // so accuracy = (number of label-0 examples) / 8 = 3/8 with these labels.
    const y = new Int32Array([0, 1, 2, 0, 1, 2, 0, 1]);
    const ev = evaluate(model, x, y, 3);
    expect(ev.loss).toBeCloseTo(Math.log(3), 6);
    expect(ev.accuracy).toBe(3 / 8);
    model.dispose();
  });

  it('stops at the abort signal with the signal reason and no leaked tensors', async () => {
    const model = tinyModel(1);
    const {x, y} = toyData(64, 2);
    const controller = new AbortController();
    let batches = 0;
    const run = fit(model, x, y, {
      epochs: 5,
      batchSize: 8,
      signal: controller.signal,
      callbacks: {
        onBatchEnd: ({batch}) => {
          batches++;
          if (batch === 2) controller.abort(new Error('stop requested'));
        },
      },
    });
    await expect(run).rejects.toThrow('stop requested');
    expect(batches).toBe(3);
    model.dispose();
  });

  it('rejects bad arguments with the bad value in the message', async () => {
    const model = tinyModel(1);
    const {x, y} = toyData(8, 2);
    await expect(fit(model, x, y, {batchSize: 0})).rejects.toThrow('batchSize must be a positive integer, got 0');
    await expect(fit(model, x, y, {epochs: 1.5})).rejects.toThrow('epochs must be a positive integer, got 1.5');
    await expect(fit(model, x, y.subarray(0, 7))).rejects.toThrow('y has 7 labels for 8 examples');
    await expect(fit(model, x, new Int32Array([0, 1, 2, 3, 0, 0, 0, 0]))).rejects.toThrow(
      'y[3] = 3 is not a class index in [0, 3)',
    );
    await expect(fit(model, {data: new Float32Array(10), shape: [8, 4, 4, 1]}, y)).rejects.toThrow(
      'x: shape [8,4,4,1] needs 128 values, got 10',
    );
    await expect(fit(model, x, y, {loss: 'hinge' as 'sparse-categorical-crossentropy'})).rejects.toThrow(
      'unknown student loss "hinge"',
    );
    model.dispose();
  });

  it('measureInference counts every image of every repeat', () => {
    const model = tinyModel(1);
    const {x} = toyData(10, 2);
    const speed = measureInference(model, x, {batchSize: 4, repeats: 2});
    expect(speed.images).toBe(20);
    expect(speed.imagesPerSecond).toBeGreaterThan(0);
    model.dispose();
  });

  it("a softmax model declared outputs: 'probabilities' trains and evaluates like its logit twin", async () => {
    const {x, y} = toyData(48, 4);
    const run = async (softmax: boolean) => {
      const m = tinyModel(3, 3, softmax);
      const outputs = softmax ? 'probabilities' : 'logits';
      const history = await fit(m, x, y, {epochs: 2, batchSize: 16, outputs});
      const ev = evaluate(m, x, y, {outputs});
      m.dispose();
      return {history, ev};
    };
    const p = await run(true);
    const l = await run(false);
    expect(p.history[1].loss).toBeCloseTo(l.history[1].loss, 4);
    expect(p.ev.loss).toBeCloseTo(l.ev.loss, 4);
    expect(p.ev.accuracy).toBe(l.ev.accuracy);
  });
});
