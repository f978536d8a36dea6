// End-to-end tests of `hafif prune` (npm test builds dist/ first).
import {spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import '../index.js'; // the file:// routers
import * as tfl from '@tensorflow/tfjs-layers';
import {createModel} from '../models/index.js';
import {keepCount} from '../prune/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'hafif.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hafif-prune-'));
afterAll(() => rmSync(tmp, {recursive: true, force: true}));

function hafif(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {encoding: 'utf8', cwd: tmp, timeout: 600_000});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

const student = path.join(tmp, 'student');
const branchy = path.join(tmp, 'branchy');
const flatOnly = path.join(tmp, 'flat-only');

beforeAll(async () => {
  const s = createModel('keras-student', {inputShape: [28, 28, 1], numClasses: 10, seed: 3});
  await s.save(`file://${student}`);
  s.dispose();
  // conv a feeds two convs: structured pruning must refuse it.
  const input = tfl.input({shape: [28, 28, 1]});
  const a = tfl.layers.conv2d({filters: 4, kernelSize: 3, strides: 4, name: 'a'}).apply(input) as tfl.SymbolicTensor;
  const b = tfl.layers.conv2d({filters: 4, kernelSize: 3, padding: 'same', name: 'b'}).apply(a) as tfl.SymbolicTensor;
  const c = tfl.layers.conv2d({filters: 4, kernelSize: 3, padding: 'same', name: 'c'}).apply(a) as tfl.SymbolicTensor;
  const sum = tfl.layers.add({name: 'sum'}).apply([b, c]) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({units: 10}).apply(tfl.layers.flatten().apply(sum)) as tfl.SymbolicTensor;
  const m = tfl.model({inputs: input, outputs: out});
  await m.save(`file://${branchy}`);
  m.dispose();
  const f = tfl.sequential({layers: [tfl.layers.flatten({inputShape: [28, 28, 1]}), tfl.layers.softmax()]});
  await f.save(`file://${flatOnly}`);
  f.dispose();
});

describe('hafif prune', () => {
  it('magnitude-prunes to 80%, fine-tunes, saves a stock tfjs model with the zeros and reports them', async () => {
    const out = path.join(tmp, 'pruned');
    const r = hafif('prune', '--model', student, '--sparsity', '0.8', '--frequency', '4', '--limit', '256', '--epochs', '1', '--out', out, '--json');
    expect(r.stderr).not.toMatch(/Error|at /);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    // 256 / 32 = 8 steps; the polynomial's end defaults to the last step ≤ 4 on the grid of 4: step 4.
    expect(res.schedule).toMatchObject({kind: 'polynomial', finalSparsity: 0.8, beginStep: 0, endStep: 4, frequency: 4});
    const model = await tfl.loadLayersModel(`file://${out}/model.json`);
    try {
      const kernels = model.layers.filter((l) => ['Conv2D', 'Dense'].includes(l.getClassName())).map((l) => l.getWeights()[0]);
      expect(res.sparsityReport.layers.map((l: {weights: number; zeros: number}) => l.weights - l.zeros)).toEqual(
        kernels.map((k) => keepCount(k.size, 0.8)),
      );
      for (const k of kernels) {
        expect(Array.from(k.dataSync()).filter((v) => v !== 0).length).toBe(keepCount(k.size, 0.8));
      }
    } finally {
      model.dispose();
    }
    expect(res.after.params).toBe(20_490);
    expect(res.after.nonZeroParams).toBeLessThan(0.25 * 20_490);
    expect(res.after.gzipBytes).toBeLessThan(0.5 * res.before.gzipBytes);
  });

  it('structured pruning halves the filters and saves the smaller model', async () => {
    const out = path.join(tmp, 'structured');
    const r = hafif('prune', '--model', student, '--sparsity', '0.5', '--structured', 'l2', '--limit', '128', '--epochs', '1', '--out', out, '--json');
    expect(r.stderr).not.toMatch(/Error|at /);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.layers.map((l: {before: number; after: number}) => [l.before, l.after])).toEqual([[16, 8], [32, 16]]);
    const model = await tfl.loadLayersModel(`file://${out}/model.json`);
    // conv 3·3·1·8 + 8, conv 3·3·8·16 + 16, dense (7·7·16)·10 + 10.
    expect(model.countParams()).toBe(80 + 1168 + 7850);
    expect(res.after.params).toBe(80 + 1168 + 7850);
    expect(res.speed.inferenceImagesPerSecond).toHaveLength(2);
    model.dispose();
  });

  it.each([
    ['a sparsity outside [0, 1)', ['--model', student, '--sparsity', '1.5'], /sparsity must be in \[0, 1\), got 1.5/],
    ['polynomial end ≤ begin', ['--model', student, '--sparsity', '0.5', '--begin-step', '10', '--end-step', '10'], /end-step must be > begin-step \(10\).*got 10/],
    ['no prunable layer', ['--model', flatOnly, '--sparsity', '0.5'], /no prunable layer/],
    ['a layer feeding two layers', ['--model', branchy, '--sparsity', '0.5', '--structured', 'l1', '--limit', '64'], /layer a feeds 2 layers \(b, c\)/],
    ['a dir that is not a tfjs model', ['--model', tmp, '--sparsity', '0.5'], /model\.json/],
  ])('%s: one line, exit 2, nothing written', (_what, args, message) => {
    const out = path.join(tmp, `bad-${Math.random().toString(36).slice(2)}`);
    const r = hafif('prune', ...args, '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });

  it('a model.json that is not a layers model is named', () => {
    const dir = path.join(tmp, 'not-a-model');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({modelTopology: {foo: 1}, weightsManifest: []}));
    const r = hafif('prune', '--model', dir, '--sparsity', '0.5', '--out', path.join(tmp, 'never'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`model ${dir} is not a TensorFlow.js layers model`));
    expect(existsSync(path.join(tmp, 'never'))).toBe(false);
  });
});
