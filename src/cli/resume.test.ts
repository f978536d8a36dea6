// Stopping and resuming the whole demo pipeline in child processes: killed with SIGKILL or
// interrupted with SIGINT mid-epoch, then resumed, the run ends with the same bytes as one that
// was never stopped.
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {readCheckpoint} from '../train/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'hafif.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hafif-resume-'));
afterAll(() => rmSync(tmp, {recursive: true, force: true}));

// 256 digits: 8 steps per epoch; the teacher's 3 epochs are 24 steps, checkpointed every 2.
const RUN = ['demo', '--recipe', 'quick', '--limit', '256', '--epochs-teacher', '3', '--epochs-student', '2', '--checkpoint-every', '2', '--json'];

function hafif(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {encoding: 'utf8', cwd: tmp, timeout: 600_000});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

/** Starts a run and sends `signal` once a teacher checkpoint past step 4 and before the end exists. */
async function stopMidTeacher(out: string, signal: NodeJS.Signals): Promise<{code: number | null; stderr: string; step: number}> {
  const child = spawn(process.execPath, [bin, ...RUN, '--out', out], {cwd: tmp, stdio: ['ignore', 'pipe', 'pipe']});
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const dir = path.join(out, 'checkpoints', 'teacher');
  let step = -1;
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let exited = false;
  void done.then(() => (exited = true));
  while (!exited) {
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => /^ckpt-\d+\.bin$/.test(f)).sort() : [];
    const newest = files.length ? Number(/\d+/.exec(files[files.length - 1])![0]) : -1;
    if (newest >= 4 && newest < 20) {
      step = newest;
      child.kill(signal);
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const code = await done;
  return {code, stderr, step};
}

const modelBytes = (out: string) =>
  Object.fromEntries(['teacher', 'distilled', 'scratch'].map((p) => [p, readFileSync(path.join(out, p, 'weights.bin'))]));

function accuracies(out: string): number[] {
  return JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')).runs.map((r: {testAccuracy: number}) => r.testAccuracy);
}

describe('hafif demo --resume', () => {
  const reference = path.join(tmp, 'reference');
  beforeAll(() => {
    const r = hafif(...RUN, '--out', reference);
    expect(r.stderr).not.toMatch(/Error|at /);
    expect(r.code).toBe(0);
  }, 900_000);

  it('a run killed with SIGKILL mid-epoch, resumed, ends with the bytes of an uninterrupted run', async () => {
    const out = path.join(tmp, 'killed');
    const stopped = await stopMidTeacher(out, 'SIGKILL');
    expect(stopped.code).toBe(null); // killed, never finished
    expect(stopped.step).toBeGreaterThanOrEqual(4);
    expect(existsSync(path.join(out, 'results.json'))).toBe(false);
    const r = hafif('demo', '--resume', out, ...RUN.slice(1));
    expect(r.stderr).not.toMatch(/Error|at /);
    expect(r.code).toBe(0);
    expect(modelBytes(out)).toEqual(modelBytes(reference));
    expect(accuracies(out)).toEqual(accuracies(reference));
  }, 900_000);

  it('Ctrl-C saves a checkpoint at the next step, says where, exits 130; the resumed run matches too', async () => {
    const out = path.join(tmp, 'interrupted');
    const stopped = await stopMidTeacher(out, 'SIGINT');
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain(`continue with: hafif demo --resume ${out}`);
    expect(stopped.stderr).not.toMatch(/\n\s+at /);
    // The checkpoint written on the way out is the newest: the step the signal arrived at, or later.
    const dir = path.join(out, 'checkpoints', 'teacher');
    const newest = readdirSync(dir).filter((f) => f.endsWith('.bin')).sort().pop() as string;
    const ckpt = await readCheckpoint(path.join(dir, newest));
    expect(ckpt.position.step).toBeGreaterThanOrEqual(stopped.step);
    const r = hafif('demo', '--resume', out, ...RUN.slice(1));
    expect(r.code).toBe(0);
    expect(modelBytes(out)).toEqual(modelBytes(reference));
  }, 900_000);

  it('resuming a finished run reproduces its results without training again', () => {
    const r = hafif('demo', '--resume', reference, ...RUN.slice(1));
    expect(r.code).toBe(0);
    // --json prints one event per line; the results are the last.
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
    expect(last.event).toBe('results');
    expect(last.results.runs.map((x: {testAccuracy: number}) => x.testAccuracy)).toEqual(accuracies(reference));
  }, 900_000);

  it('refuses a directory that is not a run, other settings, and --checkpoint-every 0, with one line and exit 2', () => {
    const empty = path.join(tmp, 'empty');
    mkdirSync(empty);
    const cases: [string[], RegExp][] = [
      [['demo', '--resume', empty, ...RUN.slice(1)], /is not a hafif run directory/],
      [['demo', '--resume', reference, ...RUN.slice(1), '--alpha', '0.5'], /alpha is 0\.9 there, 0\.5 here/],
      [['demo', '--resume', reference, ...RUN.slice(1), '--limit', '128'], /trainSize is 256 there, 128 here/],
      [['demo', ...RUN.slice(1, -3), '--checkpoint-every', '0', '--out', path.join(tmp, 'zero')], /checkpoint-every/],
    ];
    for (const [args, message] of cases) {
      const r = hafif(...args);
      expect(r.code, args.join(' ')).toBe(2);
      // One line (commander adds its usage hint after a bad flag value), no stack trace.
      expect(r.stderr.trim().split('\n')[0]).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(path.join(tmp, 'zero'))).toBe(false);
  }, 900_000);
});
