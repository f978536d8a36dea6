// An ONNX teacher (a hafif model exported and run in onnxruntime-node) distills the same student
// as the tfjs teacher it came from.
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {nativeAvailable, useBackend} from '../backend/index.js';
import {loadDataset, toTensors} from '../data/index.js';
import {Distiller, type LogitsTeacher} from '../distill/index.js';
import {createModel} from '../models/index.js';
import {fit, kerasAdam, type History} from '../train/index.js';
import {exportOnnx, OnnxModel, onnxTeacher, ortAvailable} from './index.js';

let dir: string;
beforeAll(async () => {
  useBackend(nativeAvailable() ? 'native' : 'cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'hafif-onnx-teacher-'));
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

async function distill(teacher: tfl.LayersModel | LogitsTeacher, x: tf.Tensor, y: tf.Tensor): Promise<{history: History; weights: Float32Array[]}> {
  const student = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 9});
  const optimizer = kerasAdam(1e-3);
  const d = new Distiller({teacher, student});
  d.compile({optimizer, alpha: 0.5, temperature: 4, distillationLossFn: 'kl'});
  const history = await d.fit(x, y, {epochs: 2, batchSize: 32, seed: 3});
  const weights = student.getWeights().map((w) => w.dataSync().slice() as Float32Array);
  optimizer.dispose();
  student.dispose();
  return {history, weights};
}

describe.skipIf(!ortAvailable())('distilling from an ONNX teacher', () => {
  it('equals distilling from the tfjs teacher it was exported from', async () => {
    const data = await loadDataset('mnist', {limit: 256});
    const {x, y} = toTensors(data.train, data.inputShape);
    // A conv-BN teacher (batch norm folded on export), trained briefly so its logits mean something.
    const teacher = tfl.sequential({layers: [
      tfl.layers.conv2d({inputShape: [28, 28, 1], filters: 8, kernelSize: 3, padding: 'same', useBias: false}),
      tfl.layers.batchNormalization({momentum: 0.5}),
      tfl.layers.reLU(),
      tfl.layers.maxPooling2d({poolSize: 2}),
      tfl.layers.flatten(),
      tfl.layers.dense({units: 10}),
    ]});
    const opt = kerasAdam(1e-3);
    await fit(teacher, x, y, {epochs: 1, batchSize: 32, optimizer: opt});
    opt.dispose();
    const file = path.join(dir, 'teacher.onnx');
    await exportOnnx(teacher, file);
    const onnx = await OnnxModel.load(file);
    const before = tf.memory().numTensors;
    const fromTfjs = await distill(teacher, x, y);
    const fromOnnx = await distill(onnxTeacher(onnx), x, y);
    expect(tf.memory().numTensors).toBe(before);
    expect(fromOnnx.history).toHaveLength(2);
    for (let e = 0; e < 2; e++) {
      for (const key of ['loss', 'studentLoss', 'distillationLoss'] as const) {
        const a = fromTfjs.history[e][key] as number;
        const b = fromOnnx.history[e][key] as number;
        expect(Math.abs(a - b)).toBeLessThan(1e-4 * Math.max(1, Math.abs(a)));
      }
      expect(fromOnnx.history[e].accuracy).toBeCloseTo(fromTfjs.history[e].accuracy as number, 2);
    }
    let maxDiff = 0;
    fromTfjs.weights.forEach((w, i) => w.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - fromOnnx.weights[i][j])))));
    expect(maxDiff).toBeLessThan(1e-3);
    // And the teacher mattered: a different teacher gives a different student.
    const other = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 77});
    const fromOther = await distill(other, x, y);
    expect(Math.abs((fromOther.history[1].distillationLoss as number) - (fromTfjs.history[1].distillationLoss as number))).toBeGreaterThan(1e-3);
    other.dispose();
    await onnx.dispose();
    teacher.dispose();
    tf.dispose([x, y]);
  });

  it('refuses to run a logits teacher without the cache', async () => {
    const student = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 9});
    const teacher: LogitsTeacher = {inputShape: [28, 28, 1], numClasses: 10, logits: async (_x, n) => new Float32Array(n * 10)};
    const d = new Distiller({teacher, student});
    d.compile({});
    const x = tf.zeros([4, 28, 28, 1]);
    const y = tf.tensor1d([0, 1, 2, 3], 'int32');
    await expect(d.fit(x, y, {cacheTeacherLogits: false})).rejects.toThrow(/needs cacheTeacherLogits/);
    const wrong: LogitsTeacher = {inputShape: [32, 32, 3], numClasses: 10, logits: teacher.logits};
    expect(() => new Distiller({teacher: wrong, student})).toThrow(/teacher input shape \[null,32,32,3\] does not match/);
    d.dispose();
    student.dispose();
    tf.dispose([x, y]);
  });
});
