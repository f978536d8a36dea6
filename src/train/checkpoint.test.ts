import {mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterAll, afterEach, beforeEach, describe, expect, it} from 'vitest';

import '../backend/index.js';
import {Distiller} from '../distill/index.js';
import {checkpointCallback, latestCheckpoint, listCheckpoints, readCheckpoint, restoreCheckpoint} from './checkpoint.js';
import type {Callback, TrainPosition} from './engine.js';
import {fit, kerasAdam} from './trainer.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'hafif-ckpt-'));
afterAll(() => rmSync(tmp, {recursive: true, force: true}));

/** conv → batch norm → dense: moving statistics must resume too. */
function bnModel(seed: number): tfl.Sequential {
  const glorot = (s: number) => tfl.initializers.glorotUniform({seed: s});
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({inputShape: [4, 4, 1], filters: 3, kernelSize: 3, padding: 'same', kernelInitializer: glorot(seed)}),
      tfl.layers.batchNormalization(),
      tfl.layers.reLU(),
      tfl.layers.flatten(),
      tfl.layers.dense({units: 3, kernelInitializer: glorot(seed + 1)}),
    ],
  });
}

function data(n: number): {x: {data: Float32Array; shape: number[]}; y: Int32Array} {
  const x = new Float32Array(n * 16).map((_, i) => Math.sin(i * 0.37) + Math.cos(i * 1.3));
  const y = new Int32Array(n).map((_, i) => (i * 7) % 3);
  return {x: {data: x, shape: [n, 4, 4, 1]}, y};
}

const weightsOf = (m: tfl.LayersModel) => m.getWeights().map((w) => [...w.dataSync()]);

type Trainer = (model: tfl.LayersModel, optimizer: tf.Optimizer, extra: {callbacks?: Callback[]; signal?: AbortSignal; resume?: TrainPosition}) => Promise<unknown>;

const {x, y} = data(40); // 5 batches of 8 per epoch, 3 epochs = 15 steps
const loop = {epochs: 3, batchSize: 8, seed: 4};
const fitTrainer: Trainer = (model, optimizer, extra) => fit(model, x, y, {...loop, optimizer, ...extra});
const teacher = bnModel(50);
const distillTrainer: Trainer = (student, optimizer, extra) => {
  const d = new Distiller({teacher, student});
  d.compile({optimizer, alpha: 0.4, temperature: 3, distillationLossFn: 'kl'});
  return d.fit(x, y, {...loop, ...extra});
};

/**
 * Uninterrupted, then aborted at `stopAt` (a checkpoint is saved) and resumed in fresh objects;
 * returns the largest relative difference of the final weights (0: bit-identical).
 */
async function resumeDifference(train: Trainer, name: string, stopAt: number, makeOptimizer: () => tf.Optimizer = kerasAdam): Promise<number> {
  const straight = bnModel(9);
  const o1 = makeOptimizer();
  await train(straight, o1, {});
  const expected = weightsOf(straight);
  straight.dispose();
  o1.dispose();

  const dir = path.join(tmp, name);
  const identity = {run: name};
  const first = bnModel(9);
  const o2 = makeOptimizer();
  const controller = new AbortController();
  const stopper: Callback = {onBatchEnd: (c) => void (c.step === stopAt && controller.abort(new Error('kill')))};
  await expect(train(first, o2, {callbacks: [checkpointCallback({dir, identity}), stopper], signal: controller.signal})).rejects.toThrow('kill');
  first.dispose();
  o2.dispose();

  const ckpt = await latestCheckpoint(dir);
  expect(ckpt?.position.step).toBe(stopAt);
  const resumed = bnModel(9);
  const o3 = makeOptimizer();
  const position = await restoreCheckpoint(ckpt!, resumed, o3);
  await train(resumed, o3, {resume: position});
  const got = weightsOf(resumed);
  resumed.dispose();
  o3.dispose();
  let worst = 0;
  got.forEach((w, i) => w.forEach((v, j) => {
    const e = expected[i][j];
    worst = Math.max(worst, Math.abs(v - e) / Math.max(Math.abs(e), 1e-3));
  }));
  return worst;
}

describe('checkpoints', () => {
  let start = 0;
  beforeEach(() => void (start = tf.memory().numTensors));
  afterEach(() => expect(tf.memory().numTensors).toBe(start));

  it('fit stopped mid-epoch and resumed ends bit-identical to an uninterrupted run (batch norm, HostAdam)', async () => {
    expect(await resumeDifference(fitTrainer, 'fit', 7)).toBe(0);
  });

  it('the Distiller stopped mid-epoch and resumed ends bit-identical', async () => {
    expect(await resumeDifference(distillTrainer, 'distill', 8)).toBe(0);
  });

  it('with tf.train.adam the resumed run is within 1e-6 relative (its bias correction is rebuilt as β^(t+1))', async () => {
    const diff = await resumeDifference(fitTrainer, 'tfadam', 7, () => tf.train.adam(1e-3, 0.9, 0.999, 1e-7));
    expect(diff).toBeLessThanOrEqual(1e-6);
  });

  it('resuming from an epoch-end checkpoint works too; files beyond the newest two are removed', async () => {
    const dir = path.join(tmp, 'epochs');
    const model = bnModel(3);
    const o = kerasAdam();
    await fit(model, x, y, {...loop, optimizer: o, callbacks: checkpointCallback({dir, identity: {a: 1}, everySteps: 2})});
    const files = await listCheckpoints(dir);
    expect(files).toHaveLength(2);
    const newest = await readCheckpoint(files[0]);
    expect(newest.position).toMatchObject({epoch: 3, batch: 0, step: 15});
    expect(newest.position.history).toHaveLength(3);
    model.dispose();
    o.dispose();
  });

  it('a corrupt or truncated newest checkpoint falls back to the previous one with a warning', async () => {
    const dir = path.join(tmp, 'corrupt');
    const model = bnModel(3);
    const o = kerasAdam();
    await fit(model, x, y, {...loop, epochs: 2, optimizer: o, callbacks: checkpointCallback({dir, identity: {a: 1}})});
    const [newest, previous] = await listCheckpoints(dir);
    const bytes = readFileSync(newest);
    // A kill during a write leaves a temporary .part file, which is ignored.
    writeFileSync(`${newest}.123-abcd.part`, bytes.subarray(0, 100));
    writeFileSync(newest, bytes.subarray(0, bytes.length - 10));
    const warnings: string[] = [];
    const ckpt = await latestCheckpoint(dir, (m) => warnings.push(m));
    expect(ckpt?.file).toBe(previous);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/truncated, expected \d+ data bytes, got \d+; falling back/);
    // A flipped byte fails the checksum.
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 1] ^= 0xff;
    writeFileSync(newest, flipped);
    await expect(readCheckpoint(newest)).rejects.toThrow('checksum mismatch');
    writeFileSync(path.join(dir, 'ckpt-999999999999.bin'), 'not a checkpoint');
    await expect(readCheckpoint(path.join(dir, 'ckpt-999999999999.bin'))).rejects.toThrow('no hafif checkpoint header');
    expect(readdirSync(dir).filter((f) => f.endsWith('.bin'))).toHaveLength(3);
    model.dispose();
    o.dispose();
  });

  it('a checkpoint of another model shape is refused, naming the weight', async () => {
    const dir = path.join(tmp, 'shape');
    const model = bnModel(3);
    const o = kerasAdam();
    await fit(model, x, y, {...loop, epochs: 1, optimizer: o, callbacks: checkpointCallback({dir, identity: {}})});
    const other = tfl.sequential({layers: [tfl.layers.flatten({inputShape: [4, 4, 1]}), tfl.layers.dense({units: 3})]});
    await expect(restoreCheckpoint((await latestCheckpoint(dir))!, other, o)).rejects.toThrow(/holds 8 weights, the model has 2/);
    other.dispose();
    model.dispose();
    o.dispose();
  });

  it('rejects --checkpoint-every 0', () => {
    expect(() => checkpointCallback({dir: tmp, identity: {}, everySteps: 0})).toThrow('checkpoint-every must be a positive integer, got 0');
  });

  afterAll(() => teacher.dispose());
});
