// End-to-end tests of `hafif export` and `hafif evaluate --model FILE.onnx` (the built CLI).
import {spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {tf} from '../index.js';
import {loadDataset, toTensors} from '../data/index.js';
import {ortAvailable} from '../export/index.js';
import {createModel} from '../models/index.js';
import {evaluate} from '../train/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'hafif.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hafif-onnx-cli-'));
afterAll(() => rmSync(tmp, {recursive: true, force: true}));

function hafif(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {encoding: 'utf8', cwd: tmp, timeout: 600_000});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

function oneLineError(r: {code: number | null; stderr: string}, message: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
}

const student = path.join(tmp, 'student');
const cifar = path.join(tmp, 'cifar');
beforeAll(async () => {
  const m = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 3});
  await m.save(`file://${student}`);
  m.dispose();
  const c = createModel('cifar-student', {inputShape: [32, 32, 3], numClasses: 10, seed: 3});
  await c.save(`file://${cifar}`);
  c.dispose();
});

describe.skipIf(!ortAvailable())('hafif export / evaluate FILE.onnx', () => {
  it('exports, and ORT gives the tfjs accuracy and loss on the test split', async () => {
    const file = path.join(tmp, 'student.onnx');
    const e = hafif('export', '--model', student, '--format', 'onnx', '--out', file, '--json');
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    const info = JSON.parse(e.stdout);
    expect(info.bytes).toBe(readFileSync(file).length);
    expect(info.gzipBytes).toBeGreaterThan(0);
    const r = hafif('evaluate', '--model', file, '--limit', '64', '--json');
    expect(r.code).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run.params).toBe(20_490);
    const data = await loadDataset('mnist', {limit: 64});
    const test = toTensors(data.test, data.inputShape);
    const model = await tf.loadLayersModel(`file://${student}/model.json`);
    const ref = evaluate(model, test.x, test.y);
    expect(run.testAccuracy).toBe(ref.accuracy);
    expect(run.testLoss).toBeCloseTo(ref.loss, 4);
    model.dispose();
    tf.dispose([test.x, test.y]);
  });

  it('distill --teacher FILE.onnx reaches the Distiller, which refuses to run it without the cache', () => {
    // (That the distilled student equals the one from the tfjs teacher is src/export/onnx_teacher.test.ts.)
    oneLineError(hafif('distill', '--teacher', path.join(tmp, 'student.onnx'), '--limit', '64', '--epochs', '1', '--no-cache-teacher-logits',
      '--out', path.join(tmp, 'no-cache')), /needs cacheTeacherLogits/);
    expect(existsSync(path.join(tmp, 'no-cache', 'model.json'))).toBe(false);
  });

  it('bench-inference --json: every engine at batch 1 and 32, threads stated', () => {
    const r = hafif('bench-inference', '--model', student, '--rounds', '1', '--seconds', '0.05', '--limit', '64', '--json');
    expect(r.stderr).not.toMatch(/Error|\n\s+at /);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({threads: 1, tfjsCpuThreads: 1, batchSizes: [1, 32]});
    const rows = out.models[0].rows as {engine: string; batchSize: number; imagesPerSecond: number; msPerImage: number}[];
    const engines = [...new Set(rows.map((x) => x.engine))];
    expect(engines).toEqual(expect.arrayContaining(['tfjs-cpu', 'ort-float', 'ort-int8']));
    expect(rows).toHaveLength(engines.length * 2);
    for (const row of rows) expect(row.imagesPerSecond * row.msPerImage).toBeCloseTo(1000, 6);
    const sizes = out.models[0].artifacts as {engine: string; bytes: number}[];
    const float = sizes.find((a) => a.engine === 'ort-float')!.bytes;
    expect(sizes.find((a) => a.engine === 'ort-int8')!.bytes).toBeLessThan(float / 2);
  });

  it('a truncated or corrupt .onnx is a one-line error with exit code 2', () => {
    const good = readFileSync(path.join(tmp, 'student.onnx'));
    writeFileSync(path.join(tmp, 'truncated.onnx'), good.subarray(0, Math.floor(good.length / 2)));
    oneLineError(hafif('evaluate', '--model', 'truncated.onnx', '--limit', '64'), /truncated\.onnx.*(not a valid ONNX model|onnxruntime cannot load)/);
    writeFileSync(path.join(tmp, 'garbage.onnx'), 'not a model at all\n');
    oneLineError(hafif('evaluate', '--model', 'garbage.onnx', '--limit', '64'), /garbage\.onnx is not a valid ONNX model/);
    oneLineError(hafif('evaluate', '--model', 'missing.onnx', '--limit', '64'), /no ONNX model at missing\.onnx/);
  });

  it('an .onnx whose input shape does not fit the dataset is a one-line error', () => {
    const file = path.join(tmp, 'cifar.onnx');
    expect(hafif('export', '--model', cifar, '--out', file).code).toBe(0);
    oneLineError(hafif('evaluate', '--model', file, '--limit', '64'), /expects inputs of shape \[32,32,3\], but the dataset's examples are \[28,28,1\]/);
    oneLineError(hafif('distill', '--teacher', file, '--limit', '64', '--out', path.join(tmp, 'd-cifar')), /teacher .*cifar\.onnx expects inputs of shape \[32,32,3\]/);
  });

  it('an .onnx exported with --layout nchw is refused on NHWC data', () => {
    const file = path.join(tmp, 'nchw.onnx');
    expect(hafif('export', '--model', student, '--layout', 'nchw', '--out', file).code).toBe(0);
    oneLineError(hafif('evaluate', '--model', file, '--limit', '64'), /expects inputs of shape \[1,28,28\]/);
  });
});

describe('hafif export --int8: calibration', () => {
  it('uses quantization.json beside the model, and refuses one from another model, naming the mismatch', async () => {
    const other = path.join(tmp, 'other');
    const m = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 4});
    await m.save(`file://${other}`);
    m.dispose();
    // A calibration made for `student`, copied beside `other`.
    const made = hafif('export', '--model', student, '--int8', '--limit', '256', '--out', path.join(tmp, 's-int8.onnx'), '--json');
    expect(made.code).toBe(0);
    expect(JSON.parse(made.stdout).int8.calibration).toMatch(/min\/max on 256 mnist training examples/);
    const {calibrateMinMax, weightsSha256} = await import('../export/index.js');
    const x = tf.zeros([2, 28, 28, 1]);
    const sm = await tf.loadLayersModel(`file://${student}/model.json`);
    const q = calibrateMinMax(sm, x, {weightsSha256: await weightsSha256(student), dataset: 'zeros'});
    tf.dispose(x);
    sm.dispose();
    writeFileSync(path.join(other, 'quantization.json'), JSON.stringify(q));
    const out = path.join(tmp, 'other-int8.onnx');
    oneLineError(hafif('export', '--model', other, '--int8', '--out', out), /quantization\.json was calibrated for another model: its weightsSha256 is [0-9a-f]{64}, the model's weights hash to [0-9a-f]{64}/);
    expect(existsSync(out)).toBe(false);
    // The matching file beside `student` is used as it is.
    writeFileSync(path.join(student, 'quantization.json'), JSON.stringify(q));
    const r = hafif('export', '--model', student, '--int8', '--out', path.join(tmp, 's-int8b.onnx'), '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).int8.calibration).toBe(path.join(student, 'quantization.json'));
    rmSync(path.join(student, 'quantization.json'));
  });
});

describe('hafif export: bad input', () => {
  it('an unknown layer names the layer and class, and writes nothing', async () => {
    const dir = path.join(tmp, 'ln');
    const m = tf.sequential({layers: [tf.layers.flatten({inputShape: [28, 28, 1]}), tf.layers.layerNormalization({name: 'norm_x'}), tf.layers.dense({units: 10})]});
    await m.save(`file://${dir}`);
    m.dispose();
    const out = path.join(tmp, 'ln.onnx');
    oneLineError(hafif('export', '--model', dir, '--out', out), /layer "norm_x" of class LayerNormalization/);
    expect(existsSync(out)).toBe(false);
  });

  it('an unknown format or layout is refused', () => {
    // commander's own errors add its '(run with --help for usage)' line.
    for (const [flag, value] of [['--format', 'tflite'], ['--layout', 'chwn']]) {
      const r = hafif('export', '--model', student, flag, value, '--out', 'x.onnx');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(value));
      expect(existsSync(path.join(tmp, 'x.onnx'))).toBe(false);
    }
  });
});
