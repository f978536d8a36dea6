import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';

import {UsageError} from '../util/registry.js';
import {applyOverrides, configSettings, configYaml, loadConfig, parseConfigText, resolveConfig} from './config.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'hafif-config-'));
afterAll(() => rmSync(tmp, {recursive: true, force: true}));

const message = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
};

describe('resolveConfig', () => {
  it('fills in the recommended defaults and the dataset\'s models', () => {
    const c = resolveConfig({dataset: {name: 'mnist'}});
    expect(configSettings(c)).toEqual({
      teacher: 'deep-teacher', student: 'keras-student', epochsTeacher: 12, epochsStudent: 10, batchSize: 32,
      learningRate: 0.001, alpha: 0, temperature: 4, distillationLoss: 'kl', seed: 0,
      teachers: 2, teacherAugment: 'shift2', teacherSchedule: 'one-cycle:3', studentSchedule: 'one-cycle:20',
    });
    expect(resolveConfig({dataset: {name: 'cifar10'}}).teacher.model).toBe('cifar-teacher');
  });

  it('round-trips through its YAML unchanged', () => {
    const c = resolveConfig({dataset: {name: 'mnist', limit: 64}, distill: {alpha: 0.5, loss: 'kl'}, seed: 3});
    expect(resolveConfig(parseConfigText(configYaml(c), 'x.yaml'))).toEqual(c);
  });

  it.each([
    ['alpha 2', {dataset: {name: 'mnist'}, distill: {alpha: 2}}, 'distill.alpha: must be in [0, 1], got 2'],
    ['a wrong type', {dataset: {name: 'mnist'}, train: {batchSize: 'big'}}, 'train.batchSize: expected number, got "big"'],
    ['a fractional count', {dataset: {name: 'mnist'}, teacher: {epochs: 1.5}}, 'teacher.epochs: must be a positive integer, got 1.5'],
    ['an unknown key', {dataset: {name: 'mnist'}, distill: {alfa: 0.5}}, 'distill.alfa: unknown key'],
    ['an unknown top-level key', {dataset: {name: 'mnist'}, pruning: {}}, 'pruning: unknown key'],
    ['an unknown model', {dataset: {name: 'mnist'}, student: {model: 'resnet50'}},
      'student.model: unknown model; expected one of keras-teacher, keras-student, cifar-teacher, cifar-student, deep-teacher, mobile-student, mlp-student, got "resnet50"'],
    ['an unknown dataset', {dataset: {name: 'imagenet'}}, 'dataset.name: unknown dataset; expected one of mnist, fashion-mnist, cifar10, got "imagenet"'],
    ['an unknown schedule', {dataset: {name: 'mnist'}, student: {schedule: 'steps'}},
      'student.schedule: unknown learning-rate schedule "steps"; expected constant, one-cycle[:PEAK[:WARMUP]] or cosine[:PEAK[:WARMUP]], got "steps"'],
    ['a bad augmentation', {dataset: {name: 'mnist'}, teacher: {augment: 'rotate'}},
      'teacher.augment: unknown augmentation "rotate" in "rotate"; expected none or shiftN, flip, mixupA, cutmixA joined by +, got "rotate"'],
    ['no teachers', {dataset: {name: 'mnist'}, teacher: {count: 0}}, 'teacher.count: must be a positive integer, got 0'],
    ['an unknown loss', {dataset: {name: 'mnist'}, distill: {loss: 'cosine'}}, 'distill.loss: unknown distillation loss; expected one of kl, mse, got "cosine"'],
    ['no dataset', {}, 'dataset: required, expected object'],
    ['a bad backend', {dataset: {name: 'mnist'}, backend: 'gpu'}, 'backend: expected one of "native", "cpu", got "gpu"'],
    ['not a mapping', [1, 2], '(root): expected object, got an array'],
  ])('rejects %s naming the field and the value', (_name, raw, expected) => {
    expect(message(() => resolveConfig(raw, 'c.yaml'))).toBe(`c.yaml: ${expected}`);
  });
});

describe('parseConfigText', () => {
  it.each([
    ['a custom tag', 'dataset: !import_call {key: os.system}\n', 'c.yaml:1: YAML tag !import_call is not allowed (a config is plain data and never runs code)'],
    ['a standard tag', 'dataset:\n  name: !!str mnist\n', 'c.yaml:2: YAML tag !!str is not allowed (a config is plain data and never runs code)'],
    ['a python tag', 'a: !!python/object/apply:os.system [ls]\n', /^c\.yaml:1: YAML tag .*python\/object\/apply:os\.system is not allowed/],
    ['broken YAML', 'dataset: [mnist\n', /^c\.yaml:\d+: not YAML: /],
    ['a duplicate key', 'seed: 1\nseed: 2\n', /^c\.yaml:2: not YAML: Map keys must be unique/],
  ])('rejects %s', (_name, text, expected) => {
    const m = message(() => parseConfigText(text, 'c.yaml'));
    if (typeof expected === 'string') expect(m).toBe(expected);
    else expect(m).toMatch(expected);
    expect(m).not.toContain('\n');
  });

  it('reads JSON for .json files and says when it is not', () => {
    expect(parseConfigText('{"dataset": {"name": "mnist"}}', 'c.json')).toEqual({dataset: {name: 'mnist'}});
    expect(message(() => parseConfigText('{"dataset": ', 'c.json'))).toMatch(/^c\.json: not JSON/);
  });
});

describe('applyOverrides', () => {
  it('sets nested fields, reading values as YAML scalars, without touching the input', () => {
    const raw = {dataset: {name: 'mnist'}, distill: {alpha: 0.9}};
    const out = applyOverrides(raw, ['distill.alpha=0.5', 'distill.loss=kl', 'dataset.limit=64', 'report=false', 'teacher.epochs=1']);
    expect(out).toEqual({dataset: {name: 'mnist', limit: 64}, distill: {alpha: 0.5, loss: 'kl'}, report: false, teacher: {epochs: 1}});
    expect(raw.distill.alpha).toBe(0.9);
  });
  it('leaves a misspelt field to the schema, which names it', () => {
    expect(message(() => resolveConfig(applyOverrides({dataset: {name: 'mnist'}}, ['distill.alfa=1']), 'c.yaml'))).toBe('c.yaml: distill.alfa: unknown key');
  });
  it.each([
    ['distill.alpha', /expected FIELD=VALUE/],
    ['seed.x=1', /--set seed\.x: seed is 0, not a section/],
    ['a=!!js/function f', /YAML tag/],
    ['dataset={name: x}', /expected a single value/],
  ])('rejects --set %s', (s, expected) => {
    expect(message(() => applyOverrides({seed: 0}, [s]))).toMatch(expected);
  });
});

describe('loadConfig', () => {
  it('resolves dataset.dataDir against the config file and names a missing file', async () => {
    const file = path.join(tmp, 'c.yaml');
    writeFileSync(file, 'dataset:\n  name: mnist\n  dataDir: data\n');
    expect((await loadConfig(file)).dataset.dataDir).toBe(path.join(tmp, 'data'));
    expect((await loadConfig(file, ['dataset.dataDir=elsewhere'])).dataset.dataDir).toBe(path.resolve('elsewhere'));
    await expect(loadConfig(path.join(tmp, 'nope.yaml'))).rejects.toThrow(/nope\.yaml: no such config file/);
  });
});
