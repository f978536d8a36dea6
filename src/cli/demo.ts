// `hafif demo`: the seed article's experiment on one dataset.
import {Command, Option} from 'commander';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';

import {
  COMPRESS_DEFAULTS,
  KERAS_SETTINGS,
  QUICK_SETTINGS,
  RECOMMENDED_SETTINGS,
  parseAugment,
  parseSchedule,
  defaultModels,
  type ExperimentReport,
  type ExperimentSettings,
} from '../experiment/index.js';
import {addDataFlags, alphaOption, distillationLossOption, prepare, temperatureOption, type DataFlags} from './common.js';
import {oneOf, parseNumber, parsePositive, parsePositiveInt} from './options.js';
import {UsageError} from '../util/registry.js';
import {execute} from './execute.js';
import {Reporter} from './progress.js';

export {RECOMMENDED_SETTINGS};
/** Kept here too: the one-phase commands import it from the demo. */
export {Interrupted} from './execute.js';

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
  readonly recipe?: 'recommended' | 'quick' | 'keras';
  readonly teachers?: number;
  readonly teacherAugment?: string;
  readonly teacherSchedule?: string;
  readonly studentSchedule?: string;
  readonly cacheTeacherLogits: boolean;
  readonly report: boolean;
  readonly out: string;
  readonly resume?: string;
  readonly checkpointEvery?: number;
  readonly compress?: boolean;
  readonly sparsity?: number;
  readonly pruneEpochs?: number;
  readonly dtype?: 'uint8' | 'uint16' | 'float16';
}

/** The shape of `results.json`. */
export type DemoResults = ExperimentReport;

export function demoCommand(): Command {
  const cmd = new Command('demo')
    .description("run the seed article's experiment: train a teacher, distill it into a student, train the same student from scratch, compare")
    .option('--teacher <model>', 'teacher model from the registry (default: deep-teacher, keras-teacher with --keras-settings; cifar-teacher for cifar10)')
    .option('--student <model>', 'student model from the registry (default: keras-student; cifar-student for cifar10)')
    .addOption(new Option('--recipe <name>', 'recommended: 2 teachers (12 epochs, shifts, one-cycle) distilled into a student over 10 epochs ' +
      '(kl T 4, alpha 0, one-cycle to 20x the rate); quick: 1 teacher 5 epochs, students 3, constant rate, mse, alpha 0.9 (the former default, ' +
      "about 30 s); keras: the Keras example's (explicit flags still win)").choices(['recommended', 'quick', 'keras']).default('recommended'))
    .option('--epochs-teacher <n>', `teacher epochs (default ${RECOMMENDED_SETTINGS.epochsTeacher})`, parsePositiveInt)
    .option('--teachers <k>', `teachers trained and averaged into an ensemble (default ${RECOMMENDED_SETTINGS.teachers})`, parsePositiveInt)
    .option('--teacher-augment <spec>', `teacher augmentation: none, shiftN, flip, mixupA, cutmixA joined by + (default ${RECOMMENDED_SETTINGS.teacherAugment})`)
    .option('--teacher-schedule <spec>', `teacher learning-rate schedule: constant, one-cycle[:PEAK[:WARMUP]], cosine[:PEAK[:WARMUP]] (default ${RECOMMENDED_SETTINGS.teacherSchedule})`)
    .option('--epochs-student <n>', `distilled and scratch student epochs (default ${RECOMMENDED_SETTINGS.epochsStudent})`, parsePositiveInt)
    .option('--student-schedule <spec>', `distilled and scratch student learning-rate schedule (default ${RECOMMENDED_SETTINGS.studentSchedule})`)
    .addOption(alphaOption()).addOption(temperatureOption()).addOption(distillationLossOption())
    .option('--learning-rate <lr>', `Adam learning rate (default ${RECOMMENDED_SETTINGS.learningRate})`, parsePositive)
    .option('--keras-settings', "the same as --recipe keras: the Keras example's teacher trained 5 epochs, students 3, batch 32, Adam 1e-3, alpha 0.1, T 10, kl")
    .option('--no-cache-teacher-logits', "run the teacher on every batch instead of once per example (same result, slower)")
    .option('--out <dir>', 'the run directory: results.json, report.html, the three models, run.json and checkpoints', './hafif-out')
    .option('--no-report', 'do not write report.html and charts/*.png')
    .option('--resume <dir>', 'continue the run in DIR (same settings) from its last checkpoint')
    .option('--checkpoint-every <n>', 'also checkpoint every N steps (checkpoints are kept at every epoch end and on Ctrl-C)', parsePositiveInt);
  addCompressFlags(cmd, '--compress');
  addDataFlags(cmd);
  return cmd.action(async (flags: DemoFlags) => {
    await demo(flags);
  });
}

function settingsFrom(flags: DemoFlags): ExperimentSettings {
  if (flags.kerasSettings && flags.recipe != null && flags.recipe !== 'keras' && flags.recipe !== 'recommended') {
    throw new UsageError(`--keras-settings is --recipe keras; it cannot go with --recipe ${flags.recipe}`);
  }
  const recipe = flags.kerasSettings ? 'keras' : flags.recipe ?? 'recommended';
  const base = recipe === 'keras' ? KERAS_SETTINGS : recipe === 'quick' ? QUICK_SETTINGS : RECOMMENDED_SETTINGS;
  const models = defaultModels(flags.dataset, recipe === 'keras' ? 'keras' : 'recommended');
  // Checked here so that a bad spec is a usage error before any data is read.
  const teacherAugment = flags.teacherAugment ?? base.teacherAugment;
  const teacherSchedule = flags.teacherSchedule ?? base.teacherSchedule;
  const studentSchedule = flags.studentSchedule ?? base.studentSchedule;
  parseAugment(teacherAugment);
  parseSchedule(teacherSchedule);
  parseSchedule(studentSchedule);
  return {
    teachers: flags.teachers ?? base.teachers,
    teacherAugment,
    teacherSchedule,
    studentSchedule,
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
    ...compressSettings(flags, flags.compress === true),
  };
}

/** The flags of the compression phases (prune the distilled student, then quantize its weights). */
export function addCompressFlags(cmd: Command, enable?: string): Command {
  if (enable) cmd.option(enable, `then prune the distilled student (distilling again) and quantize its weights: phases pruned and quantized`);
  return cmd
    .option('--sparsity <s>', `pruned phase: fraction of kernel weights set to 0, in [0, 1) (default ${COMPRESS_DEFAULTS.pruneSparsity})`, parseNumber)
    .option('--prune-epochs <n>', `pruned phase: fine-tuning epochs (default ${COMPRESS_DEFAULTS.pruneEpochs})`, parsePositiveInt)
    .addOption(new Option('--dtype <dtype>', `quantized phase: weight storage (default ${COMPRESS_DEFAULTS.quantizeDtype})`).argParser(oneOf(['uint8', 'uint16', 'float16'] as const)));
}

/** The compression settings from the flags, or none when compression is off. */
export function compressSettings(
  flags: {readonly sparsity?: number; readonly pruneEpochs?: number; readonly dtype?: 'uint8' | 'uint16' | 'float16'},
  on: boolean,
): Pick<ExperimentSettings, 'pruneSparsity' | 'pruneEpochs' | 'quantizeDtype'> {
  if (!on) {
    const given = (['sparsity', 'pruneEpochs', 'dtype'] as const).filter((k) => flags[k] != null);
    if (given.length > 0) throw new UsageError(`--${given[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --compress`);
    return {};
  }
  const pruneSparsity = flags.sparsity ?? COMPRESS_DEFAULTS.pruneSparsity;
  if (!(pruneSparsity >= 0 && pruneSparsity < 1)) throw new UsageError(`sparsity must be in [0, 1), got ${pruneSparsity}`);
  return {
    pruneSparsity,
    pruneEpochs: flags.pruneEpochs ?? COMPRESS_DEFAULTS.pruneEpochs,
    quantizeDtype: flags.dtype ?? COMPRESS_DEFAULTS.quantizeDtype,
  };
}

async function demo(flags: DemoFlags): Promise<void> {
  const settings = settingsFrom(flags);
  const reporter = new Reporter({json: flags.json, quiet: flags.quiet});
  const {backend, data} = await prepare(flags, (msg) => reporter.info(msg));
  const out = path.resolve(flags.resume ?? flags.out);
  await execute({
    backend, data, settings, out, reporter,
    json: flags.json,
    report: flags.report,
    cacheTeacherLogits: flags.cacheTeacherLogits,
    resume: flags.resume != null,
    checkpointEvery: flags.checkpointEvery,
    resumeCommand: `hafif demo --resume ${out}${flags.json ? ' --json' : ''}`,
  });
}

export async function saveModel(model: tfl.LayersModel, dir: string): Promise<void> {
  await model.save(`file://${dir}`);
}

