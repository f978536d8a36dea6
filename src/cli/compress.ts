// `hafif compress`: a trained teacher → distilled student → pruned (distilling again) →
// quantized weights, in one run of the experiment library, with the chain's table and report.
import {Command} from 'commander';
import path from 'node:path';

import {RECOMMENDED_SETTINGS, defaultModels, type ExperimentSettings} from '../experiment/index.js';
import {createModel} from '../models/index.js';
import {addDataFlags, alphaOption, distillationLossOption, prepare, temperatureOption, type DataFlags} from './common.js';
import {addCompressFlags, compressSettings} from './demo.js';
import {execute} from './execute.js';
import {parsePositive, parsePositiveInt} from './options.js';
import {Reporter} from './progress.js';
import {checkInputShape, loadModel} from './train.js';

interface CompressFlags extends DataFlags {
  readonly teacher: string;
  readonly student?: string;
  readonly epochs?: number;
  readonly alpha?: number;
  readonly temperature?: number;
  readonly distillationLoss?: 'kl' | 'mse';
  readonly learningRate?: number;
  readonly sparsity?: number;
  readonly pruneEpochs?: number;
  readonly dtype?: 'uint8' | 'uint16' | 'float16';
  readonly cacheTeacherLogits: boolean;
  readonly report: boolean;
  readonly out: string;
  readonly resume?: boolean;
  readonly checkpointEvery?: number;
}

export function compressCommand(): Command {
  const cmd = new Command('compress')
    .description('compress with all three methods: distill a trained teacher into a student, prune it, quantize its weights; one table and report')
    .requiredOption('--teacher <dir>', 'directory of the trained teacher (model.json + weights)')
    .option('--student <name>', 'student model from the registry (default: keras-student; cifar-student for cifar10)')
    .option('--epochs <n>', `distillation epochs (default ${RECOMMENDED_SETTINGS.epochsStudent})`, parsePositiveInt)
    .addOption(alphaOption()).addOption(temperatureOption()).addOption(distillationLossOption())
    .option('--learning-rate <lr>', 'Adam learning rate (default 0.001)', parsePositive)
    .option('--no-cache-teacher-logits', 'run the teacher on every batch instead of once per example (same result, slower)')
    .option('--out <dir>', 'the run directory: results.json, report.html, distilled/, pruned/, quantized/, checkpoints', './hafif-out/compress')
    .option('--no-report', 'do not write report.html and charts/*.png')
    .option('--resume', 'continue the run in --out from its last checkpoint (same flags)')
    .option('--checkpoint-every <n>', 'also checkpoint every N steps', parsePositiveInt);
  addCompressFlags(cmd);
  addDataFlags(cmd);
  return cmd.action(async (flags: CompressFlags) => {
    const studentName = flags.student ?? defaultModels(flags.dataset).student;
    createModel(studentName, {inputShape: [1, 1, 1], numClasses: 1}).dispose(); // unknown names fail before data loads
    const settings: ExperimentSettings = {
      ...RECOMMENDED_SETTINGS,
      teachers: 1, // the trained teacher it is given
      teacher: path.resolve(flags.teacher),
      student: studentName,
      epochsStudent: flags.epochs ?? RECOMMENDED_SETTINGS.epochsStudent,
      batchSize: flags.batchSize,
      learningRate: flags.learningRate ?? RECOMMENDED_SETTINGS.learningRate,
      alpha: flags.alpha ?? RECOMMENDED_SETTINGS.alpha,
      temperature: flags.temperature ?? RECOMMENDED_SETTINGS.temperature,
      distillationLoss: flags.distillationLoss ?? RECOMMENDED_SETTINGS.distillationLoss,
      seed: flags.seed,
      ...compressSettings(flags, true),
    };
    const teacher = await loadModel(flags.teacher);
    try {
      const reporter = new Reporter({json: flags.json, quiet: flags.quiet});
      const {backend, data} = await prepare(flags, (msg) => reporter.info(msg));
      checkInputShape(teacher, data.inputShape, `teacher ${flags.teacher}`);
      const out = path.resolve(flags.out);
      await execute({
        backend, data, settings, out, reporter,
        json: flags.json,
        report: flags.report,
        cacheTeacherLogits: flags.cacheTeacherLogits,
        resume: flags.resume === true,
        checkpointEvery: flags.checkpointEvery,
        resumeCommand: 'the same command with --resume',
        phases: ['teacher', 'distilled', 'pruned', 'quantized'],
        teacher,
      });
    } finally {
      teacher.dispose();
    }
  });
}
