// `hafif quantize`: weight quantization into the tfjs format (uint8, uint16, float16), or
// simulated full-integer int8 with calibration saved beside the model.
import {Command, Option} from 'commander';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {toTensors, type Dataset} from '../data/index.js';
import {modelFiles} from '../io/index.js';
import {
  CALIBRATION_METHODS,
  calibrate,
  foldBatchNorm,
  Int8Simulation,
  QuantizationAware,
  saveInt8,
  saveQuantized,
  WEIGHT_DTYPES,
  type CalibrationMethod,
  type WeightDtype,
} from '../quantize/index.js';
import {Distiller} from '../distill/index.js';
import {RECOMMENDED_SETTINGS} from '../experiment/index.js';
import {evaluate, fit, kerasAdam, measureInference} from '../train/index.js';
import {deriveSeed, mulberry32, permutation} from '../util/random.js';
import {UsageError} from '../util/registry.js';
import {addDataFlags, prepare, type DataFlags} from './common.js';
import {oneOf, parseNonNegativeInt, parsePositive, parsePositiveInt} from './options.js';
import {phaseProgress} from './progress.js';
import {checkInputShape, loadModel} from './train.js';

const DTYPES = [...WEIGHT_DTYPES, 'int8'] as const;
type QuantizeDtype = (typeof DTYPES)[number];

interface QuantizeFlags extends DataFlags {
  readonly model: string;
  readonly dtype: QuantizeDtype;
  readonly out: string;
  readonly calibration?: number;
  readonly calibrationMethod?: CalibrationMethod;
  readonly percentile?: number;
  readonly skipLayers?: string[];
  readonly minSize?: number;
  readonly qat?: boolean;
  readonly epochs?: number;
  readonly teacher?: string;
  readonly learningRate?: number;
}

/** One model's line in `hafif quantize`'s report. */
interface Variant {
  readonly name: string;
  readonly testAccuracy: number;
  readonly testLoss: number;
  /** On disk: weights + model.json. */
  readonly bytes: number;
  readonly gzipBytes: number;
  /** int8: the weights' bytes in an integer runtime (1 per kernel value, 4 per bias); not a file. */
  readonly int8WeightBytes?: number;
  readonly inferenceImagesPerSecond?: number;
}

const DEFAULT_CALIBRATION = 512;

/** `calibration` examples of the training split, drawn with the seed (never the test split). */
function calibrationSet(data: Dataset, n: number, seed: number): tf.Tensor {
  const all = data.train;
  const size = data.inputShape.reduce((a, b) => a * b, 1);
  const idx = permutation(all.count, mulberry32(deriveSeed(seed, 'calibration'))).subarray(0, n);
  const out = new Float32Array(n * size);
  idx.forEach((j, i) => out.set(all.images.subarray(j * size, (j + 1) * size), i * size));
  return tf.tensor4d(out, [n, ...data.inputShape]);
}

async function loadTfjsModel(dir: string): Promise<tfl.LayersModel> {
  try {
    return await loadModel(dir);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${path.resolve(dir)} is not a tfjs Layers model: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * Fine-tunes the folded model through fake int8 (weights per channel, activations per tensor with
 * moving-average ranges), with the teacher's logits as a second target when given; returns the
 * fine-tuned float model's test scores.
 */
async function quantizationAwareTraining(model: tfl.LayersModel, teacher: tfl.LayersModel | null, data: Dataset, flags: QuantizeFlags) {
  const epochs = flags.epochs ?? 1;
  const train = toTensors(data.train, data.inputShape);
  const optimizer = kerasAdam(flags.learningRate ?? 1e-4);
  const qat = new QuantizationAware(model);
  const p = phaseProgress('qat', epochs, Math.ceil(data.train.count / flags.batchSize), flags.json);
  try {
    const loop = {epochs, batchSize: flags.batchSize, seed: flags.seed, callbacks: p.callbacks, hooks: [qat.hook]};
    if (teacher) {
      checkInputShape(teacher, data.inputShape, `teacher ${flags.teacher}`);
      const distiller = new Distiller({teacher, student: model});
      distiller.compile({optimizer, alpha: RECOMMENDED_SETTINGS.alpha, temperature: RECOMMENDED_SETTINGS.temperature,
        distillationLossFn: RECOMMENDED_SETTINGS.distillationLoss});
      await distiller.fit(train.x, train.y, loop);
    } else {
      await fit(model, train.x, train.y, {...loop, optimizer});
    }
  } finally {
    p.stop();
    qat.remove();
    optimizer.dispose();
    tf.dispose([train.x, train.y]);
  }
  const test = toTensors(data.test, data.inputShape);
  try {
    return evaluate(model, test.x, test.y);
  } finally {
    tf.dispose([test.x, test.y]);
  }
}

export function quantizeCommand(): Command {
  const cmd = new Command('quantize')
    .description('quantize a saved model: weights to uint8/uint16/float16 (stock tfjs reads them), or simulated int8 with calibration')
    .requiredOption('--model <dir>', 'directory of the model (model.json + weights)')
    .requiredOption('--dtype <dtype>', `${DTYPES.join(', ')}`, oneOf(DTYPES))
    .requiredOption('--out <dir>', 'directory for the quantized model (int8: the batch-norm-folded float model and quantization.json)')
    .option('--calibration <n>', `int8: calibration examples drawn from the training split (default ${DEFAULT_CALIBRATION}, at most the split's size)`, parseNonNegativeInt)
    .addOption(new Option('--calibration-method <name>', `int8: ${CALIBRATION_METHODS.join(', ')} (default minmax)`).argParser(oneOf(CALIBRATION_METHODS)))
    .option('--percentile <p>', 'int8 with --calibration-method percentile: clip at the P-th percentile above and the (100 − P)-th below, P in (50, 100] (default 99.99)', parsePositive)
    .option('--skip-layers <names>', 'uint8/uint16/float16: comma-separated layers whose weights stay float32', (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .option('--min-size <n>', 'uint8/uint16/float16: quantize only tensors with at least N values (default 0: all)', parseNonNegativeInt)
    .option('--qat', 'int8: quantization-aware fine-tuning of the folded model before calibration')
    .option('--epochs <n>', 'with --qat: fine-tuning epochs (default 1)', parsePositiveInt)
    .option('--teacher <dir>', 'with --qat: distil from this teacher while fine-tuning (alpha 0.9, mse, as the demo)')
    .option('--learning-rate <lr>', 'with --qat: Adam learning rate (default 0.0001)', parsePositive);
  addDataFlags(cmd);
  return cmd.action(async (flags: QuantizeFlags) => {
    const int8 = flags.dtype === 'int8';
    if (!int8 && (flags.calibration != null || flags.calibrationMethod != null || flags.percentile != null)) {
      throw new UsageError(`--calibration, --calibration-method and --percentile apply to --dtype int8, not ${flags.dtype}`);
    }
    if (int8 && (flags.skipLayers != null || flags.minSize != null)) {
      throw new UsageError('--skip-layers and --min-size apply to --dtype uint8, uint16 and float16, not int8');
    }
    if (flags.percentile != null && !(flags.percentile > 50 && flags.percentile <= 100)) {
      throw new UsageError(`--percentile must be in (50, 100], got ${flags.percentile}`);
    }
    if (!flags.qat && (flags.epochs != null || flags.teacher != null || flags.learningRate != null)) {
      throw new UsageError('--epochs, --teacher and --learning-rate apply to --qat');
    }
    if (flags.qat && !int8) throw new UsageError(`--qat applies to --dtype int8, not ${flags.dtype}`);
    if (flags.calibration === 0) throw new UsageError('--calibration 0: the calibration set is empty; expected at least 1 example');
    const out = path.resolve(flags.out);
    const model = await loadTfjsModel(flags.model);
    const teacher = flags.teacher != null ? await loadTfjsModel(flags.teacher).catch((e) => {
      model.dispose();
      throw e;
    }) : null;
    const {data} = await prepare(flags);
    const calibrationCount = flags.calibration ?? Math.min(DEFAULT_CALIBRATION, data.train.count);
    const test = toTensors(data.test, data.inputShape);
    const disposables: {dispose(): void}[] = [model, test.x, test.y, ...(teacher ? [teacher] : [])];
    try {
      checkInputShape(model, data.inputShape, `model ${flags.model}`);
      if (int8 && calibrationCount > data.train.count) {
        throw new UsageError(`--calibration ${calibrationCount} is larger than the training split (${data.train.count} examples)`);
      }
      const source = await modelFiles(flags.model);
      const speed = (m: tfl.LayersModel) => measureInference(m, test.x, {batchSize: 256}).imagesPerSecond;
      const f = evaluate(model, test.x, test.y);
      const variants: Variant[] = [{
        name: 'float', testAccuracy: f.accuracy, testLoss: f.loss, bytes: source.bytes, gzipBytes: source.gzipBytes,
        inferenceImagesPerSecond: speed(model),
      }];
      let extra: Record<string, unknown> = {};
      if (!int8) {
        const weights = await saveQuantized(model, out, {dtype: flags.dtype as WeightDtype, skipLayers: flags.skipLayers, minSize: flags.minSize});
        const back = await loadModel(out);
        disposables.push(back);
        const q = evaluate(back, test.x, test.y);
        const files = await modelFiles(out);
        variants.push({name: flags.dtype, testAccuracy: q.accuracy, testLoss: q.loss, bytes: files.bytes, gzipBytes: files.gzipBytes,
          inferenceImagesPerSecond: speed(back)});
        extra = {quantizedTensors: weights.filter((w) => w.storedAs === flags.dtype).length, tensors: weights.length};
      } else {
        const folded = await foldBatchNorm(model);
        disposables.push(folded);
        if (flags.qat) {
          const q = await quantizationAwareTraining(folded, teacher, data, flags);
          variants.push({name: 'float after QAT', testAccuracy: q.accuracy, testLoss: q.loss, bytes: NaN, gzipBytes: NaN});
        }
        const method = flags.calibrationMethod ?? 'minmax';
        const calX = calibrationSet(data, calibrationCount, flags.seed);
        disposables.push(calX);
        const cal = calibrate(folded, calX, {method, percentile: flags.percentile});
        const sim = await Int8Simulation.create(folded, cal);
        disposables.push(sim);
        const q = sim.evaluate(test.x, test.y);
        const file = await saveInt8(folded, sim, out, {method, percentile: flags.percentile, examples: calibrationCount, dataset: data.name});
        const files = await modelFiles(out);
        variants.push({name: 'int8 (simulated)', testAccuracy: q.accuracy, testLoss: q.loss, bytes: files.bytes, gzipBytes: files.gzipBytes,
          int8WeightBytes: sim.int8WeightBytes()});
        extra = {foldedLayers: model.layers.length - folded.layers.length, calibration: file.calibration, weightsSha256: file.model.weightsSha256,
          ...(flags.qat ? {qat: {epochs: flags.epochs ?? 1, teacher: flags.teacher ?? null, learningRate: flags.learningRate ?? 1e-4}} : {})};
      }
      const report = {model: path.resolve(flags.model), dtype: flags.dtype, savedTo: out, ...extra, variants};
      if (flags.json) {
        process.stdout.write(JSON.stringify(report) + '\n');
        return;
      }
      for (const v of variants) {
        process.stdout.write(
          `${v.name}: test accuracy ${(v.testAccuracy * 100).toFixed(2)}%, test loss ${v.testLoss.toFixed(4)}, ` +
            (Number.isFinite(v.bytes) ? `${v.bytes} bytes on disk (${v.gzipBytes} gzipped)` : 'not saved') +
            (v.int8WeightBytes != null ? `, ${v.int8WeightBytes} int8 weight bytes` : '') + '\n',
        );
      }
      process.stdout.write(`saved to ${out}\n`);
    } finally {
      for (const d of disposables) d.dispose();
    }
  });
}
