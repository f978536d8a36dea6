// End-to-end tests of `hafif quantize` and the sizes `hafif evaluate` reports (npm test builds dist/ first).
import {spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {gzipSync} from 'node:zlib';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {tf} from '../index.js';
import {createModel} from '../models/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'hafif.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hafif-quantize-'));
const student = path.join(tmp, 'student');
afterAll(() => rmSync(tmp, {recursive: true, force: true}));
beforeAll(async () => {
  const m = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 3});
  await m.save(`file://${student}`);
  m.dispose();
});

function hafif(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {encoding: 'utf8', cwd: tmp, timeout: 300_000});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

describe('hafif quantize', () => {
  it('uint8: writes a model stock tfjs loads, and evaluate reports its on-disk sizes', async () => {
    const out = path.join(tmp, 'uint8');
    const r = hafif('quantize', '--model', student, '--dtype', 'uint8', '--limit', '64', '--out', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.variants.map((v: {name: string}) => v.name)).toEqual(['float', 'uint8']);
    const weightBytes = statSync(path.join(out, 'weights.bin')).size;
    expect(weightBytes).toBe(20_490); // one byte per parameter
    const model = await tf.loadLayersModel(`file://${out}`);
    expect(model.countParams()).toBe(20_490);
    model.dispose();
    const e = hafif('evaluate', '--model', out, '--limit', '64', '--json');
    expect(e.code).toBe(0);
    const ev = JSON.parse(e.stdout);
    const json = readFileSync(path.join(out, 'model.json'));
    expect(ev.bytes).toBe(weightBytes + json.byteLength);
    expect(ev.gzipBytes).toBe(gzipSync(Buffer.concat([json, readFileSync(path.join(out, 'weights.bin'))]), {level: 9}).byteLength);
    expect(ev.params).toBe(20_490);
    expect(ev.nonZeroParams).toBeGreaterThan(19_000); // rounding sends a few small weights to the exact zero
    expect(ev.nonZeroParams).toBeLessThan(20_490);
    expect(ev.testAccuracy).toBeCloseTo(report.variants[1].testAccuracy, 10);
    for (const k of ['testLoss', 'inferenceImagesPerSecond']) expect(Number.isFinite(ev[k])).toBe(true);
  });

  it('int8: saves the folded model with quantization.json whose sha256 is that of weights.bin', () => {
    const out = path.join(tmp, 'int8');
    const r = hafif('quantize', '--model', student, '--dtype', 'int8', '--calibration', '32', '--calibration-method', 'percentile',
      '--limit', '64', '--out', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const q = JSON.parse(readFileSync(path.join(out, 'quantization.json'), 'utf8'));
    expect(q).toMatchObject({format: 'hafif-quantization', version: 1, calibration: {method: 'percentile', percentile: 99.99, examples: 32, dataset: 'mnist'}});
    expect(q.model.inputShape).toEqual([28, 28, 1]);
    expect(q.model.weightsSha256).toBe(createHash('sha256').update(readFileSync(path.join(out, 'weights.bin'))).digest('hex'));
    // keras-student: conv → LeakyReLU → max-pool → conv → flatten → dense; kernels per output channel.
    const [conv1, , , conv2, , dense] = q.model.layers;
    expect(Object.keys(q.activations)).toEqual([conv1, q.model.layers[1], conv2, dense]);
    expect(q.weights[conv1].axis).toBe(3);
    expect(q.weights[conv1].scales).toHaveLength(16);
    expect(q.weights[dense].axis).toBe(1);
    expect(q.input).toMatchObject({min: 0, zeroPoint: -128});
    for (const a of Object.values(q.activations) as {min: number; max: number; scale: number; zeroPoint: number}[]) {
      expect(a.min).toBeLessThanOrEqual(0);
      expect(a.max).toBeGreaterThanOrEqual(0);
      expect(a.scale).toBeCloseTo((a.max - a.min) / 255, 12);
      expect(a.zeroPoint).toBe(Math.max(-128, Math.min(127, Math.round(-128 - a.min / a.scale))));
    }
  });
});

describe('hafif quantize --qat', () => {
  it('fine-tunes through fake int8 with a teacher, then calibrates and saves the int8 model', () => {
    const out = path.join(tmp, 'qat');
    const r = hafif('quantize', '--model', student, '--dtype', 'int8', '--qat', '--epochs', '1', '--teacher', student,
      '--calibration', '32', '--limit', '64', '--out', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.variants.map((v: {name: string}) => v.name)).toEqual(['float', 'float after QAT', 'int8 (simulated)']);
    expect(report.qat).toEqual({epochs: 1, teacher: student, learningRate: 1e-4});
    // Fine-tuning moved the weights: the saved model is not the input model.
    expect(readFileSync(path.join(out, 'weights.bin')).equals(readFileSync(path.join(student, 'weights.bin')))).toBe(false);
    expect(existsSync(path.join(out, 'quantization.json'))).toBe(true);
  });
});

describe('hafif quantize: bad input is one line, exit code 2, nothing written', () => {
  const notModel = path.join(tmp, 'not-a-model');
  const badQuant = path.join(tmp, 'bad-quant');
  beforeAll(() => {
    mkdirSync(notModel, {recursive: true});
    writeFileSync(path.join(notModel, 'model.json'), '{"format": "graph-model"}');
    // A quantized model.json whose scale is a string.
    const src = path.join(tmp, 'uint8-src');
    expect(hafif('quantize', '--model', student, '--dtype', 'uint8', '--limit', '64', '--out', src).code).toBe(0);
    mkdirSync(badQuant, {recursive: true});
    const json = JSON.parse(readFileSync(path.join(src, 'model.json'), 'utf8'));
    json.weightsManifest[0].weights[0].quantization.scale = 'big';
    writeFileSync(path.join(badQuant, 'model.json'), JSON.stringify(json));
    writeFileSync(path.join(badQuant, 'weights.bin'), readFileSync(path.join(src, 'weights.bin')));
  });
  const cases: [string, () => string[], RegExp][] = [
    ['unknown dtype', () => ['--model', student, '--dtype', 'int4'], /--dtype.*int4/],
    ['calibration larger than the data', () => ['--model', student, '--dtype', 'int8', '--calibration', '100', '--limit', '64'],
      /--calibration 100 is larger than the training split \(64 examples\)/],
    ['empty calibration set', () => ['--model', student, '--dtype', 'int8', '--calibration', '0'], /--calibration 0.*empty/],
    ['--qat with a weight dtype', () => ['--model', student, '--dtype', 'uint8', '--qat'], /--qat applies to --dtype int8, not uint8/],
    ['a directory without a model', () => ['--model', path.join(tmp, 'nowhere'), '--dtype', 'uint8'], /nowhere.*no such file/],
    ['a model.json that is not a tfjs Layers model', () => ['--model', notModel, '--dtype', 'uint8'], /not a tfjs model\.json/],
    ['quantization fields of the wrong type', () => ['--model', badQuant, '--dtype', 'int8', '--limit', '64'],
      /quantization\.scale must be a finite number > 0, got "big"/],
  ];
  it.each(cases)('%s', (name, args, message) => {
    const out = path.join(tmp, `out-${name.replace(/\W+/g, '-')}`);
    const r = hafif('quantize', ...args(), '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });
});
