// int8 ONNX: accuracy within a point of the float export on the embedded test split, for every
// format and scheme; calibration checks.
import {statSync} from 'node:fs';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import '../io/index.js'; // file:// save and load
import {nativeAvailable, useBackend} from '../backend/index.js';
import {loadDataset, toTensors, type Dataset} from '../data/index.js';
import {createModel} from '../models/index.js';
import {fit, kerasAdam} from '../train/index.js';
import {UsageError} from '../util/registry.js';
import {
  calibrateMinMax, cpuHasVnni, evaluateOnnx, exportOnnx, exportOnnxInt8, int8Range, OnnxModel, ortAvailable, readQuantization, weightsSha256,
} from './index.js';

let dir: string;
let data: Dataset;
beforeAll(async () => {
  useBackend(nativeAvailable() ? 'native' : 'cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'hafif-int8-'));
  data = await loadDataset('mnist', {limit: 2000});
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

describe('int8Range (INTERFACES §2)', () => {
  it('widens to include 0 and maps min to −128', () => {
    // [0, 6.1]: scale 6.1/255, zero point round(−128 − 0) = −128.
    expect(int8Range(0.5, 6.1)).toEqual({min: 0, max: 6.1, scale: 6.1 / 255, zeroPoint: -128});
    // [−1, 3]: scale 4/255, zero point round(−128 + 1·255/4) = round(−64.25) = −64.
    expect(int8Range(-1, 3)).toEqual({min: -1, max: 3, scale: 4 / 255, zeroPoint: -64});
    expect(int8Range(-2, -1).max).toBe(0);
  });
});

async function accuracy(file: string): Promise<number> {
  const onnx = await OnnxModel.load(file);
  try {
    return (await evaluateOnnx(onnx, data.test.images, data.test.labels, data.numClasses)).accuracy;
  } finally {
    await onnx.dispose();
  }
}

describe.skipIf(!ortAvailable())('int8 ONNX keeps accuracy', () => {
  // Two small trained models: the Keras student (LeakyReLU, same-padded max-pool, flatten) and a
  // conv-BN-ReLU net with global pooling (batch norm folded before quantizing).
  const makers: [string, () => tfl.LayersModel][] = [
    ['keras-student', () => createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 1})],
    ['conv-bn-relu', () => tfl.sequential({layers: [
      tfl.layers.conv2d({inputShape: [28, 28, 1], filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false}),
      tfl.layers.batchNormalization({momentum: 0.9}),
      tfl.layers.reLU(),
      tfl.layers.conv2d({filters: 16, kernelSize: 3, strides: 2, padding: 'same'}),
      tfl.layers.batchNormalization({momentum: 0.9}),
      tfl.layers.reLU(),
      tfl.layers.maxPooling2d({poolSize: 2}),
      tfl.layers.flatten(),
      tfl.layers.dense({units: 10}),
    ]})],
  ];
  for (const [name, make] of makers) {
    it(`${name}: every format and scheme within 1 point of float on the 2,000 test digits`, async () => {
      const model = make();
      const train = toTensors(data.train, data.inputShape);
      const opt = kerasAdam(2e-3);
      await fit(model, train.x, train.y, {epochs: 2, batchSize: 32, optimizer: opt, seed: 0});
      opt.dispose();
      const modelDir = path.join(dir, name);
      await model.save(`file://${modelDir}`);
      const floatFile = path.join(dir, `${name}.onnx`);
      await exportOnnx(model, floatFile);
      const float = await accuracy(floatFile);
      expect(float).toBeGreaterThan(0.5); // trained: the comparison means something
      const calib = tf.slice(train.x, 0, 512);
      const q = calibrateMinMax(model, calib, {weightsSha256: await weightsSha256(modelDir), dataset: 'mnist-embedded'});
      tf.dispose([calib, train.x, train.y]);
      expect(q.calibration.examples).toBe(512);
      for (const format of ['qdq', 'qoperator'] as const) {
        // S8S8 saturates in onnxruntime's kernels on a CPU without VNNI (cpuHasVnni).
        for (const scheme of cpuHasVnni() ? (['s8s8', 'u8s8-reduce-range'] as const) : (['u8s8-reduce-range'] as const)) {
          const file = path.join(dir, `${name}-${format}-${scheme}.onnx`);
          const bytes = await exportOnnxInt8(model, file, {calibration: q, format, scheme});
          const acc = await accuracy(file);
          expect(Math.abs(acc - float), `${format} ${scheme}: int8 ${acc} vs float ${float}`).toBeLessThanOrEqual(0.01);
          expect(bytes.length).toBeLessThan(statSync(floatFile).size); // tiny models: names and scales weigh too
        }
      }
      model.dispose();
    });
  }

  it('a calibration of another model is refused, naming the mismatch', async () => {
    const a = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 1});
    const b = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 2});
    await a.save(`file://${path.join(dir, 'a')}`);
    await b.save(`file://${path.join(dir, 'b')}`);
    const x = tf.zeros([4, 28, 28, 1]);
    const qa = calibrateMinMax(a, x, {weightsSha256: await weightsSha256(path.join(dir, 'a')), dataset: 'zeros'});
    const file = path.join(dir, 'qa.json');
    await writeFile(file, JSON.stringify(qa));
    const shaB = await weightsSha256(path.join(dir, 'b'));
    await expect(readQuantization(file, b, shaB)).rejects.toThrow(new RegExp(`calibrated for another model: its weightsSha256 is ${qa.model.weightsSha256}, the model's weights hash to ${shaB}`));
    await expect(readQuantization(file, b, shaB)).rejects.toBeInstanceOf(UsageError);
    await expect(readQuantization(file, a, qa.model.weightsSha256)).resolves.toMatchObject({format: 'hafif-quantization', version: 1});
    tf.dispose(x);
    a.dispose();
    b.dispose();
  });
});
