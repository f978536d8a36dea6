// `hafif run CONFIG`: every example config at a tiny size, a repeat from the written config, and
// bad configs (one line, exit 2, nothing written). Runs the built CLI (npm test builds dist/).
import {spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {encodeCifarBatch, exportIdx, loadDataset} from '../data/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'hafif.js');
const configs = path.join(root, 'configs');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hafif-run-'));
afterAll(() => rmSync(tmp, {recursive: true, force: true}));

function hafif(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {encoding: 'utf8', cwd: tmp, timeout: 600_000});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

// Small stand-ins for the datasets that would otherwise be downloaded: Fashion-MNIST's IDX files
// (here holding 300 of the embedded digits) and CIFAR-10's binary batches (random pixels).
const fashionDir = path.join(tmp, 'fashion');
const cifarDir = path.join(tmp, 'cifar');
beforeAll(async () => {
  await exportIdx(await loadDataset('mnist', {limit: 300, testLimit: 100}), fashionDir);
  mkdirSync(cifarDir, {recursive: true});
  let seed = 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const batch = (count: number) => encodeCifarBatch({
    count,
    images: Uint8Array.from({length: count * 3072}, () => Math.floor(rnd() * 256)),
    labels: Uint8Array.from({length: count}, (_, i) => i % 10),
  });
  for (let b = 1; b <= 5; b++) writeFileSync(path.join(cifarDir, `data_batch_${b}.bin`), batch(20));
  writeFileSync(path.join(cifarDir, 'test_batch.bin'), batch(40));
});

const TINY = ['--set', 'dataset.limit=64', '--set', 'dataset.testLimit=100', '--set', 'teacher.epochs=1', '--set', 'student.epochs=1'];
const dataFor: Record<string, string[]> = {
  'fashion-mnist.yaml': ['--set', `dataset.dataDir=${fashionDir}`],
  'cifar10.yaml': ['--set', `dataset.dataDir=${cifarDir}`, '--set', 'dataset.limit=50', '--set', 'dataset.testLimit=40'],
};

/** What must repeat exactly: everything but timings. */
const repeatable = (runs: Record<string, unknown>[]) =>
  runs.map(({trainSeconds: _t, inferenceImagesPerSecond: _i, ...rest}) => rest);

describe('hafif run: the example configs at a tiny size', () => {
  const files = readdirSync(configs).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  it('has the scenarios', () => {
    expect(files).toEqual(expect.arrayContaining(['keras-mnist.yaml', 'recommended.yaml', 'cifar10.yaml', 'fashion-mnist.yaml']));
  });

  // keras-mnist.yaml runs in the repeat test below.
  for (const f of files.filter((x) => x !== 'keras-mnist.yaml')) {
    it(f, {timeout: 600_000}, () => {
      const out = path.join(tmp, 'out', f);
      const r = hafif('run', path.join(configs, f), ...TINY, ...(dataFor[f] ?? []), '--set', 'report=false', '--out', out, '--quiet');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
      const teachers = results.settings.teachers as number;
      expect(teachers).toBeGreaterThanOrEqual(1);
      expect(results.runs.map((x: {name: string}) => x.name))
        .toEqual(['teacher', ...Array.from({length: teachers - 1}, (_, i) => `teacher-${i + 2}`), 'distilled', 'scratch']);
      expect(readFileSync(path.join(out, 'config.yaml'), 'utf8')).toMatch(/epochs: 1\n/);
    });
  }
});

describe('hafif run: the written config repeats the run', () => {
  it('run → DIR/config.yaml → run again gives the same results; the report is written', {timeout: 600_000}, () => {
    const first = path.join(tmp, 'first');
    const r1 = hafif('run', path.join(configs, 'keras-mnist.yaml'), ...TINY, '--set', 'distill.alpha=0.5', '--out', first, '--json');
    expect(r1.code).toBe(0);
    const events = r1.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const last = events.at(-1);
    expect(last.event).toBe('results');
    expect(last.report).toBe(path.join(first, 'report.html'));
    expect(existsSync(path.join(first, 'charts', 'confusion.png'))).toBe(true);
    const config = readFileSync(path.join(first, 'config.yaml'), 'utf8');
    expect(config).toMatch(/alpha: 0\.5\n/); // the override is in the resolved config
    expect(last.results.settings).toMatchObject({alpha: 0.5, teacher: 'keras-teacher', epochsTeacher: 1});
    // The resolved config prints the same with --dry-run, which writes nothing.
    const dry = hafif('run', path.join(first, 'config.yaml'), '--dry-run', '--out', path.join(tmp, 'dry'));
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe(config);
    expect(existsSync(path.join(tmp, 'dry'))).toBe(false);

    const second = path.join(tmp, 'second');
    const r2 = hafif('run', path.join(first, 'config.yaml'), '--out', second, '--quiet');
    expect(r2.code).toBe(0);
    expect(readFileSync(path.join(second, 'config.yaml'), 'utf8')).toBe(config);
    const a = JSON.parse(readFileSync(path.join(first, 'results.json'), 'utf8'));
    const b = JSON.parse(readFileSync(path.join(second, 'results.json'), 'utf8'));
    expect(b.settings).toEqual(a.settings);
    expect(repeatable(b.runs)).toEqual(repeatable(a.runs));

    // --resume on the finished run reloads its phases: the same results, the config untouched.
    const r3 = hafif('run', path.join(first, 'config.yaml'), '--out', first, '--resume', '--quiet');
    expect(r3.stderr).toBe('');
    expect(r3.code).toBe(0);
    const c = JSON.parse(readFileSync(path.join(first, 'results.json'), 'utf8'));
    expect(repeatable(c.runs)).toEqual(repeatable(a.runs));
    // Another config cannot resume this run, and leaves its config.yaml as it was.
    const r4 = hafif('run', path.join(first, 'config.yaml'), '--set', 'distill.alpha=0.7', '--out', first, '--resume', '--quiet');
    expect(r4.code).toBe(2);
    expect(r4.stderr.trim().split('\n')).toHaveLength(1);
    expect(r4.stderr).toMatch(/differs from the run's .*config\.yaml; resume with that file/);
    expect(readFileSync(path.join(first, 'config.yaml'), 'utf8')).toBe(config);
    // A directory that is no run.
    const r5 = hafif('run', path.join(configs, 'keras-mnist.yaml'), '--out', path.join(tmp, 'none'), '--resume');
    expect(r5.code).toBe(2);
    expect(r5.stderr).toMatch(/holds no config\.yaml/);
  });
});

// The messages for every kind of bad config are checked in experiment/config.test.ts; these prove
// the command's side: one line on stderr, exit code 2, no run directory.
describe('hafif run: bad configs get one line naming the field, exit 2, nothing written', () => {
  const write = (name: string, text: string) => {
    const f = path.join(tmp, 'bad', name);
    mkdirSync(path.dirname(f), {recursive: true});
    writeFileSync(f, text);
    return f;
  };
  const cases: [string, () => string[], RegExp][] = [
    ['alpha 2 via --set', () => [path.join(configs, 'recommended.yaml'), '--set', 'distill.alpha=2'], /recommended\.yaml: distill\.alpha: must be in \[0, 1\], got 2$/],
    ['an unknown key', () => [write('k.yaml', 'dataset: {name: mnist}\ndistill: {alfa: 0.5}\n')], /k\.yaml: distill\.alfa: unknown key$/],
    ['an unknown model', () => [write('m.yaml', 'dataset: {name: mnist}\nteacher: {model: gpt}\n')], /m\.yaml: teacher\.model: unknown model; expected one of .*, got "gpt"$/],
    ['a custom YAML tag', () => [write('tag.yaml', 'dataset: {name: mnist}\nseed: !import_call {key: os.getpid}\n')], /tag\.yaml:2: YAML tag !import_call is not allowed/],
    ['a file that is not YAML', () => [write('no.yaml', 'dataset: [mnist\n  name: {\n')], /no\.yaml:\d+: not YAML: /],
  ];
  for (const [name, args, message] of cases) {
    it(name, () => {
      const out = path.join(tmp, `bad-out-${name.replace(/\W+/g, '-')}`);
      const r = hafif('run', ...args(), '--out', out);
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^hafif: /);
      expect(lines[0]).toMatch(message);
      expect(existsSync(out)).toBe(false);
    });
  }
});
