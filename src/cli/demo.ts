// `hafif demo`: the seed article's whole experiment on one dataset.
import {Command, Option} from 'commander';
import Table from 'cli-table3';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';

import {formatBytes, formatCount} from '../models/index.js';
import {writeReport} from '../report/index.js';
import {writeFileAtomic} from '../util/atomic.js';
import {addDataFlags, defaultModels, prepare, type DataFlags, type RunResult} from './common.js';
import {KERAS_SETTINGS, runExperiment, type ExperimentSettings} from './experiment.js';
import {oneOf, parsePositive, parsePositiveInt, parseUnit} from './options.js';
import {environment} from './environment.js';
import {ansi, colourEnabled, Reporter} from './progress.js';

/**
 * hafif's recommended settings, from the search in the README: the deeper conv-BN teacher (see
 * `defaultModels`), alpha 0.9 (mostly hard labels) and the squared difference of logits as the
 * distillation loss. On the embedded digits this beat the same student trained from scratch by
 * 1.2 points at 3 epochs, over 3 seeds; the Keras recipe lost by 2.3.
 */
export const RECOMMENDED_SETTINGS = {
  ...KERAS_SETTINGS,
  alpha: 0.9,
  distillationLoss: 'mse',
} as const;

interface DemoFlags extends DataFlags {
  readonly teacher?: string;
  readonly student?: string;
  readonly epochsTeacher?: number;
  readonly epochsStudent?: number;
  readonly alpha?: number;
  readonly temperature?: number;
  readonly distillationLoss?: 'kl' | 'mse';
  readonly learningRate?: number;
  readonly kerasSettings?: boolean;
  readonly cacheTeacherLogits: boolean;
  readonly report: boolean;
  readonly out: string;
}

/** The shape of `results.json`. */
export interface DemoResults {
  readonly dataset: string;
  readonly trainSize: number;
  readonly testSize: number;
  readonly backend: string;
  readonly settings: ExperimentSettings;
  readonly runs: RunResult[];
  /** Backend, versions, machine, threads, command line. */
  readonly environment?: Record<string, string | number>;
}

export function demoCommand(): Command {
  const cmd = new Command('demo')
    .description("run the seed article's experiment: train a teacher, distill it into a student, train the same student from scratch, compare")
    .option('--teacher <model>', 'teacher model from the registry (default: deep-teacher, keras-teacher with --keras-settings; cifar-teacher for cifar10)')
    .option('--student <model>', 'student model from the registry (default: keras-student; cifar-student for cifar10)')
    .option('--epochs-teacher <n>', `teacher epochs (default ${RECOMMENDED_SETTINGS.epochsTeacher})`, parsePositiveInt)
    .option('--epochs-student <n>', `distilled and scratch student epochs (default ${RECOMMENDED_SETTINGS.epochsStudent})`, parsePositiveInt)
    .option('--alpha <a>', `weight of the hard-label loss, in [0, 1] (default ${RECOMMENDED_SETTINGS.alpha})`, parseUnit)
    .option('--temperature <t>', `softmax temperature of kl, > 0 (default ${RECOMMENDED_SETTINGS.temperature})`, parsePositive)
    .addOption(new Option('--distillation-loss <name>', `kl or mse (default ${RECOMMENDED_SETTINGS.distillationLoss})`).argParser(oneOf(['kl', 'mse'] as const)))
    .option('--learning-rate <lr>', `Adam learning rate (default ${RECOMMENDED_SETTINGS.learningRate})`, parsePositive)
    .option('--keras-settings', "the Keras example's recipe: its teacher trained 5 epochs, students 3, batch 32, Adam 1e-3, alpha 0.1, T 10, kl (explicit flags still win)")
    .option('--no-cache-teacher-logits', "run the teacher on every batch instead of once per example (same result, slower)")
    .option('--no-report', 'do not write report.html and charts/*.png')
    .option('--out <dir>', 'where results.json, report.html and the three models go', './hafif-out');
  addDataFlags(cmd);
  return cmd.action(async (flags: DemoFlags) => {
    await demo(flags);
  });
}

function settingsFrom(flags: DemoFlags): ExperimentSettings {
  const base = flags.kerasSettings ? KERAS_SETTINGS : RECOMMENDED_SETTINGS;
  const models = defaultModels(flags.dataset, flags.kerasSettings ? 'keras' : 'recommended');
  return {
    teacher: flags.teacher ?? models.teacher,
    student: flags.student ?? models.student,
    epochsTeacher: flags.epochsTeacher ?? base.epochsTeacher,
    epochsStudent: flags.epochsStudent ?? base.epochsStudent,
    batchSize: flags.batchSize ?? base.batchSize,
    learningRate: flags.learningRate ?? base.learningRate,
    alpha: flags.alpha ?? base.alpha,
    temperature: flags.temperature ?? base.temperature,
    distillationLoss: flags.distillationLoss ?? base.distillationLoss,
    seed: flags.seed,
  };
}

async function demo(flags: DemoFlags): Promise<void> {
  const settings = settingsFrom(flags);
  const reporter = new Reporter({json: flags.json, quiet: flags.quiet});
  const {backend, data} = await prepare(flags, (msg) => reporter.info(msg));
  const out = path.resolve(flags.out);
  const {runs} = await runExperiment(data, settings, {
    progress: (phase, epochs, steps) => reporter.phase(phase, epochs, steps),
    trained: (name, model) => saveModel(model, path.join(out, name)),
    cacheTeacherLogits: flags.cacheTeacherLogits,
  });
  const results: DemoResults = {
    dataset: data.name,
    trainSize: data.train.count,
    testSize: data.test.count,
    backend,
    settings,
    runs,
    environment: environment(backend),
  };
  await writeFileAtomic(path.join(out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  const report = flags.report ? await writeReport(out) : null;
  if (flags.json) {
    reporter.event({event: 'results', results, ...(report ? {report: report.html} : {})});
  } else {
    process.stdout.write(comparisonTable(results, {colour: colourEnabled(process.stdout)}) + '\n');
    process.stdout.write(`results: ${path.join(out, 'results.json')}; models: ${runs.map((r) => path.join(out, r.name)).join(', ')}\n`);
    if (report) process.stdout.write(`report: ${report.html}\n`);
  }
}

export async function saveModel(model: tfl.LayersModel, dir: string): Promise<void> {
  await model.save(`file://${dir}`);
}

/**
 * The comparison table: params, bytes, test accuracy and loss, train time, inference speed.
 * Plain text unless `colour` (a terminal without NO_COLOR).
 */
export function comparisonTable(r: DemoResults, options: {readonly colour?: boolean} = {}): string {
  const colour = options.colour === true;
  const t = new Table({
    head: ['model', 'params', 'bytes', 'test accuracy', 'test loss', 'train time', 'inference img/s'].map((h) => (colour ? ansi.bold(h) : h)),
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
    // cli-table3 colours heads and borders itself unless told not to.
    style: {head: [], border: []},
  });
  for (const run of r.runs) {
    t.push([
      `${run.name} (${run.model})`,
      formatCount(run.params),
      formatBytes(run.bytes),
      `${(run.testAccuracy * 100).toFixed(2)}%`,
      run.testLoss.toFixed(4),
      `${run.trainSeconds.toFixed(1)} s`,
      formatCount(Math.round(run.inferenceImagesPerSecond)),
    ]);
  }
  const s = r.settings;
  const head = `${r.dataset}: ${r.trainSize} train / ${r.testSize} test, backend ${r.backend}; ` +
    `alpha ${s.alpha}, ${s.distillationLoss === 'kl' ? `kl, T ${s.temperature}` : 'mse'}, teacher ${s.epochsTeacher} epochs, ` +
    `students ${s.epochsStudent}, batch ${s.batchSize}`;
  return `${head}\n${t.toString()}`;
}
