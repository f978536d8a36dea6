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
  it('runs the whole experiment, writes results.json and three loadable models', {timeout: 400_000}, async () => {
    const out = path.join(tmp, 'demo');
    // The recommended recipe, one epoch each, with alpha 0.9: after 16 steps the batch-norm
    // teachers' moving statistics are far from converged (see below), so their soft targets alone
    // (the recipe's alpha 0) would teach the student little.
    const r = hafif('demo', '--limit', '512', '--epochs-teacher', '1', '--epochs-student', '1', '--alpha', '0.9', '--out', out, '--json');
    expect(r.stderr).not.toMatch(/Error|at /);
    expect(r.code).toBe(0);
    const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    // --json: one event per line on stdout, the results last.
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.at(-1)).toEqual({event: 'results', results, report: path.join(out, 'report.html')});
    expect(events.filter((e) => e.event === 'epoch').map((e) => `${e.phase} ${e.epoch}/${e.epochs}`))
      .toEqual(['teacher 1/1', 'teacher-2 1/1', 'distilled 1/1', 'scratch 1/1']);
    expect(existsSync(path.join(out, 'report.html'))).toBe(true);
    expect(readdirSync(path.join(out, 'charts')).sort()).toEqual(['accuracy-size.png', 'accuracy-speed.png', 'confusion.png', 'curves.png']);
    expect(results.environment).toMatchObject({backend: 'native', node: process.version, tfjs: '4.22.0'});
    expect(results.environment.command).toMatch(/^hafif demo --limit 512 /);
    expect(results).toMatchObject({dataset: 'mnist', trainSize: 512, testSize: 2000, validationSize: 0, backend: 'native'});
    expect(results.runs.map((x: {name: string}) => x.name)).toEqual(['teacher', 'teacher-2', 'distilled', 'scratch']);
    expect(results.settings).toMatchObject({teachers: 2, teacherAugment: 'shift2', teacherSchedule: 'one-cycle:3', studentSchedule: 'one-cycle:20',
      alpha: 0.9, temperature: 4, distillationLoss: 'kl'});
    const [teacher, teacher2, distilled, scratch] = results.runs;
    expect(teacher2.model).toBe('deep-teacher');
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
      // The confusion matrix covers the test split and its diagonal is the test accuracy.
      expect(run.confusion).toHaveLength(10);
      const flat = run.confusion.flat() as number[];
      expect(flat.reduce((a, b) => a + b, 0)).toBe(2000);
      expect(run.confusion.reduce((a: number, row: number[], i: number) => a + row[i], 0) / 2000).toBeCloseTo(run.testAccuracy, 6);
      expect(run.gzipBytes).toBeGreaterThan(0);
      expect(run.gzipBytes).toBeLessThan(run.bytes);
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

describe('output into a pipe', () => {
  it('has no escape codes, even with FORCE_COLOR: epoch lines on stderr, a plain table on stdout', () => {
    const out = path.join(tmp, 'plain');
    const r = spawnSync(process.execPath, [bin, 'demo', '--recipe', 'quick', '--teacher', 'keras-student', '--limit', '64', '--epochs-teacher', '1',
      '--epochs-student', '2', '--no-report', '--out', out], {encoding: 'utf8', cwd: tmp, env: {...process.env, FORCE_COLOR: '1'}});
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('\x1b');
    expect(r.stderr.split('\n').filter((l) => / epoch \d+\/\d+ \| loss /.test(l)).map((l) => l.split(' | ')[0]))
      .toEqual(['teacher epoch 1/1', 'distilled epoch 1/2', 'distilled epoch 2/2', 'scratch epoch 1/2', 'scratch epoch 2/2']);
    expect(r.stdout).toMatch(/│ distilled \(keras-student\) │/);
    expect(existsSync(path.join(out, 'report.html'))).toBe(false);
  });

  it('--quiet prints no progress', () => {
    const r = hafif('demo', '--recipe', 'quick', '--teacher', 'keras-student', '--limit', '64', '--epochs-teacher', '1', '--epochs-student', '1',
      '--quiet', '--no-report', '--out', path.join(tmp, 'quiet'));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});

describe('hafif report', () => {
  it('a directory without results.json: one line, exit 2, nothing written', () => {
    const dir = path.join(tmp, 'no-results');
    mkdirSync(dir, {recursive: true});
    const r = hafif('report', '--in', dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^hafif: no results in .*no-results/)]);
    expect(readdirSync(dir)).toEqual([]);
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
    ['unknown schedule', ['demo', '--student-schedule', 'steps'], /unknown learning-rate schedule "steps"/],
    ['unknown augmentation', ['demo', '--teacher-augment', 'rotate'], /unknown augmentation "rotate"/],
    ['no teachers', ['demo', '--teachers', '0'], /teachers.*0/],
    ['mixup alpha 0 in train', ['train', '--model', 'keras-student', '--limit', '64', '--augment', 'mixup0'], /mixup/],
    // Checked before the data loads: the empty data directory would fail otherwise.
    ['bad schedule in train, before the data', ['train', '--model', 'keras-student', '--data-dir', 'empty-data', '--schedule', 'steps'],
      /unknown learning-rate schedule "steps"/],
    ['quick recipe with --keras-settings', ['demo', '--recipe', 'quick', '--keras-settings'], /--keras-settings is --recipe keras/],
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
