// `hafif train`, `hafif distill` and `hafif evaluate`: the demo's steps one at a time.
import {Command} from 'commander';
import path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';

import {modelFiles} from '../io/index.js';
import type {Dataset} from '../data/index.js';
import {
  RECOMMENDED_SETTINGS,
  defaultModels,
  parseAugment,
  parseSchedule,
  runExperiment,
  summarize,
  type ExperimentOptions,
  type ExperimentSettings,
  type RunResult,
} from '../experiment/index.js';
import {createModel} from '../models/index.js';
import {checkFeatureLoss, parseFeatureLoss} from '../distill/index.js';
import {UsageError} from '../util/registry.js';
import {OnnxModel, onnxTeacher} from '../export/index.js';
import {addDataFlags, alphaOption, distillationLossOption, prepare, temperatureOption, type DataFlags} from './common.js';
import {Interrupted} from './demo.js';
import {evaluateOnnxCommand, isOnnxPath} from './onnx.js';
import {collect, parsePositive, parsePositiveInt} from './options.js';
import {phaseProgress} from './progress.js';
import {interruptible} from './signals.js';

interface TrainFlags extends DataFlags {
  readonly model?: string;
  readonly epochs?: number;
  readonly learningRate?: number;
  readonly out?: string;
  readonly augment?: string;
  readonly schedule?: string;
}

interface DistillFlags extends TrainFlags {
  readonly teacher: string;
  readonly student?: string;
  readonly alpha?: number;
  readonly temperature?: number;
  readonly distillationLoss?: 'kl' | 'mse';
  readonly cacheTeacherLogits: boolean;
  readonly threads?: number;
  readonly hintLayer?: string[];
  readonly attentionLayer?: string[];
}

function printRun(run: RunResult, json: boolean | undefined, savedTo?: string): void {
  if (json) {
    process.stdout.write(JSON.stringify(savedTo ? {...run, savedTo} : run) + '\n');
    return;
  }
  process.stdout.write(
    `${run.name} (${run.model}): test accuracy ${(run.testAccuracy * 100).toFixed(2)}%, test loss ${run.testLoss.toFixed(4)}, ` +
      `${run.params} params, ${Math.round(run.inferenceImagesPerSecond)} img/s inference` +
      (savedTo ? `; saved to ${savedTo}` : '') + '\n',
  );
}

/** Loads a tfjs LayersModel from DIR or DIR/model.json (the file:// router resolves both and names a missing one). */
export async function loadModel(where: string): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(`file://${path.resolve(where)}`);
}

/** Refuses a model whose input shape is not the dataset's image shape. */
export function checkInputShape(model: tfl.LayersModel, shape: readonly number[], what: string): void {
  const got = model.inputs[0].shape.slice(1);
  if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
    throw new UsageError(`${what} expects inputs of shape [${got}], but the dataset's images are [${shape}]`);
  }
}

/** --resume and --checkpoint-every, as on `hafif demo`. */
function addRunFlags(cmd: Command): Command {
  return cmd
    .option('--resume', 'continue the run in --out from its last checkpoint (same flags)')
    .option('--checkpoint-every <n>', 'also checkpoint every N steps (checkpoints are kept at every epoch end and on Ctrl-C)', parsePositiveInt);
}

interface RunFlags {
  readonly resume?: boolean;
  readonly checkpointEvery?: number;
}

/** Runs some phases of the experiment library with the model saved in `out` itself. */
async function runPhases(
  flags: DataFlags & RunFlags,
  data: Dataset,
  settings: ExperimentSettings,
  out: string,
  command: string,
  extra: Pick<ExperimentOptions, 'phases' | 'teacher' | 'cacheTeacherLogits'>,
): Promise<RunResult> {
  const {runs} = await interruptible(async (signal) => {
    try {
      return await runExperiment(data, settings, {
        ...extra,
        progress: (phase, epochs, steps) => phaseProgress(phase, epochs, steps, flags.json === true || flags.quiet === true),
        runDir: out,
        modelDir: () => out,
        resume: flags.resume === true,
        checkpointEvery: flags.checkpointEvery,
        signal,
        onWarning: (m) => process.stderr.write(`hafif: warning: ${m}\n`),
      });
    } catch (e) {
      if (signal.aborted) {
        throw new Interrupted(`checkpoint saved in ${path.join(out, 'checkpoints')}; continue with the same command and --resume (hafif ${command} ... --resume)`);
      }
      throw e;
    }
  });
  return runs[runs.length - 1];
}

/** The experiment settings of a one-phase command, from the recommended ones and the flags. */
function phaseSettings(flags: TrainFlags & Partial<DistillFlags>, teacher: string, student: string): ExperimentSettings {
  return {
    ...RECOMMENDED_SETTINGS,
    // One model: `train` trains one teacher, `distill` distills the one it is given.
    teachers: 1,
    teacher,
    student,
    epochsTeacher: flags.epochs ?? RECOMMENDED_SETTINGS.epochsTeacher,
    epochsStudent: flags.epochs ?? RECOMMENDED_SETTINGS.epochsStudent,
    batchSize: flags.batchSize,
    learningRate: flags.learningRate ?? RECOMMENDED_SETTINGS.learningRate,
    alpha: flags.alpha ?? RECOMMENDED_SETTINGS.alpha,
    temperature: flags.temperature ?? RECOMMENDED_SETTINGS.temperature,
    distillationLoss: flags.distillationLoss ?? RECOMMENDED_SETTINGS.distillationLoss,
    seed: flags.seed,
  };
}

export function trainCommand(): Command {
  const cmd = new Command('train')
    .description('train one model from the registry on a dataset (a teacher, or a student from scratch)')
    .requiredOption('--model <name>', 'model from the registry, e.g. keras-teacher')
    .option('--epochs <n>', `epochs (default ${RECOMMENDED_SETTINGS.epochsTeacher})`, parsePositiveInt)
    .option('--learning-rate <lr>', 'Adam learning rate (default 0.001)', parsePositive)
    .option('--augment <spec>', `batch augmentation: none, shiftN, flip, mixupA, cutmixA joined by + (default ${RECOMMENDED_SETTINGS.teacherAugment}, the recommended teachers')`)
    .option('--schedule <spec>', `learning-rate schedule: constant, one-cycle[:PEAK[:WARMUP]], cosine[:PEAK[:WARMUP]] (default ${RECOMMENDED_SETTINGS.teacherSchedule})`)
    .option('--out <dir>', 'directory for model.json and weights.bin, run.json and checkpoints (default ./hafif-out/MODEL)');
  addRunFlags(cmd);
  addDataFlags(cmd);
  return cmd.action(async (flags: TrainFlags & RunFlags) => {
    const name = flags.model as string;
    // Unknown names and malformed specs fail before the data loads.
    createModel(name, {inputShape: [1, 1, 1], numClasses: 1}).dispose();
    const teacherAugment = flags.augment ?? RECOMMENDED_SETTINGS.teacherAugment;
    const teacherSchedule = flags.schedule ?? RECOMMENDED_SETTINGS.teacherSchedule;
    parseAugment(teacherAugment);
    parseSchedule(teacherSchedule);
    const {data} = await prepare(flags);
    const out = path.resolve(flags.out ?? path.join('hafif-out', name));
    // The one model trains as the pipeline's teacher phase does.
    const settings: ExperimentSettings = {
      ...phaseSettings(flags, name, defaultModels(flags.dataset).student),
      teacherAugment,
      teacherSchedule,
    };
    const run = await runPhases(flags, data, settings, out, 'train', {phases: ['teacher']});
    printRun({...run, name: 'model'}, flags.json, out);
  });
}

export function distillCommand(): Command {
  const cmd = new Command('distill')
    .description('distill a trained teacher (a saved tfjs model) into a student from the registry')
    .requiredOption('--teacher <dir>', 'directory of the teacher (model.json + weights), or FILE.onnx run in onnxruntime-node')
    .option('--threads <n>', 'onnxruntime intra-op threads, for an .onnx teacher (default 1)', parsePositiveInt)
    .option('--student <name>', 'student model from the registry (default: keras-student; cifar-student for cifar10)')
    .option('--epochs <n>', `student epochs (default ${RECOMMENDED_SETTINGS.epochsStudent})`, parsePositiveInt)
    .addOption(alphaOption()).addOption(temperatureOption()).addOption(distillationLossOption())
    .option('--learning-rate <lr>', 'Adam learning rate (default 0.001)', parsePositive)
    .option('--no-cache-teacher-logits', "run the teacher on every batch instead of once per example (same result, slower)")
    .option('--hint-layer <student:teacher>', 'add a FitNets hint loss between two named layers, e.g. conv2:relu4 (repeatable; `hafif info --model NAME` lists layer names)', collect, [])
    .option('--attention-layer <student:teacher>', 'add an attention-transfer loss between two named layers (repeatable)', collect, [])
    .option('--out <dir>', 'directory for the distilled student, run.json and checkpoints (default ./hafif-out/distilled)');
  addRunFlags(cmd);
  addDataFlags(cmd);
  return cmd.action(async (flags: DistillFlags & RunFlags) => {
    const studentName = flags.student ?? defaultModels(flags.dataset).student;
    createModel(studentName, {inputShape: [1, 1, 1], numClasses: 1}).dispose();
    const {data} = await prepare(flags);
    // An .onnx teacher (e.g. trained in PyTorch or Keras) runs in onnxruntime-node, once per example.
    const onnx = isOnnxPath(flags.teacher) ? await OnnxModel.load(flags.teacher, {threads: flags.threads ?? 1}) : null;
    const teacher = onnx ? onnxTeacher(onnx) : await loadModel(flags.teacher);
    try {
      if (onnx) onnx.checkFits(data.inputShape, data.numClasses, `teacher ${flags.teacher}`);
      else checkInputShape(teacher as tfl.LayersModel, data.inputShape, `teacher ${flags.teacher}`);
      const featureLosses = [
        ...(flags.hintLayer ?? []).map((t) => parseFeatureLoss('hint', t)),
        ...(flags.attentionLayer ?? []).map((t) => parseFeatureLoss('attention', t)),
      ];
      if (featureLosses.length > 0) {
        if (onnx) throw new UsageError(`--hint-layer and --attention-layer read the teacher's layers: ${flags.teacher} is an ONNX model; give a tfjs teacher directory`);
        // The hint regressor is trained with the student but is not part of its checkpoint.
        if (flags.resume) throw new UsageError('--resume cannot continue a run with --hint-layer or --attention-layer (the hint regressor is not checkpointed); rerun without --resume');
        const probe = createModel(studentName, {inputShape: data.inputShape, numClasses: data.numClasses});
        try {
          for (const f of featureLosses) checkFeatureLoss(teacher as tfl.LayersModel, probe, f);
        } finally {
          probe.dispose();
        }
      }
      const out = path.resolve(flags.out ?? path.join('hafif-out', 'distilled'));
      const settings = {...phaseSettings(flags, path.resolve(flags.teacher), studentName), ...(featureLosses.length ? {featureLosses} : {})};
      const run = await runPhases(flags, data, settings, out, 'distill', {phases: ['distilled'], teacher, cacheTeacherLogits: flags.cacheTeacherLogits});
      printRun(run, flags.json, out);
    } finally {
      if (onnx) await onnx.dispose();
      else (teacher as tfl.LayersModel).dispose();
    }
  });
}

export function evaluateCommand(): Command {
  const cmd = new Command('evaluate')
    .description("a saved model's test accuracy, loss, size and inference speed (a tfjs model, or an .onnx file in onnxruntime-node)")
    .requiredOption('--model <dir>', 'directory of the model (model.json + weights), or FILE.onnx')
    .option('--threads <n>', 'onnxruntime intra-op threads, for an .onnx model (default 1)', parsePositiveInt);
  addDataFlags(cmd);
  return cmd.action(async (flags: DataFlags & {model: string; threads?: number}) => {
    if (isOnnxPath(flags.model)) return evaluateOnnxCommand(flags);
    const {data} = await prepare(flags);
    const model = await loadModel(flags.model);
    try {
      checkInputShape(model, data.inputShape, `model ${flags.model}`);
      // Sizes from the files: quantized weights count as stored, and bytes include model.json.
      const files = await modelFiles(flags.model);
      const run = summarize('evaluated', path.resolve(flags.model), model, data, 0, [], undefined, {weightSpecs: files.weightSpecs});
      printRun({...run, bytes: files.bytes, gzipBytes: files.gzipBytes}, flags.json);
    } finally {
      model.dispose();
    }
  });
}
