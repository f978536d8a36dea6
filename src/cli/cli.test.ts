// End-to-end tests of the built `hafif` command (npm test builds dist/ first).
import {spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterAll, describe, expect, it} from 'vitest';

import {tf} from '../index.js';
import {evaluate} from '../train/index.js';
import {createModel} from '../models/index.js';
import {loadDataset, toTensors} from '../data/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'hafif.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hafif-cli-'));
afterAll(() => rmSync(tmp, {recursive: true, force: true}));

function hafif(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {encoding: 'utf8', cwd: tmp, timeout: 600_000});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

describe('hafif demo', () => {
  it('runs the whole experiment, writes results.json and three loadable models', async () => {
    const out = path.join(tmp, 'demo');
    const r = hafif('demo', '--limit', '512', '--epochs-teacher', '1', '--epochs-student', '1', '--out', out, '--json');
    expect(r.stderr).not.toMatch(/Error|at /);
    expect(r.code).toBe(0);
    const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(JSON.parse(r.stdout)).toEqual(results);
    expect(results).toMatchObject({dataset: 'mnist', trainSize: 512, testSize: 2000, validationSize: 0, backend: 'native'});
    expect(results.runs.map((x: {name: string}) => x.name)).toEqual(['teacher', 'distilled', 'scratch']);
    const [teacher, distilled, scratch] = results.runs;
    expect(teacher.model).toBe('deep-teacher'); // the recommended teacher
    const fresh = createModel('deep-teacher', {inputShape: [28, 28, 1], numClasses: 10});
    expect(teacher.params).toBe(fresh.countParams());
    fresh.dispose();
    expect(distilled.params).toBe(20_490);
    expect(scratch.params).toBe(20_490);
    for (const run of results.runs) {
      expect(run.bytes).toBe(run.params * 4);
      expect(run.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(run.testAccuracy).toBeLessThanOrEqual(1);
      expect(Number.isFinite(run.testLoss)).toBe(true);
      expect(run.trainSeconds).toBeGreaterThan(0);
      expect(run.inferenceImagesPerSecond).toBeGreaterThan(0);
      expect(run.history).toHaveLength(1);
      // No validation split was asked for: the test set is read once, for the summary, never per epoch.
      expect(Object.keys(run.history[0])).not.toContain('valAccuracy');
      expect(Object.keys(run.history[0])).toEqual(expect.arrayContaining(['epoch', 'loss', 'accuracy']));
    }
    // 10% is chance. One epoch on 512 digits (16 steps) takes both students well past it. The
    // batch-norm teacher's moving statistics have moved only ~15% of the way in 16 steps
    // (momentum 0.99), so its inference accuracy says little; the reload check below speaks for it.
    expect(distilled.testAccuracy).toBeGreaterThan(0.3);
    expect(scratch.testAccuracy).toBeGreaterThan(0.3);
    // The saved models are stock tfjs LayersModels whose test accuracy is the reported one.
    const data = await loadDataset('mnist', {limit: 512});
    const test = toTensors(data.test, data.inputShape);
    const before = tf.memory().numTensors;
    for (const run of results.runs) {
      const model = await tf.loadLayersModel(`file://${path.join(out, run.name, 'model.json')}`);
      expect(model.countParams()).toBe(run.params);
      expect(evaluate(model, test.x, test.y).accuracy).toBeCloseTo(run.testAccuracy, 10);
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([test.x, test.y]);
  });
});

describe('bad input: one line, exit code 2, nothing written', () => {
  const cases: [string, string[], RegExp][] = [
    ['alpha above 1', ['demo', '--alpha', '1.5'], /alpha.*\[0, 1\].*1\.5/],
    ['zero temperature', ['demo', '--temperature', '0'], /temperature.*> 0.*0/],
    ['non-numeric flag', ['demo', '--epochs-teacher', 'abc'], /epochs-teacher.*abc/],
    ['unknown dataset', ['demo', '--dataset', 'imagenet'], /imagenet/],
    ['unknown model', ['train', '--model', 'resnet'], /unknown model "resnet"/],
    ['missing data file', ['demo', '--data-dir', 'empty-data'], /train-images-idx3-ubyte/],
  ];
  mkdirSync(path.join(tmp, 'empty-data'), {recursive: true});
  for (const [name, args, message] of cases) {
    it(name, () => {
      const out = path.join(tmp, `bad-${name.replace(/\W+/g, '-')}`);
      const r = hafif(...args, '--out', out);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('a truncated IDX file names the file and the sizes', () => {
    const dir = path.join(tmp, 'truncated');
    mkdirSync(dir, {recursive: true});
    // Header of a 60000×28×28 image file followed by only 1,024 bytes of pixels.
    const header = Buffer.from([0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28]);
    writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), Buffer.concat([header, Buffer.alloc(1024)]));
    for (const f of ['train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      writeFileSync(path.join(dir, f), Buffer.alloc(8));
    }
    const r = hafif('evaluate', '--model', 'nowhere', '--data-dir', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/train-images-idx3-ubyte.*47040016.*1040|train-images-idx3-ubyte.*truncated/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a teacher whose output shape differs from the student is refused', async () => {
    const dir = path.join(tmp, 'five-classes');
    const m = tf.sequential({layers: [tf.layers.flatten({inputShape: [28, 28, 1]}), tf.layers.dense({units: 5})]});
    await m.save(`file://${dir}`);
    m.dispose();
    const out = path.join(tmp, 'distilled-5');
    const r = hafif('distill', '--teacher', dir, '--limit', '64', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/teacher output shape \[null,5\] does not match student output shape \[null,10\]/);
    expect(existsSync(out)).toBe(false);
  });

  it('a model.json whose weights point outside its directory is refused', async () => {
    const dir = path.join(tmp, 'escape');
    const m = tf.sequential({layers: [tf.layers.flatten({inputShape: [28, 28, 1]}), tf.layers.dense({units: 10})]});
    await m.save(`file://${dir}`);
    m.dispose();
    const file = path.join(dir, 'model.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.weightsManifest[0].paths = ['../../etc/passwd'];
    writeFileSync(file, JSON.stringify(json));
    const r = hafif('evaluate', '--model', dir, '--limit', '64');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\.\.\/\.\.\/etc\/passwd/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
  });
});
