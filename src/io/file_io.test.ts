import {promises as fs} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import '../backend/index.js';
import {deepTeacher} from '../models/convnets.js';
import './index.js';
import {UsageError} from '../util/registry.js';
import {fileSystem, registerFileRouters} from './file_io.js';

let root = '';
let before = 0;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'hafif-io-'));
  before = tf.memory().numTensors;
});

afterEach(async () => {
  await fs.rm(root, {recursive: true, force: true});
  expect(tf.memory().numTensors).toBe(before);
});

/** A tiny model with batch norm, so non-trainable weights are part of the round trip. */
function smallModel(seed: number): tfl.LayersModel {
  return deepTeacher({inputShape: [8, 8, 1], numClasses: 4, seed});
}

async function predictions(model: tfl.LayersModel): Promise<Float32Array> {
  const x = tf.randomUniform([3, 8, 8, 1], 0, 1, 'float32', 7);
  const y = model.predict(x) as tf.Tensor;
  const values = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  return values;
}

/** Changes the batch-norm moving statistics away from their initial 0 and 1. */
function perturbWeights(model: tfl.LayersModel): void {
  const ws = model.getWeights().map((w, i) => tf.add(w, 0.01 * (i + 1)));
  model.setWeights(ws);
  tf.dispose(ws);
}

describe('file:// model IO', () => {
  it('round-trips a model: same topology, weights and bit-identical predictions', async () => {
    const model = smallModel(1);
    perturbWeights(model);
    const dir = path.join(root, 'nested', 'model');
    const result = await model.save(`file://${dir}`);
    expect(result.modelArtifactsInfo.weightDataBytes).toBe(model.countParams() * 4);
    expect((await fs.readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    expect((await fs.stat(path.join(dir, 'weights.bin'))).size).toBe(model.countParams() * 4);
    const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(json.format).toBe('layers-model');

    for (const url of [`file://${dir}/model.json`, `file://${dir}`]) {
      const loaded = await tfl.loadLayersModel(url);
      expect(loaded.countParams()).toBe(model.countParams());
      expect(await predictions(loaded)).toEqual(await predictions(model));
      loaded.dispose();
    }
    model.dispose();
  });

  it('replaces an earlier save and leaves no temporary directories', async () => {
    const dir = path.join(root, 'm');
    const a = smallModel(1);
    const b = smallModel(2);
    await a.save(`file://${dir}`);
    await b.save(`file://${dir}`);
    expect(await fs.readdir(root)).toEqual(['m']);
    const loaded = await tfl.loadLayersModel(`file://${dir}/model.json`);
    expect(await predictions(loaded)).toEqual(await predictions(b));
    expect(await predictions(loaded)).not.toEqual(await predictions(a));
    for (const m of [a, b, loaded]) m.dispose();
  });

  it('a failed save leaves no partial directory and keeps the previous model', async () => {
    // A cyclic topology makes JSON.stringify throw after weights.bin is written to the temp dir.
    const cyclic: {self?: unknown} = {};
    cyclic.self = cyclic;
    const artifacts = {modelTopology: cyclic, weightSpecs: [], weightData: new ArrayBuffer(16)};

    const fresh = path.join(root, 'fresh');
    await expect(fileSystem(fresh).save!(artifacts)).rejects.toThrow(/circular/i);
    expect(await fs.readdir(root)).toEqual([]);

    const dir = path.join(root, 'kept');
    const model = smallModel(1);
    await model.save(`file://${dir}`);
    await expect(fileSystem(dir).save!(artifacts)).rejects.toThrow(/circular/i);
    expect(await fs.readdir(root)).toEqual(['kept']);
    const loaded = await tfl.loadLayersModel(`file://${dir}/model.json`);
    expect(await predictions(loaded)).toEqual(await predictions(model));
    model.dispose();
    loaded.dispose();
  });

  it('refuses to replace a directory that holds more than a saved model', async () => {
    const dir = path.join(root, 'docs');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'notes.txt'), 'keep me');
    const model = smallModel(1);
    await expect(model.save(`file://${dir}`)).rejects.toThrow(
      `refusing to replace ${dir}: it holds files other than a saved model (notes.txt)`,
    );
    expect(await fs.readFile(path.join(dir, 'notes.txt'), 'utf8')).toBe('keep me');
    expect((await fs.readdir(root)).sort()).toEqual(['docs']);
    model.dispose();
  });

  it('refuses weight paths outside the model directory, naming the path', async () => {
    const model = smallModel(1);
    const dir = path.join(root, 'm');
    await model.save(`file://${dir}`);
    model.dispose();
    const jsonPath = path.join(dir, 'model.json');
    const json = JSON.parse(await fs.readFile(jsonPath, 'utf8'));
    await fs.copyFile(path.join(dir, 'weights.bin'), path.join(root, 'outside.bin'));
    await fs.symlink(path.join(root, 'outside.bin'), path.join(dir, 'link.bin'));
    for (const bad of ['../outside.bin', path.join(root, 'outside.bin'), 'sub/../../outside.bin', 'link.bin']) {
      json.weightsManifest[0].paths = [bad];
      await fs.writeFile(jsonPath, JSON.stringify(json));
      await expect(tfl.loadLayersModel(`file://${jsonPath}`)).rejects.toThrow(
        `${jsonPath}: weight path "${bad}" points outside the model's directory ${dir}; refusing to read it`,
      );
    }
    await expect(tfl.loadLayersModel(`file://${jsonPath}`)).rejects.toBeInstanceOf(UsageError);
    // A relative path below the directory is fine.
    await fs.mkdir(path.join(dir, 'shards'));
    await fs.rename(path.join(dir, 'weights.bin'), path.join(dir, 'shards', 'w.bin'));
    json.weightsManifest[0].paths = ['shards/w.bin'];
    await fs.writeFile(jsonPath, JSON.stringify(json));
    const loaded = await tfl.loadLayersModel(`file://${jsonPath}`);
    loaded.dispose();
  });

  it('reports a missing model with its path, and registering twice is harmless', async () => {
    registerFileRouters();
    registerFileRouters();
    const missing = path.join(root, 'nope', 'model.json');
    await expect(tfl.loadLayersModel(`file://${missing}`)).rejects.toThrow(
      `cannot load a model from ${missing}: no such file or directory`,
    );
  });
});
