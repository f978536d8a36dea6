// `hafif info --model` (layer names) and `hafif distill --hint-layer / --attention-layer`, through the built command.
import {spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import '../index.js';
import {createModel} from '../models/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'hafif.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hafif-features-'));
const teacherDir = path.join(tmp, 'teacher');
afterAll(() => rmSync(tmp, {recursive: true, force: true}));
beforeAll(async () => {
  // An untrained deep teacher is enough to check names, shapes and that the terms train.
  const t = createModel('deep-teacher', {inputShape: [28, 28, 1], numClasses: 10, seed: 3});
  await t.save(`file://${teacherDir}`);
  t.dispose();
});

function hafif(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {encoding: 'utf8', cwd: tmp, timeout: 600_000});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

describe('layer names', () => {
  it('hafif info --model lists the registry model\'s stable layer names and shapes', () => {
    const r = hafif('info', '--model', 'keras-student', '--json');
    expect(r.code).toBe(0);
    const layers = JSON.parse(r.stdout) as {name: string; outputShape: (number | null)[]; params: number}[];
    expect(layers.map((l) => l.name)).toEqual(['conv1', 'leaky_relu1', 'pool1', 'conv2', 'flatten', 'logits']);
    expect(layers[3]).toMatchObject({outputShape: [null, 7, 7, 32], params: 4640});
    // cifar10's shape for the same names.
    const c = JSON.parse(hafif('info', '--model', 'mobile-student', '--dataset', 'cifar10', '--json').stdout) as {name: string; outputShape: number[]}[];
    expect(c[0]).toMatchObject({name: 'conv1', outputShape: [null, 16, 16, 16]});
    expect(c.at(-1)?.name).toBe('logits');
  });

  it('names do not depend on how many models the process built before', () => {
    const a = createModel('deep-teacher', {inputShape: [28, 28, 1], numClasses: 10});
    const b = createModel('deep-teacher', {inputShape: [28, 28, 1], numClasses: 10});
    try {
      expect(b.layers.map((l) => l.name)).toEqual(a.layers.map((l) => l.name));
      expect(a.layers.map((l) => l.name).slice(0, 4)).toEqual(['conv1', 'bn1', 'relu1', 'conv2']);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('an unknown --model is one line and exit 2', () => {
    const r = hafif('info', '--model', 'no-such-model');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('no-such-model');
  });
});

describe('hafif distill --hint-layer', () => {
  it('trains with a hint and an attention term and saves the student', {timeout: 300_000}, () => {
    const out = path.join(tmp, 'hint');
    const r = hafif('distill', '--teacher', teacherDir, '--hint-layer', 'conv2:relu5', '--attention-layer', 'conv1:relu4',
      '--epochs', '1', '--limit', '256', '--quiet', '--json', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const run = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
    expect(run.testAccuracy).toBeGreaterThan(0);
    expect(existsSync(path.join(out, 'model.json'))).toBe(true);
    // The settings name the feature losses, so a different --hint-layer is another run.
    expect(readFileSync(path.join(out, 'run.json'), 'utf8')).toContain('hint:conv2:relu5');
  });

  it.each([
    [['--hint-layer', 'nope:relu4'], /unknown student layer "nope"; expected one of conv1, leaky_relu1/],
    [['--hint-layer', 'conv2:relu9'], /unknown teacher layer "relu9"/],
    [['--hint-layer', 'conv2:relu4'], /student layer conv2 \[.*7,7,32\] and teacher layer relu4 \[.*14,14,64\]/],
    [['--attention-layer', 'conv2'], /--attention-layer "conv2": expected STUDENT_LAYER:TEACHER_LAYER/],
  ])('%j is one line, exit 2, nothing written', (flags, message) => {
    const out = path.join(tmp, `bad-${flags.join('-')}`);
    const r = hafif('distill', '--teacher', teacherDir, ...flags, '--epochs', '1', '--limit', '64', '--quiet', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });
});
