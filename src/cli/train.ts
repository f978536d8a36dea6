// `hafif train`, `hafif distill` and `hafif evaluate`: the demo's steps one at a time.
import {Command, Option} from 'commander';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {toTensors} from '../data/index.js';
import {Distiller} from '../distill/index.js';
import {createModel} from '../models/index.js';
import {fit, kerasAdam} from '../train/index.js';
import {UsageError} from '../util/registry.js';
import {addDataFlags, defaultModels, prepare, summarize, type DataFlags, type RunResult} from './common.js';
import {RECOMMENDED_SETTINGS, saveModel} from './demo.js';
import {OnnxModel, onnxTeacher} from '../export/index.js';
import {evaluateOnnxCommand, isOnnxPath} from './onnx.js';
import {oneOf, parsePositive, parsePositiveInt, parseUnit} from './options.js';
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
  readonly distillationLoss?: 'kl' | 'mse';
  readonly cacheTeacherLogits: boolean;
  readonly threads?: number;
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
    const val = toTensors(data.validation ?? data.test, data.inputShape);
    const optimizer = kerasAdam(flags.learningRate ?? RECOMMENDED_SETTINGS.learningRate);
    const p = phaseProgress('train', epochs, Math.ceil(data.train.count / flags.batchSize), flags.json);
    try {
      const t0 = performance.now();
      const history = await fit(model, train.x, train.y, {
        epochs, batchSize: flags.batchSize, seed: flags.seed, optimizer, callbacks: p.callbacks, validationData: [val.x, val.y],
      });
      const run = summarize('model', name, model, data, (performance.now() - t0) / 1000, history);
      const out = path.resolve(flags.out ?? path.join('hafif-out', name));
      await saveModel(model, out);
      printRun(run, flags.json, out);
    } finally {
      p.stop();
      optimizer.dispose();
      model.dispose();
      tf.dispose([train.x, train.y, val.x, val.y]);
    }
  });
}

export function distillCommand(): Command {
  const cmd = new Command('distill')
    .description('distill a trained teacher (a saved tfjs model) into a student from the registry')
    .requiredOption('--teacher <dir>', 'directory of the teacher (model.json + weights), or FILE.onnx run in onnxruntime-node')
    .option('--threads <n>', 'onnxruntime intra-op threads, for an .onnx teacher (default 1)', parsePositiveInt)
    .option('--student <name>', 'student model from the registry (default: keras-student; cifar-student for cifar10)')
    .option('--epochs <n>', `student epochs (default ${RECOMMENDED_SETTINGS.epochsStudent})`, parsePositiveInt)
    .option('--alpha <a>', `weight of the hard-label loss, in [0, 1] (default ${RECOMMENDED_SETTINGS.alpha})`, parseUnit)
    .option('--temperature <t>', `softmax temperature of kl, > 0 (default ${RECOMMENDED_SETTINGS.temperature})`, parsePositive)
    .addOption(new Option('--distillation-loss <name>', `kl or mse (default ${RECOMMENDED_SETTINGS.distillationLoss})`).argParser(oneOf(['kl', 'mse'] as const)))
    .option('--learning-rate <lr>', 'Adam learning rate (default 0.001)', parsePositive)
    .option('--no-cache-teacher-logits', "run the teacher on every batch instead of once per example (same result, slower)")
    .option('--out <dir>', 'directory for the distilled student (default ./hafif-out/distilled)');
  addDataFlags(cmd);
  return cmd.action(async (flags: DistillFlags) => {
    const studentName = flags.student ?? defaultModels(flags.dataset).student;
    createModel(studentName, {inputShape: [1, 1, 1], numClasses: 1}).dispose();
    const {data} = await prepare(flags);
    // An .onnx teacher (e.g. trained in PyTorch or Keras) runs in onnxruntime-node, once per example.
    const onnx = isOnnxPath(flags.teacher) ? await OnnxModel.load(flags.teacher, {threads: flags.threads ?? 1}) : null;
    const teacher = onnx ? onnxTeacher(onnx) : await loadModel(flags.teacher);
    const student = createModel(studentName, {inputShape: data.inputShape, numClasses: data.numClasses, seed: flags.seed + 1});
    const train = toTensors(data.train, data.inputShape);
    const val = toTensors(data.validation ?? data.test, data.inputShape);
    const optimizer = kerasAdam(flags.learningRate ?? RECOMMENDED_SETTINGS.learningRate);
    const epochs = flags.epochs ?? RECOMMENDED_SETTINGS.epochsStudent;
    const p = phaseProgress('distill', epochs, Math.ceil(data.train.count / flags.batchSize), flags.json);
    try {
      if (onnx) onnx.checkFits(data.inputShape, data.numClasses, `teacher ${flags.teacher}`);
      else checkInputShape(teacher as tfl.LayersModel, data.inputShape, `teacher ${flags.teacher}`);
      const distiller = new Distiller({teacher, student});
      distiller.compile({
        optimizer,
        alpha: flags.alpha ?? RECOMMENDED_SETTINGS.alpha,
        temperature: flags.temperature ?? RECOMMENDED_SETTINGS.temperature,
        distillationLossFn: flags.distillationLoss ?? RECOMMENDED_SETTINGS.distillationLoss,
      });
      const t0 = performance.now();
      const history = await distiller.fit(train.x, train.y, {
        cacheTeacherLogits: flags.cacheTeacherLogits,
        epochs, batchSize: flags.batchSize, seed: flags.seed, callbacks: p.callbacks, validationData: [val.x, val.y],
      });
      const run = summarize('distilled', studentName, student, data, (performance.now() - t0) / 1000, history);
      const out = path.resolve(flags.out ?? path.join('hafif-out', 'distilled'));
      await saveModel(student, out);
      printRun(run, flags.json, out);
    } finally {
      p.stop();
      optimizer.dispose();
      if (onnx) await onnx.dispose();
      else (teacher as tfl.LayersModel).dispose();
      student.dispose();
      tf.dispose([train.x, train.y, val.x, val.y]);
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
      printRun(summarize('evaluated', path.resolve(flags.model), model, data, 0, []), flags.json);
    } finally {
      model.dispose();
    }
  });
}
