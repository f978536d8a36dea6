#!/usr/bin/env node
// `npm run bench`: native vs cpu kernel times, the sgemm ceiling, end-to-end training and
// inference throughput of every registry model, and PyTorch side by side.
import {mkdirSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {Command, InvalidArgumentError, Option} from 'commander';

import {benchModel, type E2eResult, type StepBudget} from './e2e.js';
import {hasNative, machineInfo, machineLine, setBackend} from './env.js';
import {benchIsa, isaTable} from './isa.js';
import {benchKernels} from './kernels.js';
import {profileStep, type StepProfile} from './profile.js';
import {e2eTable, kernelsTable, profileTable, sgemmTable, torchRatios, torchTable} from './report.js';
import {benchSgemm} from './sgemm.js';
import {benchTorch, type TorchResult} from './torch.js';
import {now, progress} from './timing.js';
import {MODELS, TRAINERS, type ModelName} from './train.js';
import {combineE2e, combineTorch, type TorchWindows} from './windows.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The project root (bench/dist/cli.js → ../..). */
export const projectRoot = path.resolve(here, '..', '..');

export type Section = 'kernels' | 'sgemm' | 'e2e' | 'torch' | 'isa';
/** `isa` runs only when asked for (--only isa): it repeats e2e in several child processes. */
const SECTIONS: readonly Section[] = ['kernels', 'sgemm', 'e2e', 'torch', 'isa'];

export interface BenchOptions {
  readonly quick: boolean;
  readonly only?: Section;
  readonly steps: number;
  readonly out: string;
  readonly json: boolean;
  readonly profile: boolean;
  readonly model?: ModelName;
  readonly cpuTeacher: boolean;
  readonly reference: string;
  readonly nativeOnly: boolean;
  readonly compareAddon?: string;
  readonly rounds: number;
  readonly windows: number;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  }
  return n;
}

function parseArgs(argv: string[]): BenchOptions {
  const program = new Command('bench')
    .description('Benchmark hafif\'s native TensorFlow.js backend against tfjs-backend-cpu and PyTorch.')
    .option('--quick', 'fewer repetitions, no cpu timing of the big convolutions', false)
    .addOption(new Option('--only <section>', 'run one section').choices(SECTIONS))
    .option('--steps <n>', 'timed training steps per model (inference: max(3, n/4) batches)', positiveInt, 100)
    .option('--out <file>', 'where to write the JSON results', 'bench-out/bench.json')
    .option('--json', 'print the JSON results to stdout (tables go to stderr)', false)
    .option('--profile', 'only profile training steps (hafif fit step and tf.train.adam) on native, kernel by kernel', false)
    .addOption(new Option('--model <name>', 'with --profile: only this registry model; else: e2e and torch for this model only')
      .choices(MODELS))
    .option('--cpu-teacher', 'also time keras-teacher, and its conv2 filter gradient, on the cpu backend (minutes)', false)
    .option('--reference <path>', 'the PyTorch reference script',
      path.resolve(projectRoot, '..', 'shared', 'reference', 'zoo_throughput.py'))
    .option('--native-only', 'e2e: skip the cpu backend rows', false)
    .option('--compare-addon <file>', 'isa: also time this addon binary (e.g. a HAFIF_MARCH_NATIVE=1 build)')
    .option('--rounds <n>', 'isa: alternating rounds per configuration (best kept)', positiveInt, 2)
    .option('--windows <n>', 'e2e and torch: timed windows, hafif and PyTorch alternating (median and min–max reported; --quick: 1)',
      positiveInt, 3)
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .parse(argv);
  return program.opts<BenchOptions>();
}

/** A problem to report in one line, without a stack trace. */
class UserError extends Error {}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv);
  const say = (s: string) => (opts.json ? process.stderr : process.stdout).write(s + '\n');
  const machine = machineInfo();
  const results: Record<string, unknown> = {machine, options: opts};
  say(machineLine(machine));
  say(`native kernels: ${machine.nativeKernels.join(', ') || 'none'}`);

  const t0 = now();
  if (opts.profile) {
    if (!hasNative) throw new UserError(`--profile needs the native backend: ${machine.nativeError}`);
    const profiles: StepProfile[] = [];
    for (const m of opts.model ? [opts.model] : MODELS) {
      for (const trainer of TRAINERS) {
        const p = await profileStep(m, trainer, 'native');
        profiles.push(p);
        say(profileTable(p));
      }
    }
    results.profile = profiles;
  } else {
    const run = (s: Section) => (opts.only == null && s !== 'isa') || opts.only === s;
    if (run('isa')) {
      if (!hasNative) throw new UserError(`--only isa needs the native backend: ${machine.nativeError}`);
      const rows = benchIsa({steps: opts.quick ? Math.min(opts.steps, 5) : opts.steps, compareAddon: opts.compareAddon, rounds: opts.rounds});
      results.isa = rows;
      say(isaTable(rows));
    }
    if (!hasNative) say(`native backend unavailable (${machine.nativeError}): timing cpu only`);
    if (run('kernels')) {
      const rows = benchKernels({quick: opts.quick, cpuMinutes: opts.cpuTeacher});
      results.kernels = rows;
      say(kernelsTable(rows));
    }
    if (run('sgemm')) {
      if (hasNative) {
        const rows = benchSgemm({quick: opts.quick});
        results.sgemm = rows;
        say(sgemmTable(rows));
      } else {
        say('sgemm: skipped (native addon unavailable)');
      }
    }
    let e2e: E2eResult[] = [];
    let torch: TorchResult<TorchWindows> | null = null;
    if (run('e2e') || run('torch')) {
      const steps = opts.quick ? Math.min(opts.steps, 5) : opts.steps;
      const train: StepBudget = {steps, budgetMs: opts.quick ? 5000 : 15000};
      const infer: StepBudget = {steps: Math.max(3, Math.floor(steps / 4)), budgetMs: opts.quick ? 3000 : 8000};
      // Timed windows, hafif and PyTorch alternating (hafif first in even windows, PyTorch first in odd
      // ones, so a drift in the machine's load hits both alike); every figure is the median of its windows.
      const windows = opts.quick ? 1 : opts.windows;
      const models = opts.model ? [opts.model] : MODELS;
      const nativeWindows: E2eResult[][] = [];
      const torchWindows: TorchResult[] = [];
      const timeNative = async (w: number) => {
        if (!hasNative) return;
        progress(`window ${w + 1}/${windows}: hafif`);
        const rows: E2eResult[] = [];
        for (const m of models) {
          rows.push(await benchModel(m, 'native', 'hafif', train, null));
          rows.push(await benchModel(m, 'native', 'tfjs', train, infer));
        }
        nativeWindows.push(rows);
      };
      const timeTorch = () => {
        if (!run('torch')) return;
        progress(`window ${torchWindows.length + 1}/${windows}: PyTorch`);
        torchWindows.push(benchTorch({reference: opts.reference, steps, threads: 2, models}));
      };
      for (let w = 0; w < windows; w++) {
        if (w % 2 === 0) {
          await timeNative(w);
          timeTorch();
        } else {
          timeTorch();
          await timeNative(w);
        }
      }
      e2e = combineE2e(nativeWindows);
      torch = combineTorch(torchWindows);
      if (run('e2e') && !opts.nativeOnly) {
        const slow: StepBudget = {steps: Math.min(steps, opts.quick ? 2 : 5), budgetMs: opts.quick ? 5000 : 15000};
        if (!opts.model) e2e.push(await benchModel('keras-student', 'cpu', 'tfjs', train, infer));
        if (opts.cpuTeacher) e2e.push(await benchModel('keras-teacher', 'cpu', 'tfjs', {steps: slow.steps, budgetMs: 120_000}, slow));
      }
      if (hasNative) setBackend('native');
      if (e2e.length) {
        results.e2e = e2e;
        say(e2eTable(e2e));
      }
      if (torch) {
        const ratios = torchRatios(e2e, torch);
        results.torch = {...torch, ratios};
        say(torchTable(torch, ratios));
      }
    }
  }
  results.elapsedSeconds = (now() - t0) / 1000;

  mkdirSync(path.dirname(path.resolve(opts.out)), {recursive: true});
  writeFileSync(opts.out, JSON.stringify(results, null, 2) + '\n');
  if (opts.json) process.stdout.write(JSON.stringify(results) + '\n');
  else say(`results written to ${opts.out} (${(results.elapsedSeconds as number).toFixed(0)} s)`);
}

main().catch((e: Error) => {
  process.stderr.write(`bench: ${e instanceof UserError ? e.message : e.stack ?? e.message}\n`);
  process.exit(1);
});
