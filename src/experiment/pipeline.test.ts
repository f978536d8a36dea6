// The experiment library's compression phases, and resuming a run stopped in the middle of one.
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import '../index.js';
import {loadDataset, type Dataset} from '../data/index.js';
import {keepCount, prunableWeights} from '../prune/index.js';
import {fineTuneSchedule, runExperiment} from './pipeline.js';
import {QUICK_SETTINGS, type ExperimentSettings} from './settings.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'hafif-pipeline-'));
afterAll(() => rmSync(tmp, {recursive: true, force: true}));

// Small and fast: the Keras student as both teacher and student, 256 digits (8 steps per epoch).
const settings: ExperimentSettings = {
  ...QUICK_SETTINGS,
  teacher: 'keras-student',
  student: 'keras-student',
  epochsTeacher: 1,
  epochsStudent: 1,
  seed: 3,
  pruneSparsity: 0.8,
  pruneEpochs: 3,
  quantizeDtype: 'uint8',
};

let data: Dataset;
beforeAll(async () => {
  data = await loadDataset('mnist', {limit: 256, seed: 3});
});

const phases = ['teacher', 'distilled', 'scratch', 'pruned', 'quantized'];
const bytesOf = (dir: string) => Object.fromEntries(phases.map((p) => [p, readFileSync(path.join(dir, p, 'weights.bin'))]));

describe('runExperiment with compression', () => {
  it('prunes the distilled student to the exact kept count and stores uint8 weights that stock tfjs reads', async () => {
    const before = tf.memory().numTensors;
    const dir = path.join(tmp, 'straight');
    const {runs} = await runExperiment(data, settings, {runDir: dir});
    expect(tf.memory().numTensors).toBe(before);
    expect(runs.map((r) => r.name)).toEqual(phases);
    const [, distilled, , pruned, quantized] = runs;
    // Kernels keep max(round(N·0.2), 1) weights each; biases are never pruned.
    const model = await tfl.loadLayersModel(`file://${path.join(dir, 'pruned')}`);
    const kernels = prunableWeights(model, []);
    const kernelSize = kernels.reduce((a, k) => a + k.variable.size, 0);
    const kept = kernels.reduce((a, k) => a + keepCount(k.variable.size, 0.8), 0);
    expect(pruned.nonZeroParams).toBe(pruned.params - kernelSize + kept);
    expect(distilled.nonZeroParams).toBe(distilled.params);
    model.dispose();
    // The quantized model: one byte per weight on disk, the same zeros, about the pruned accuracy.
    const manifest = JSON.parse(readFileSync(path.join(dir, 'quantized', 'model.json'), 'utf8')).weightsManifest[0].weights;
    expect(manifest.every((w: {quantization?: {dtype: string}}) => w.quantization?.dtype === 'uint8')).toBe(true);
    expect(quantized.bytes).toBe(quantized.params);
    // Zero is exact in the affine code, so the zeros stay; a few tiny kept weights round to it too.
    expect(quantized.nonZeroParams).toBeLessThanOrEqual(pruned.nonZeroParams);
    expect(quantized.nonZeroParams).toBeGreaterThan(0.99 * pruned.nonZeroParams);
    expect(Math.abs(quantized.testAccuracy - pruned.testAccuracy)).toBeLessThanOrEqual(0.02);
  });

  it('stopped in the middle of the pruned phase and resumed, ends with the bytes of the straight run', async () => {
    const dir = path.join(tmp, 'stopped');
    const controller = new AbortController();
    const stopped = runExperiment(data, settings, {
      runDir: dir, checkpointEvery: 5, signal: controller.signal,
      // 24 fine-tuning steps; the masks are updated on steps 0–12 (fineTuneSchedule(0.8, 24)).
      // Stopped at step 15, in epoch 2, the resumed run has no mask update left: its masks come
      // from the checkpoint's zeros alone.
      onCheckpoint: (_file, phase, position) => {
        if (phase === 'pruned' && position.step === 15) controller.abort(new Error('stop'));
      },
    });
    await expect(stopped).rejects.toThrow('stop');
    await runExperiment(data, settings, {runDir: dir, resume: true});
    expect(bytesOf(dir)).toEqual(bytesOf(path.join(tmp, 'straight')));
  });

  it('fineTuneSchedule rises to the sparsity over the first half with ten mask updates', () => {
    const s = fineTuneSchedule(0.8, 500); // frequency 25, end step 250
    expect(s.decide(0)).toEqual({prune: true, sparsity: 0});
    expect(s.decide(10).prune).toBe(false);
    expect(s.decide(250)).toEqual({prune: true, sparsity: 0.8});
    expect(s.decide(275).prune).toBe(false);
    // p = 125/250 = 0.5 → s = 0.8·(1 − (1 − 0.5)³) = 0.7.
    expect(s.decide(125).sparsity).toBeCloseTo(0.7, 10);
  });

  it('refuses compression phases without a sparsity, and a sparsity outside [0, 1)', async () => {
    const {pruneSparsity: _unused, ...plain} = settings;
    await expect(runExperiment(data, plain, {runDir: path.join(tmp, 'x'), phases: ['distilled', 'pruned'], teacher: undefined}))
      .rejects.toThrow(/need pruneSparsity|needs a teacher/);
    await expect(runExperiment(data, {...settings, pruneSparsity: 1}, {runDir: path.join(tmp, 'y')}))
      .rejects.toThrow('pruneSparsity must be in [0, 1), got 1');
  });
});

describe('runExperiment with a teacher ensemble, augmentation and schedules', () => {
  const ensemble: ExperimentSettings = {
    ...QUICK_SETTINGS,
    teacher: 'keras-student',
    student: 'keras-student',
    epochsTeacher: 1,
    epochsStudent: 1,
    seed: 3,
    alpha: 0,
    temperature: 4,
    distillationLoss: 'kl',
    teachers: 2,
    teacherAugment: 'shift1',
    teacherSchedule: 'one-cycle:3',
    studentSchedule: 'one-cycle:5',
  };

  it('trains each member from its own seed, distills their mean, and resumes a stopped member exactly', async () => {
    const before = tf.memory().numTensors;
    const dir = path.join(tmp, 'ensemble');
    const {runs} = await runExperiment(data, ensemble, {runDir: dir});
    expect(tf.memory().numTensors).toBe(before);
    expect(runs.map((r) => r.name)).toEqual(['teacher', 'teacher-2', 'distilled', 'scratch']);
    const bytes = (d: string) => ['teacher', 'teacher-2', 'distilled', 'scratch'].map((p) => readFileSync(path.join(d, p, 'weights.bin')));
    const [t1, t2, distilled, scratch] = bytes(dir);
    // Other initial weights and batch order: the members differ; so do the distilled and scratch twins.
    expect(t1.equals(t2)).toBe(false);
    expect(distilled.equals(scratch)).toBe(false);
    // The first member is the one-teacher run's teacher: the same seed, recipe and data.
    const single = path.join(tmp, 'single');
    await runExperiment(data, {...ensemble, teachers: 1}, {runDir: single, phases: ['teacher']});
    expect(readFileSync(path.join(single, 'teacher', 'weights.bin')).equals(t1)).toBe(true);
    // Stopped inside the second member, the resumed run ends with the same bytes.
    const stoppedDir = path.join(tmp, 'ensemble-stopped');
    const controller = new AbortController();
    const stopped = runExperiment(data, ensemble, {
      runDir: stoppedDir, checkpointEvery: 3, signal: controller.signal,
      onCheckpoint: (_file, phase, position) => {
        if (phase === 'teacher-2' && position.step === 3) controller.abort(new Error('stop'));
      },
    });
    await expect(stopped).rejects.toThrow('stop');
    await runExperiment(data, ensemble, {runDir: stoppedDir, resume: true});
    expect(bytes(stoppedDir)).toEqual(bytes(dir));
  });

  it('refuses a bad ensemble size, feature losses on an ensemble and a bad schedule', async () => {
    await expect(runExperiment(data, {...ensemble, teachers: 0})).rejects.toThrow('teachers must be a positive integer, got 0');
    await expect(runExperiment(data, {...ensemble, featureLosses: [{kind: 'hint', studentLayer: 'conv1', teacherLayer: 'conv1'}]}))
      .rejects.toThrow(/feature losses need one teacher/);
    await expect(runExperiment(data, {...ensemble, studentSchedule: 'steps'})).rejects.toThrow(/unknown learning-rate schedule "steps"/);
  });
});
