// `hafif train`, `hafif distill` and `hafif evaluate`: the demo's steps one at a time.
import {Command, InvalidArgumentError, Option} from 'commander';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {toTensors} from '../data/index.js';
import {DISTILLER_LOSSES, Distiller, type DistillerLossName, type FeatureLossSpec} from '../distill/index.js';
import {createModel} from '../models/index.js';
import {fit, kerasAdam} from '../train/index.js';
import {UsageError} from '../util/registry.js';
import {RECOMMENDED_SETTINGS, defaultModels, summarize, type RunResult} from '../experiment/index.js';
import {addDataFlags, prepare, type DataFlags} from './common.js';
import {saveModel} from './demo.js';
import {oneOf, parseNumber, parsePositive, parsePositiveInt, parseUnit} from './options.js';
import {phaseProgress} from './progress.js';

interface TrainFlags extends DataFlags {
  readonly model?: string;
  readonly epochs?: number;
  readonly learningRate?: number;
  readonly out?: string;
}

interface DistillFlags extends TrainFlags {
  readonly teacher: string;
  readonly student?: string;
  readonly alpha?: number;
  readonly temperature?: number;
  readonly distillationLoss?: DistillerLossName;
  readonly cacheTeacherLogits: boolean;
  readonly hintLayer: string[];
  readonly attentionLayer: string[];
  readonly featureWeight?: number;
  readonly dkdAlpha?: number;
  readonly dkdBeta?: number;
}

/** `STUDENT:TEACHER` layer pairs, repeatable. */
function layerPair(value: string, previous: string[] = []): string[] {
  if (!/^[^:]+:[^:]+$/.test(value)) throw new InvalidArgumentError(`expected STUDENT_LAYER:TEACHER_LAYER, got "${value}"`);
  return [...previous, value];
}

function featureSpecs(flags: DistillFlags): FeatureLossSpec[] {
  const spec = (kind: 'hint' | 'attention') => (pair: string): FeatureLossSpec => {
    const [studentLayer, teacherLayer] = pair.split(':');
    return {kind, studentLayer, teacherLayer, ...(flags.featureWeight !== undefined ? {weight: flags.featureWeight} : {})};
  };
  return [...flags.hintLayer.map(spec('hint')), ...flags.attentionLayer.map(spec('attention'))];
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

function checkInputShape(model: tfl.LayersModel, shape: readonly number[], what: string): void {
  const got = model.inputs[0].shape.slice(1);
  if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
    throw new UsageError(`${what} expects inputs of shape [${got}], but the dataset's images are [${shape}]`);
  }
}

export function trainCommand(): Command {
  const cmd = new Command('train')
    .description('train one model from the registry on a dataset (a teacher, or a student from scratch)')
    .requiredOption('--model <name>', 'model from the registry, e.g. keras-teacher')
    .option('--epochs <n>', `epochs (default ${RECOMMENDED_SETTINGS.epochsTeacher})`, parsePositiveInt)
    .option('--learning-rate <lr>', 'Adam learning rate (default 0.001)', parsePositive)
    .option('--out <dir>', 'directory for model.json and weights.bin (default ./hafif-out/MODEL)');
  addDataFlags(cmd);
  return cmd.action(async (flags: TrainFlags) => {
    const name = flags.model as string;
    createModel(name, {inputShape: [1, 1, 1], numClasses: 1}).dispose(); // unknown names fail before data loads
    const {data} = await prepare(flags);
    const model = createModel(name, {inputShape: data.inputShape, numClasses: data.numClasses, seed: flags.seed});
    const epochs = flags.epochs ?? RECOMMENDED_SETTINGS.epochsTeacher;
    const train = toTensors(data.train, data.inputShape);
    const val = data.validation ? toTensors(data.validation, data.inputShape) : null;
    const optimizer = kerasAdam(flags.learningRate ?? RECOMMENDED_SETTINGS.learningRate);
    const p = phaseProgress('train', epochs, Math.ceil(data.train.count / flags.batchSize), flags.json);
    try {
      const t0 = performance.now();
      const history = await fit(model, train.x, train.y, {
        epochs, batchSize: flags.batchSize, seed: flags.seed, optimizer, callbacks: p.callbacks, ...(val ? {validationData: [val.x, val.y] as const} : {}),
      });
      const run = summarize('model', name, model, data, (performance.now() - t0) / 1000, history);
      const out = path.resolve(flags.out ?? path.join('hafif-out', name));
      await saveModel(model, out);
      printRun(run, flags.json, out);
    } finally {
      p.stop();
      optimizer.dispose();
      model.dispose();
      tf.dispose([train.x, train.y, ...(val ? [val.x, val.y] : [])]);
    }
  });
}

export function distillCommand(): Command {
  const cmd = new Command('distill')
    .description('distill a trained teacher (a saved tfjs model) into a student from the registry')
    .requiredOption('--teacher <dir>', 'directory of the teacher (model.json + weights)')
    .option('--student <name>', 'student model from the registry (default: keras-student; cifar-student for cifar10)')
    .option('--epochs <n>', `student epochs (default ${RECOMMENDED_SETTINGS.epochsStudent})`, parsePositiveInt)
    .option('--alpha <a>', `weight of the hard-label loss, in [0, 1] (default ${RECOMMENDED_SETTINGS.alpha})`, parseUnit)
    .option('--temperature <t>', `softmax temperature of kl, > 0 (default ${RECOMMENDED_SETTINGS.temperature})`, parsePositive)
    .addOption(new Option('--distillation-loss <name>', `kl, mse, dkd or lskd (default ${RECOMMENDED_SETTINGS.distillationLoss})`).argParser(oneOf(DISTILLER_LOSSES)))
    .option('--dkd-alpha <a>', "DKD's target-class weight (default 1)", parseNumber)
    .option('--dkd-beta <b>', "DKD's non-target-class weight (default 8)", parseNumber)
    .option('--hint-layer <student:teacher>', 'FitNets hint between two named layers (learned 1×1 regressor); repeatable', layerPair, [])
    .option('--attention-layer <student:teacher>', 'attention transfer between two named layers; repeatable', layerPair, [])
    .option('--feature-weight <w>', 'weight of each hint / attention term (default 1 for hint, 500 for attention)', parseNumber)
    .option('--learning-rate <lr>', 'Adam learning rate (default 0.001)', parsePositive)
    .option('--no-cache-teacher-logits', "run the teacher on every batch instead of once per example (same result, slower)")
    .option('--out <dir>', 'directory for the distilled student (default ./hafif-out/distilled)');
  addDataFlags(cmd);
  return cmd.action(async (flags: DistillFlags) => {
    const studentName = flags.student ?? defaultModels(flags.dataset).student;
    createModel(studentName, {inputShape: [1, 1, 1], numClasses: 1}).dispose();
    const {data} = await prepare(flags);
    const teacher = await loadModel(flags.teacher);
    const student = createModel(studentName, {inputShape: data.inputShape, numClasses: data.numClasses, seed: flags.seed + 1});
    const train = toTensors(data.train, data.inputShape);
    const val = data.validation ? toTensors(data.validation, data.inputShape) : null;
    const optimizer = kerasAdam(flags.learningRate ?? RECOMMENDED_SETTINGS.learningRate);
    const epochs = flags.epochs ?? RECOMMENDED_SETTINGS.epochsStudent;
    const p = phaseProgress('distill', epochs, Math.ceil(data.train.count / flags.batchSize), flags.json);
    try {
      checkInputShape(teacher, data.inputShape, `teacher ${flags.teacher}`);
      const distiller = new Distiller({teacher, student});
      distiller.compile({
        optimizer,
        alpha: flags.alpha ?? RECOMMENDED_SETTINGS.alpha,
        temperature: flags.temperature ?? RECOMMENDED_SETTINGS.temperature,
        distillationLossFn: flags.distillationLoss ?? RECOMMENDED_SETTINGS.distillationLoss,
        dkd: {alpha: flags.dkdAlpha, beta: flags.dkdBeta},
        featureLosses: featureSpecs(flags),
      });
      const t0 = performance.now();
      const history = await distiller.fit(train.x, train.y, {
        cacheTeacherLogits: flags.cacheTeacherLogits,
        epochs, batchSize: flags.batchSize, seed: flags.seed, callbacks: p.callbacks, ...(val ? {validationData: [val.x, val.y] as const} : {}),
      });
      const run = summarize('distilled', studentName, student, data, (performance.now() - t0) / 1000, history);
      const out = path.resolve(flags.out ?? path.join('hafif-out', 'distilled'));
      await saveModel(student, out);
      printRun(run, flags.json, out);
    } finally {
      p.stop();
      optimizer.dispose();
      teacher.dispose();
      student.dispose();
      tf.dispose([train.x, train.y, ...(val ? [val.x, val.y] : [])]);
    }
  });
}

export function evaluateCommand(): Command {
  const cmd = new Command('evaluate')
    .description("a saved model's test accuracy, loss, size and inference speed")
    .requiredOption('--model <dir>', 'directory of the model (model.json + weights)');
  addDataFlags(cmd);
  return cmd.action(async (flags: DataFlags & {model: string}) => {
    const {data} = await prepare(flags);
    const model = await loadModel(flags.model);
    try {
      checkInputShape(model, data.inputShape, `model ${flags.model}`);
      printRun(summarize('evaluated', path.resolve(flags.model), model, data, 0, []), flags.json);
    } finally {
      model.dispose();
    }
  });
}
