// `hafif search` end to end on a tiny search, and its bad-input errors (built CLI; npm test builds dist/).
import {spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterAll, describe, expect, it} from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'hafif.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hafif-search-'));
afterAll(() => rmSync(tmp, {recursive: true, force: true}));

function hafif(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {encoding: 'utf8', cwd: tmp, timeout: 600_000});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

// A search small enough for a test: keras-student as its own teacher, 300 examples, 1 epoch.
const tiny = ['--limit', '300', '--seeds', '0,1', '--teacher', 'keras-student', '--teacher-epochs', '1', '--teacher-augment', 'none',
  '--teacher-schedule', 'constant', '--epochs', '1', '--alpha', '0.5'];

describe('hafif search', () => {
  it('runs, resumes without retraining, chooses on validation and tests only the chosen setting', () => {
    const out = path.join(tmp, 'a');
    const r = hafif('search', ...tiny, '--loss', 'kl,dkd', '--augment', 'shift1', '--out', out, '--json');
    expect(r.stderr).not.toMatch(/Error|at /);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(JSON.parse(readFileSync(path.join(out, 'search.json'), 'utf8'))).toEqual(report);
    // 2 settings × 2 seeds distilled, 1 scratch recipe × 2 seeds, 2 teachers.
    expect(readdirSync(path.join(out, 'runs')).length).toBe(8);
    expect(report.missing).toBe(0);
    expect(report.settings).toHaveLength(2);
    for (const s of report.settings) {
      expect(s.seeds).toEqual([0, 1]);
      s.diffVal.forEach((d: number, i: number) => expect(d).toBeCloseTo(s.distilledVal[i] - s.scratchVal[i], 12));
    }
    // Chosen by the distilled student's own validation accuracy (not by the paired difference,
    // which a badly trained twin would inflate).
    const best = Math.max(...report.settings.map((s: {distilledVal: number[]}) => s.distilledVal[0] + s.distilledVal[1]));
    expect(report.chosen.distilledVal[0] + report.chosen.distilledVal[1]).toBe(best);
    expect(report.test.seeds).toEqual([0, 1]);
    expect(report.test.label).toBe(report.chosen.label);
    // One scratch recipe: it is the best one, and the chosen setting's own twin.
    expect(report.bestScratch.label).toMatch(/^1 ep, shift1, /);
    expect(report.test.bestScratch).toBeUndefined();
    // No run record holds a student's test accuracy: only the chosen setting is tested, at the end.
    for (const f of readdirSync(path.join(out, 'runs'))) {
      const rec = JSON.parse(readFileSync(path.join(out, 'runs', f), 'utf8'));
      if (rec.kind !== 'teacher') expect(rec.testAccuracy).toBeUndefined();
    }
    const again = hafif('search', ...tiny, '--loss', 'kl,dkd', '--augment', 'shift1', '--out', out);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/training teacher|validation \d/);
    expect(again.stdout).toMatch(/chosen on validation \(best distilled accuracy\): /);
    // Per seed, each difference carries its sign as the mean's does (+0.45, −0.30, 0.00).
    expect(again.stdout).toMatch(/^\| test \| .* \| (?:[+−]\d+\.\d\d|0\.00)(?:, (?:[+−]\d+\.\d\d|0\.00))+ \|$/m);
  });

  it('--teacher-batch-size keeps the teachers of another student batch size', () => {
    const out = path.join(tmp, 'teacher-batch');
    const args = [...tiny, '--loss', 'kl', '--augment', 'none', '--out', out];
    const first = hafif('search', ...args);
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/training teacher/);
    // Students at batch 16, teachers at the first search's 32: its cached teachers serve.
    const reused = hafif('search', ...args, '--batch-size', '16', '--teacher-batch-size', '32');
    expect(reused.code).toBe(0);
    expect(reused.stderr).not.toMatch(/training teacher/);
    expect(reused.stderr).toMatch(/^distilled .*: validation/m);
    // Without it the teachers train at the students' batch size.
    const own = hafif('search', ...args, '--batch-size', '16');
    expect(own.code).toBe(0);
    expect(own.stderr).toMatch(/training teacher/);
  });

  it('compares the chosen setting with the best scratch recipe on validation when that is another twin', () => {
    const out = path.join(tmp, 'best');
    const r = hafif('search', ...tiny, '--loss', 'kl', '--augment', 'none,shift1', '--out', out, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    const twins = report.settings.map((s: {scratchVal: number[]; label: string}) => ({val: s.scratchVal[0] + s.scratchVal[1], label: s.label}));
    const bestTwin = twins.reduce((a: {val: number}, b: {val: number}) => (b.val > a.val ? b : a));
    expect(report.bestScratch.scratchVal[0] + report.bestScratch.scratchVal[1]).toBe(bestTwin.val);
    // Each setting here has its own twin (no augmentation, or shift1).
    if (report.chosen.label === bestTwin.label) {
      expect(report.test.bestScratch).toBeUndefined();
    } else {
      const b = report.test.bestScratch;
      expect(b.scratch).toHaveLength(2);
      b.diff.forEach((d: number, i: number) => expect(d).toBeCloseTo(report.test.distilled[i] - b.scratch[i], 12));
    }
  });

  it('--jobs 2 splits the runs over two processes sharing --out', () => {
    const out = path.join(tmp, 'b');
    const r = hafif('search', ...tiny, '--seeds', '0', '--loss', 'mse,lskd', '--augment', 'none', '--out', out, '--jobs', '2');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\[job 0\]/);
    expect(r.stderr).toMatch(/\[job 1\]/);
    expect(readdirSync(path.join(out, 'runs')).length).toBe(4);
    expect(existsSync(path.join(out, 'search.json'))).toBe(true);
  });

  it('--teachers 1,2 trains a second teacher per seed and distils the pair as an ensemble', () => {
    const out = path.join(tmp, 'e');
    const r = hafif('search', ...tiny, '--seeds', '0', '--loss', 'kl', '--augment', 'none', '--teachers', '1,2', '--out', out, '--json');
    expect(r.stderr).not.toMatch(/Error|at /);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/training teacher keras-student for seed 0, ensemble member 1/);
    const report = JSON.parse(r.stdout);
    // 2 teachers, 1 scratch, 2 distilled (one teacher, the ensemble of two).
    expect(readdirSync(path.join(out, 'runs')).length).toBe(5);
    expect(report.settings.map((s: {label: string}) => /2 teachers/.test(s.label)).sort()).toEqual([false, true]);
    expect(report.members).toHaveLength(1);
    const [one, two] = [...report.settings].sort((a: {label: string}, b: {label: string}) => a.label.length - b.label.length);
    // Same student start and batches; a different teacher signal.
    expect(one.scratchVal).toEqual(two.scratchVal);
    const students = readdirSync(path.join(out, 'students')).filter((d) => d.startsWith('distilled-'));
    expect(students).toHaveLength(2);
    const w = students.map((d) => readFileSync(path.join(out, 'students', d, 'weights.bin')));
    expect(w[0].equals(w[1])).toBe(false);
  });

  it.each([
    [['--loss', 'kl,foo'], /unknown distillation loss "foo"; expected one of kl, mse, dkd, lskd/],
    [['--augment', 'mixup0'], /mixup alpha must be a finite number > 0, got 0/],
    [['--augment', 'mixup:-1'], /mixup alpha must be a finite number > 0, got -1/],
    [['--alpha', ''], /search axis alpha is empty/],
    [['--epochs', '3,'], /search axis epochs is empty or has an empty item: "3,"/],
    [['--validation-split', '0'], /validation split must be in \(0, 1\), got 0/],
    [['--validation-split', '1'], /validation split must be in \(0, 1\), got 1/],
    [['--schedule', 'step'], /unknown learning-rate schedule "step"/],
    [['--teacher-view', 'teacher'], /teacher view must be same or clean, got teacher/],
    [['--teachers', '0'], /teachers must be a positive integer, got 0/],
    [['--teachers', '3', '--feature', 'hint:conv1:conv1'], /cannot be searched with teacher ensembles/],
  ])('bad input %j: one line, exit 2, nothing written', (args, message) => {
    const out = path.join(tmp, `bad-${Math.random().toString(36).slice(2)}`);
    const r = hafif('search', ...tiny, ...args, '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });
});
