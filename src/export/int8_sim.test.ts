// The int8 ONNX in onnxruntime against hafif quantize's TypeScript int8 simulation, under the
// same calibration: ORT's integer kernels and the simulation should agree to about one step of
// the output scale.
import * as tf from '@tensorflow/tfjs-core';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import '../index.js'; // the chained tensor ops the quantize module uses
import {nativeAvailable, useBackend} from '../backend/index.js';
import {loadDataset, toTensors} from '../data/index.js';
import {createModel} from '../models/index.js';
import {calibrate, Int8Simulation, quantizationFile} from '../quantize/index.js';
import {fit, kerasAdam} from '../train/index.js';
import {cpuHasVnni, exportOnnxInt8, OnnxModel, ortAvailable, type Int8CalibrationFile} from './index.js';

let dir: string;
beforeAll(async () => {
  useBackend(nativeAvailable() ? 'native' : 'cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'hafif-int8-sim-'));
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

describe.skipIf(!ortAvailable())('int8 ONNX against the simulated int8 of hafif quantize', () => {
  // S8S8 saturates in onnxruntime's kernels on a CPU without VNNI (cpuHasVnni).
  it.skipIf(!cpuHasVnni())('most outputs within one step of the output scale (S8S8, the simulation\'s scheme)', async () => {
    const data = await loadDataset('mnist', {limit: 1000});
    const train = toTensors(data.train, data.inputShape);
    const model = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 2});
    const opt = kerasAdam(2e-3);
    await fit(model, train.x, train.y, {epochs: 1, batchSize: 32, optimizer: opt, seed: 0});
    opt.dispose();
    const calib = tf.slice(train.x, 0, 256);
    const calibration = calibrate(model, calib);
    const sim = await Int8Simulation.create(model, calibration);
    const q = quantizationFile(model, sim, {weightsSha256: '0'.repeat(64), method: 'minmax', examples: 256, dataset: 'mnist-embedded'});
    const file = path.join(dir, 'student-s8s8.onnx');
    await exportOnnxInt8(model, file, {calibration: q as unknown as Int8CalibrationFile, format: 'qdq', scheme: 's8s8'});
    const n = 256;
    const x = data.test.images.subarray(0, n * 784);
    const xt = tf.tensor4d(x, [n, 28, 28, 1]);
    const simulated = tf.tidy(() => sim.predict(xt).dataSync() as Float32Array);
    const onnx = await OnnxModel.load(file);
    const got = await onnx.run(x, n);
    await onnx.dispose();
    const outName = model.layers[model.layers.length - 1].name;
    const step = q.activations[outName].scale;
    let within = 0;
    for (let i = 0; i < got.length; i++) if (Math.abs(got[i] - simulated[i]) <= step * 1.0001) within++;
    const share = within / got.length;
    expect(share, `${(share * 100).toFixed(1)}% of outputs within one step (${step.toFixed(4)})`).toBeGreaterThanOrEqual(0.9);
    sim.dispose();
    model.dispose();
    tf.dispose([calib, xt, train.x, train.y]);
  });
});
