// `hafif prune`: magnitude (or structured) pruning of a saved model, then fine-tuning.
import {Command, Option} from 'commander';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {toTensors} from '../data/index.js';
import {Distiller} from '../distill/index.js';
import {modelFiles} from '../io/index.js';
import {modelSize} from '../models/index.js';
import {
  compareSpeed,
  constantSparsity,
  MagnitudePruner,
  polynomialDecay,
  prunableWeights,
  strip,
  structuredPrune,
  type FilterNorm,
  type PruneScope,
  type PruningSchedule,
  type SparsityReport,
  type StructuredLayerReport,
} from '../prune/index.js';
import {evaluate, fit, kerasAdam, measureInference, type History, type TrainHook} from '../train/index.js';
import {UsageError} from '../util/registry.js';
import {addDataFlags, prepare, type DataFlags} from './common.js';
import {RECOMMENDED_SETTINGS, saveModel} from './demo.js';
import {oneOf, parseNonNegativeInt, parseNumber, parsePositive, parsePositiveInt, parseUnit} from './options.js';
import {phaseProgress} from './progress.js';
import {checkInputShape, loadModel} from './train.js';

interface PruneFlags extends DataFlags {
  readonly model: string;
  readonly sparsity: number;
  readonly schedule?: 'constant' | 'polynomial';
  readonly beginStep?: number;
  readonly endStep?: number;
  readonly frequency?: number;
  readonly initialSparsity?: number;
  readonly power?: number;
  readonly scope: PruneScope;
  readonly skip?: string;
  readonly structured?: FilterNorm;
  readonly teacher?: string;
  readonly alpha?: number;
  readonly temperature?: number;
  readonly distillationLoss?: 'kl' | 'mse';
  readonly epochs: number;
  readonly learningRate?: number;
  readonly out: string;
}

/** A model's test accuracy, size and speed, before or after pruning. */
export interface ModelFigures {
  readonly testAccuracy: number;
  readonly testLoss: number;
  readonly params: number;
  readonly nonZeroParams: number;
  /** On disk: model.json and weights.bin. */
  readonly bytes: number;
  /** model.json and weights.bin gzipped at level 9, as `hafif evaluate` reports it. */
  readonly gzipBytes: number;
  readonly inferenceImagesPerSecond: number;
}

/** What `hafif prune --json` prints. */
export interface PruneResult {
  readonly model: string;
  readonly method: 'magnitude' | 'structured';
  readonly sparsity: number;
  readonly schedule?: Readonly<Record<string, number | string>>;
  readonly scope?: PruneScope;
  readonly norm?: FilterNorm;
  readonly teacher?: string;
  readonly epochs: number;
  readonly steps: number;
  readonly fineTuneSeconds: number;
  readonly before: ModelFigures;
  readonly after: ModelFigures;
  /** Magnitude pruning: zeros per pruned kernel. */
  readonly sparsityReport?: SparsityReport;
  /** Structured pruning: filters per layer before and after. */
  readonly layers?: readonly Omit<StructuredLayerReport, 'kept'>[];
  /** Structured pruning: both models measured alternately in one run (best of the rounds). */
  readonly speed?: {
    readonly inferenceImagesPerSecond: readonly [number, number];
    readonly trainImagesPerSecond: readonly [number, number];
    readonly rounds: number;
  };
  readonly history: readonly Record<string, number>[];
  readonly savedTo: string;
}

/** Loads a tfjs layers model; anything that is not one is a one-line UsageError naming the directory. */
async function loadTfjsModel(dir: string, what: string): Promise<tfl.LayersModel> {
  try {
    return await loadModel(dir);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${what} ${dir} is not a TensorFlow.js layers model: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Accuracy, size and speed of a model; bytes and gzip bytes from its saved files in `dir`. */
async function figures(model: tfl.LayersModel, dir: string, x: tf.Tensor, y: tf.Tensor): Promise<ModelFigures> {
  const {loss, accuracy} = evaluate(model, x, y);
  const size = modelSize(model);
  const files = await modelFiles(dir);
  return {
    testAccuracy: accuracy,
    testLoss: loss,
    params: size.params,
    nonZeroParams: size.nonZeroParams,
    bytes: files.bytes,
    gzipBytes: files.gzipBytes,
    inferenceImagesPerSecond: measureInference(model, x, {batchSize: 256}).imagesPerSecond,
  };
}

/**
 * The schedule the flags ask for. The polynomial schedule's end defaults to the last schedule
 * step within the first half of fine-tuning, so the second half trains at the final sparsity.
 */
export function scheduleFrom(flags: PruneFlags, totalSteps: number): PruningSchedule {
  const beginStep = flags.beginStep ?? 0;
  const frequency = flags.frequency ?? 100;
  if (flags.schedule === 'constant') {
    return constantSparsity({targetSparsity: flags.sparsity, beginStep, endStep: flags.endStep ?? -1, frequency});
  }
  let endStep = flags.endStep;
  if (endStep == null) {
    endStep = beginStep + frequency * Math.floor((totalSteps / 2 - beginStep) / frequency);
    if (endStep <= beginStep) {
      throw new UsageError(
        `fine-tuning has ${totalSteps} steps, too few for a polynomial schedule from step ${beginStep} every ${frequency} steps; ` +
          'pass --end-step, a smaller --frequency, or more --epochs',
      );
    }
  }
  return polynomialDecay({
    initialSparsity: flags.initialSparsity ?? 0,
    finalSparsity: flags.sparsity,
    beginStep,
    endStep,
    power: flags.power ?? 3,
    frequency,
  });
}

function checkFlags(flags: PruneFlags): void {
  // The schedule's own checks, with a stand-in step count, before anything loads.
  if (flags.structured != null) {
    const given = (['schedule', 'beginStep', 'endStep', 'frequency', 'initialSparsity', 'power'] as const).filter((k) => flags[k] != null);
    if (given.length > 0) {
      throw new UsageError(`--${given[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to magnitude pruning, not to --structured`);
    }
    scheduleFrom({...flags, schedule: 'constant'}, 0);
    return;
  }
  if (flags.schedule !== 'constant' && flags.endStep == null) scheduleFrom({...flags, endStep: (flags.beginStep ?? 0) + 1}, 0);
  else scheduleFrom(flags, 0);
}

export function pruneCommand(): Command {
  const cmd = new Command('prune')
    .description('prune a saved model (magnitude masks on a schedule, or whole filters with --structured), fine-tune it, save it')
    .requiredOption('--model <dir>', 'directory of the model to prune (model.json + weights)')
    .requiredOption('--sparsity <s>', 'fraction of the kernel weights (with --structured: of the filters) to remove, in [0, 1)', parseNumber)
    .addOption(new Option('--schedule <kind>', 'constant or polynomial (default polynomial, from --initial-sparsity to --sparsity)').argParser(oneOf(['constant', 'polynomial'] as const)))
    .option('--begin-step <n>', 'first step that prunes (default 0)', parseNonNegativeInt)
    .option('--end-step <n>', 'last step that prunes; -1: to the end, constant only (default: constant -1; polynomial: the last schedule step in the first half of fine-tuning)', parseNumber)
    .option('--frequency <n>', 'prune every N steps (default 100)', parsePositiveInt)
    .option('--initial-sparsity <s>', 'polynomial: sparsity at the begin step (default 0)', parseNumber)
    .option('--power <p>', 'polynomial: exponent (default 3)', parseNumber)
    .addOption(new Option('--scope <scope>', 'rank weights per layer or over all layers together').argParser(oneOf(['layer', 'global'] as const)).default('layer'))
    .option('--skip <layers>', 'comma-separated layer names to leave unpruned')
    .addOption(new Option('--structured <norm>', 'remove whole conv filters / dense units ranked by their l1 or l2 norm, and rebuild a smaller model').argParser(oneOf(['l1', 'l2'] as const)))
    .option('--teacher <dir>', 'fine-tune with distillation from this teacher (a saved tfjs model; e.g. the unpruned model itself)')
    .option('--alpha <a>', `with --teacher: weight of the hard-label loss (default ${RECOMMENDED_SETTINGS.alpha})`, parseUnit)
    .option('--temperature <t>', `with --teacher: temperature of kl (default ${RECOMMENDED_SETTINGS.temperature})`, parsePositive)
    .addOption(new Option('--distillation-loss <name>', `with --teacher: kl or mse (default ${RECOMMENDED_SETTINGS.distillationLoss})`).argParser(oneOf(['kl', 'mse'] as const)))
    .option('--epochs <n>', 'fine-tuning epochs', parsePositiveInt, 2)
    .option('--learning-rate <lr>', 'Adam learning rate of fine-tuning (default 0.001)', parsePositive)
    .requiredOption('--out <dir>', 'directory for the pruned model');
  addDataFlags(cmd);
  return cmd.action(async (flags: PruneFlags) => {
    const result = await prune(flags);
    if (flags.json) process.stdout.write(JSON.stringify(result) + '\n');
    else process.stdout.write(summary(result) + '\n');
  });
}

async function prune(flags: PruneFlags): Promise<PruneResult> {
  checkFlags(flags);
  const skip = (flags.skip ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const model = await loadTfjsModel(flags.model, 'model');
  const disposables: {dispose(): void}[] = [model];
  try {
    if (flags.structured == null) prunableWeights(model, skip); // no prunable layer: fail before the data loads
    const teacher = flags.teacher != null ? await loadTfjsModel(flags.teacher, 'teacher') : null;
    if (teacher) disposables.push(teacher);
    const {data} = await prepare(flags);
    checkInputShape(model, data.inputShape, `model ${flags.model}`);
    if (teacher) checkInputShape(teacher, data.inputShape, `teacher ${flags.teacher}`);
    const train = toTensors(data.train, data.inputShape);
    // Per-epoch validation only from a held-out split (--validation-split), never the test set.
    const val = data.validation ? toTensors(data.validation, data.inputShape) : null;
    const test = toTensors(data.test, data.inputShape);
    disposables.push({dispose: () => tf.dispose([train.x, train.y, test.x, test.y, ...(val ? [val.x, val.y] : [])])});
    const stepsPerEpoch = Math.ceil(data.train.count / flags.batchSize);
    const steps = stepsPerEpoch * flags.epochs;
    const before = await figures(model, flags.model, test.x, test.y);

    let student = model;
    let hooks: TrainHook[] = [];
    let pruner: MagnitudePruner | null = null;
    let schedule: PruningSchedule | null = null;
    let layers: StructuredLayerReport[] | null = null;
    if (flags.structured != null) {
      const r = await structuredPrune(model, {sparsity: flags.sparsity, norm: flags.structured, skip});
      student = r.model;
      disposables.push(student);
      layers = [...r.layers];
    } else {
      schedule = scheduleFrom(flags, steps);
      pruner = new MagnitudePruner(model, {schedule, scope: flags.scope, skip});
      hooks = [pruner.hook()];
    }

    const optimizer = kerasAdam(flags.learningRate ?? RECOMMENDED_SETTINGS.learningRate);
    disposables.push(optimizer);
    const p = phaseProgress('prune', flags.epochs, stepsPerEpoch, flags.json && process.stderr.isTTY !== true);
    const loop = {epochs: flags.epochs, batchSize: flags.batchSize, seed: flags.seed, callbacks: p.callbacks, hooks, ...(val ? {validationData: [val.x, val.y] as const} : {})};
    const t0 = performance.now();
    let history: History;
    try {
      if (teacher) {
        const distiller = new Distiller({teacher, student});
        distiller.compile({
          optimizer,
          alpha: flags.alpha ?? RECOMMENDED_SETTINGS.alpha,
          temperature: flags.temperature ?? RECOMMENDED_SETTINGS.temperature,
          distillationLossFn: flags.distillationLoss ?? RECOMMENDED_SETTINGS.distillationLoss,
        });
        history = await distiller.fit(train.x, train.y, loop);
      } else {
        history = await fit(student, train.x, train.y, {...loop, optimizer});
      }
    } finally {
      p.stop();
    }
    const fineTuneSeconds = (performance.now() - t0) / 1000;
    const report = pruner ? strip(pruner).report : undefined;
    let speed: PruneResult['speed'];
    if (flags.structured != null) {
      // The training set's first 1,024 examples, one epoch per model per round.
      const n = Math.min(1024, data.train.count);
      const sub = [train.x.slice(0, n), train.y.slice(0, n)] as const;
      try {
        const s = await compareSpeed([model, student], test.x, sub, {rounds: 2});
        speed = {
          inferenceImagesPerSecond: [s.inferenceImagesPerSecond[0], s.inferenceImagesPerSecond[1]],
          trainImagesPerSecond: [s.trainImagesPerSecond[0], s.trainImagesPerSecond[1]],
          rounds: s.rounds,
        };
      } finally {
        tf.dispose([...sub]);
      }
    }
    const out = path.resolve(flags.out);
    await saveModel(student, out);
    const after = await figures(student, out, test.x, test.y);
    return {
      model: path.resolve(flags.model),
      method: flags.structured != null ? 'structured' : 'magnitude',
      sparsity: flags.sparsity,
      ...(schedule ? {schedule: schedule.config, scope: flags.scope} : {norm: flags.structured}),
      ...(flags.teacher != null ? {teacher: path.resolve(flags.teacher)} : {}),
      epochs: flags.epochs,
      steps,
      fineTuneSeconds,
      before,
      after,
      ...(report ? {sparsityReport: report} : {}),
      ...(layers ? {layers: layers.map(({kept: _kept, ...l}) => l)} : {}),
      ...(speed ? {speed} : {}),
      history: history.map((h) => ({...h})),
      savedTo: out,
    };
  } finally {
    for (const d of disposables.reverse()) d.dispose();
  }
}

function pct(v: number): string {
  return `${(v * 100).toFixed(2)}%`;
}

function line(name: string, f: ModelFigures): string {
  return `${name}: test accuracy ${pct(f.testAccuracy)}, ${f.params} params (${f.nonZeroParams} non-zero), ` +
    `${f.gzipBytes} bytes gzipped, ${Math.round(f.inferenceImagesPerSecond)} img/s inference`;
}

function summary(r: PruneResult): string {
  const lines = [line('before', r.before), line('after ', r.after)];
  if (r.sparsityReport) {
    lines.push(`kernel sparsity ${pct(r.sparsityReport.sparsity)}: ` + r.sparsityReport.layers.map((l) => `${l.layer} ${pct(l.sparsity)}`).join(', '));
  }
  if (r.layers) lines.push('filters: ' + r.layers.map((l) => `${l.layer} ${l.before}→${l.after}`).join(', '));
  if (r.speed) {
    const [a, b] = r.speed.inferenceImagesPerSecond;
    const [c, d] = r.speed.trainImagesPerSecond;
    lines.push(`side by side: inference ${Math.round(a)} → ${Math.round(b)} img/s (${(b / a).toFixed(2)}×), training ${Math.round(c)} → ${Math.round(d)} img/s (${(d / c).toFixed(2)}×)`);
  }
  lines.push(`saved to ${r.savedTo}`);
  return lines.join('\n');
}
