// `hafif compress` end to end, and its bad input.
import {spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'hafif.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hafif-compress-'));
afterAll(() => rmSync(tmp, {recursive: true, force: true}));

function hafif(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {encoding: 'utf8', cwd: tmp, timeout: 600_000});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

const teacher = path.join(tmp, 'teacher');
beforeAll(() => {
  const r = hafif('train', '--model', 'keras-student', '--limit', '256', '--epochs', '1', '--out', teacher, '--quiet');
  expect(r.code).toBe(0);
});

describe('hafif compress', () => {
  it('distills, prunes and quantizes in one run: the chain table in results.json, the three models on disk', () => {
    const out = path.join(tmp, 'out');
    const r = hafif('compress', '--teacher', teacher, '--limit', '256', '--epochs', '1', '--prune-epochs', '1',
      '--sparsity', '0.5', '--dtype', 'float16', '--out', out, '--no-report', '--quiet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(results.runs.map((x: {name: string}) => x.name)).toEqual(['teacher', 'distilled', 'pruned', 'quantized']);
    expect(results.settings).toMatchObject({pruneSparsity: 0.5, pruneEpochs: 1, quantizeDtype: 'float16'});
    const [, distilled, pruned, quantized] = results.runs;
    expect(pruned.nonZeroParams).toBeLessThan(0.6 * distilled.params);
    expect(quantized.bytes).toBe(2 * quantized.params); // float16
    for (const p of ['distilled', 'pruned', 'quantized']) expect(existsSync(path.join(out, p, 'model.json'))).toBe(true);
    expect(r.stdout).toMatch(/pruned to 0\.5 over 1 epochs, weights float16/);
    expect(r.stdout).toMatch(/non-zero/);
  });

  it('refuses a bad sparsity or compression flags without --compress, with one line and exit 2', () => {
    const cases: [string[], RegExp][] = [
      [['compress', '--teacher', teacher, '--sparsity', '1', '--out', path.join(tmp, 'bad1')], /sparsity must be in \[0, 1\), got 1/],
      [['demo', '--sparsity', '0.5', '--out', path.join(tmp, 'bad2')], /--sparsity needs --compress/],
      [['compress', '--teacher', path.join(tmp, 'nothing'), '--out', path.join(tmp, 'bad3')], /nothing/],
    ];
    for (const [args, message] of cases) {
      const r = hafif(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    for (const d of ['bad1', 'bad2', 'bad3']) expect(existsSync(path.join(tmp, d))).toBe(false);
  });
});
