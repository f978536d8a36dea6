// The saved models in a real browser (headless Chromium): tfjs (cpu, wasm) and onnxruntime-web
// (float and int8) give Node's predictions on a fixed batch.
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import '../io/index.js';
import {useBackend} from '../backend/index.js';
import {loadDataset} from '../data/index.js';
import {createModel} from '../models/index.js';
import {browserUnavailable, calibrateMinMax, exportOnnx, exportOnnxInt8, OnnxModel, ortAvailable, runInBrowser, weightsSha256} from './index.js';

const why = browserUnavailable() ?? (ortAvailable() ? null : 'onnxruntime-node is not installed');
if (why) console.warn(`browser test skipped: ${why}`);

let dir: string;
beforeAll(async () => {
  useBackend('cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'hafif-browser-'));
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function argmaxAgreement(a: Float32Array, b: Float32Array, k: number): number {
  let same = 0;
  const n = a.length / k;
  for (let i = 0; i < n; i++) {
    let ia = 0;
    let ib = 0;
    for (let j = 1; j < k; j++) {
      if (a[i * k + j] > a[i * k + ia]) ia = j;
      if (b[i * k + j] > b[i * k + ib]) ib = j;
    }
    if (ia === ib) same++;
  }
  return same / n;
}

describe.skipIf(why !== null)('in headless Chromium (Debian package chromium)', () => {
  it('tfjs cpu/wasm and onnxruntime-web float/int8 predict as Node does', async () => {
    const data = await loadDataset('mnist', {limit: 512});
    const n = 32;
    const x = data.test.images.subarray(0, n * 784);
    const model = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 5});
    const modelDir = path.join(dir, 'student');
    await model.save(`file://${modelDir}`);
    const floatFile = path.join(dir, 'student.onnx');
    await exportOnnx(model, floatFile);
    const calib = tf.tensor4d(data.train.images.subarray(0, 256 * 784), [256, 28, 28, 1]);
    const q = calibrateMinMax(model, calib, {weightsSha256: await weightsSha256(modelDir), dataset: 'mnist-embedded'});
    calib.dispose();
    const int8File = path.join(dir, 'student-int8.onnx');
    await exportOnnxInt8(model, int8File, {calibration: q});
    const node = tf.tidy(() => (model.predict(tf.tensor4d(x, [n, 28, 28, 1])) as tf.Tensor).dataSync() as Float32Array);
    const ortFloat = await OnnxModel.load(floatFile);
    const ortInt8 = await OnnxModel.load(int8File);
    const nodeFloat = await ortFloat.run(x, n);
    const nodeInt8 = await ortInt8.run(x, n);
    await ortFloat.dispose();
    await ortInt8.dispose();

    const results = await runInBrowser(
      [{name: 'student', path: modelDir}, {name: 'student-float.onnx', path: floatFile}, {name: 'student-int8.onnx', path: int8File}],
      {x, count: n, inputShape: [28, 28, 1], batchSizes: [1, 32], seconds: 0.3},
    );
    const get = (model: string, engine: string) => {
      const r = results.find((v) => v.model === model && v.engine === engine);
      expect(r, `${model} on ${engine}`).toBeDefined();
      return r!;
    };
    expect(maxAbsDiff(get('student', 'tfjs-cpu').outputs, node)).toBeLessThan(1e-4);
    expect(maxAbsDiff(get('student', 'tfjs-wasm').outputs, node)).toBeLessThan(1e-4);
    expect(maxAbsDiff(get('student-float.onnx', 'ort-web-wasm').outputs, nodeFloat)).toBeLessThan(1e-4);
    // int8: different integer kernels may round a few values differently; within three steps of the output scale.
    const webInt8 = get('student-int8.onnx', 'ort-web-wasm').outputs;
    const outScale = Object.values(q.activations).at(-1)!.scale;
    expect(maxAbsDiff(webInt8, nodeInt8)).toBeLessThanOrEqual(3 * outScale + 1e-6);
    expect(argmaxAgreement(webInt8, nodeInt8, 10)).toBeGreaterThanOrEqual(0.95);
    for (const r of results) {
      expect(r.imagesPerSecond[1]).toBeGreaterThan(0);
      expect(r.imagesPerSecond[32]).toBeGreaterThan(0);
    }
    console.log(`in-browser images/s (batch 1 / 32): ${results.map((r) => `${r.model} ${r.engine} ${Math.round(r.imagesPerSecond[1])} / ${Math.round(r.imagesPerSecond[32])}`).join('; ')}`);
    model.dispose();
  });
});
