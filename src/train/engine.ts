// The one training engine. Every trainer (fit, the Distiller, pruning and quantization-aware
// fine-tuning) is a model, a list of loss terms, an optimizer and hooks handed to it:
//   createTrainStep: one optimizer update on a batch, with hooks around the forward pass, the
//     gradients and the update;
//   trainLoop: epochs of seeded shuffled batches, Keras-shaped callbacks with a context that can
//     stop training, validation, and a position that checkpoints save and resume from.
import '@tensorflow/tfjs-layers'; // registers the gradients tfjs-core alone lacks
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {asLogits, distillationKL, distillationMSE, sparseCategoricalCrossentropy} from '../losses/index.js';
import type {OutputKind} from '../losses/index.js';
import {deriveSeed, mulberry32, permutation} from '../util/random.js';
import {UsageError} from '../util/registry.js';
import {HostExamples, range} from './examples.js';
import {compiledStep} from './compiled/index.js';
import {fusedTerms, hostAccuracy} from './fused_terms.js';

export {hostAccuracy} from './fused_terms.js';

/** Named numbers reported by a step or an epoch (loss, accuracy, ...). */
export type Logs = Record<string, number>;

/** One row of a training history: means over the epoch's examples plus validation results. */
export interface EpochLogs {
  /** Epoch index, from 0 as in Keras' callbacks. */
  readonly epoch: number;
  readonly loss: number;
  readonly [name: string]: number;
}

/** The epochs of one training run, in order. */
export type History = EpochLogs[];

/** A minibatch handed to a training step. */
export interface Batch {
  /** Inputs, float32 `[size, ...]` (augmented when `augment` is set). */
  readonly x: tf.Tensor;
  /** Labels, int32 `[size]`. */
  readonly y: tf.Tensor1D;
  /** Example indices of the batch, into the training set. */
  readonly indices: Int32Array;
}

/** Where a training step runs: what the hooks see. */
export interface StepContext {
  readonly model: tfl.LayersModel;
  readonly optimizer: tf.Optimizer;
  /** From 0. */
  readonly epoch: number;
  /** Batch index within the epoch, from 0. */
  readonly batch: number;
  /** Global step: optimizer updates done before this one, from 0. */
  readonly step: number;
}

/** The model and optimizer a run trains, as begin and end hooks see them. */
export interface RunContext {
  readonly model: tfl.LayersModel;
  readonly optimizer: tf.Optimizer;
}

/**
 * Reaches into the training step. Pruning re-applies its masks in `afterUpdate`; fake-quant
 * swaps quantized weights in `beforeForward` and restores the float ones in `afterGradients`, so
 * the gradient taken at the quantized weights updates the float ones (straight-through estimator).
 */
export interface TrainHook {
  /** Once, before the first step. */
  onTrainBegin?(ctx: RunContext): void;
  /** Before the forward pass of a step; may assign new values to variables. */
  beforeForward?(ctx: StepContext): void;
  /**
   * Gradients computed, before the optimizer update. May restore weights, and may return a
   * replacement gradient map; the engine disposes the tensors it replaced.
   */
  afterGradients?(ctx: StepContext, grads: tf.NamedTensorMap): tf.NamedTensorMap | void;
  /** After the optimizer update. */
  afterUpdate?(ctx: StepContext): void;
  /** Once, after the last step, also after a stop or an abort. */
  onTrainEnd?(ctx: RunContext): void;
}

/** What the loss terms of a step read. */
export interface LossTensors {
  /** Class indices, int32 `[N]`. */
  readonly labels: tf.Tensor1D;
  /** The model's logits `[N, C]`. */
  readonly logits: tf.Tensor;
  /** The teacher's logits `[N, C]` when the step has a teacher, else null. */
  readonly teacherLogits: tf.Tensor | null;
  /** The batch's inputs. */
  readonly x: tf.Tensor;
}

/**
 * One term of a step's loss, `weight · term`. The built-in kinds are computed on the host
 * together with their gradient when every term of the step is built in (the fused path);
 * `custom` terms are functions on tensors that the tape differentiates (the generic path, where
 * the built-in kinds use their tensor versions).
 */
export type LossTerm =
  | {readonly kind: 'cross-entropy'; readonly weight?: number; readonly name?: string}
  | {readonly kind: 'kl'; readonly temperature: number; readonly weight?: number; readonly name?: string}
  | {readonly kind: 'mse'; readonly weight?: number; readonly name?: string}
  | {
      readonly kind: 'custom';
      readonly name: string;
      readonly weight?: number;
      readonly fn: (t: LossTensors) => tf.Scalar;
      /** Variables of the term itself (e.g. a FitNets regressor), trained with the model's. */
      readonly variables?: readonly tf.Variable[];
    };

/** The teacher's logits for a batch as a host array `[N·C]`, from a cache or a forward pass. */
export type TeacherSource = (batch: Batch) => Float32Array;

/** What {@link createTrainStep} trains with. */
export interface TrainStepOptions {
  readonly model: tfl.LayersModel;
  readonly optimizer: tf.Optimizer;
  readonly terms: readonly LossTerm[];
  /** What the model outputs. @default 'logits' */
  readonly outputs?: OutputKind;
  /** Required by the kl and mse terms and by custom terms that read teacherLogits. */
  readonly teacher?: TeacherSource;
  readonly hooks?: readonly TrainHook[];
  /** Add the batch's accuracy to the logs. @default true */
  readonly accuracy?: boolean;
}

/** A training step: one optimizer update on a batch; returns the batch's mean logs. */
export type StepFn = (batch: Batch, ctx: StepContext) => Logs;

/** The trainable variables of a model, as the optimizer takes them. */
export function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  // LayerVariable.read() returns the tf.Variable that holds the weight.
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * The training step of every trainer: hooks.beforeForward → forward pass and loss → gradients
 * → hooks.afterGradients → optimizer update → hooks.afterUpdate.
 * Logs hold `loss`, each named term's value and (unless turned off) `accuracy`.
 */
export function createTrainStep(options: TrainStepOptions): StepFn {
  const {model, optimizer, terms, outputs = 'logits', teacher, hooks = [], accuracy = true} = options;
  if (terms.length === 0) throw new UsageError('a training step needs at least one loss term');
  for (const t of terms) {
    if ((t.kind === 'kl' || t.kind === 'mse') && teacher == null) {
      throw new UsageError(`loss term ${t.kind} needs a teacher`);
    }
    if (t.kind === 'kl' && !(t.temperature > 0 && Number.isFinite(t.temperature))) {
      throw new UsageError(`temperature must be a finite number > 0, got ${t.temperature}`);
    }
  }
  const vars = [...trainableVariables(model), ...terms.flatMap((t) => (t.kind === 'custom' ? (t.variables ?? []) : []))];
  const forward = (x: tf.Tensor) => asLogits(model.apply(x, {training: true}) as tf.Tensor, outputs);
  const fused = terms.every((t) => t.kind !== 'custom');
  const loss = fused ? fusedLoss(forward, terms, teacher, accuracy) : genericLoss(forward, terms, teacher, accuracy);
  const tape: StepFn = (batch, ctx) => {
    for (const h of hooks) h.beforeForward?.(ctx);
    const logs: Logs = {};
    const {value, grads} = tf.variableGrads(() => loss(batch, logs), vars);
    let g = grads;
    try {
      for (const h of hooks) {
        const replaced = h.afterGradients?.(ctx, g);
        if (replaced != null && replaced !== g) {
          const keep = new Set(Object.values(replaced));
          tf.dispose(Object.values(g).filter((t) => !keep.has(t)));
          g = replaced;
        }
      }
      // The update of optimizer.minimize(f, false, vars): gradients in the order of vars.
      optimizer.applyGradients(vars.filter((v) => g[v.name] != null).map((v) => ({name: v.name, tensor: g[v.name]})));
    } finally {
      tf.dispose(Object.values(g));
      value.dispose();
    }
    for (const h of hooks) h.afterUpdate?.(ctx);
    return logs;
  };
  // A Sequential model of known layers trained with HostAdam on built-in terms runs natively, off
  // the tape (./compiled); anything else, or HAFIF_COMPILED=0, takes the tape step.
  const compiled = compiledStep({model, optimizer, terms, outputs, teacher, hooks, accuracy, tape});
  const step = compiled.step ?? tape;
  compiledReasons.set(step, compiled.reason);
  return step;
}

const compiledReasons = new WeakMap<StepFn, string | null>();

/**
 * Why a step of {@link createTrainStep} runs on the tape ('HAFIF_COMPILED=0', 'layer d1:
 * Dropout has no compiled handler', ...), or null when it runs compiled.
 */
export function tapeReason(step: StepFn): string | null {
  const r = compiledReasons.get(step);
  if (r === undefined) throw new Error('tapeReason: not a step made by createTrainStep');
  return r;
}

type LossFn = (batch: Batch, logs: Logs) => tf.Scalar;

/**
 * Every term on the host in one pass over the logits (see {@link hostLoss}): the teacher's
 * logits never become a tensor.
 */
function fusedLoss(
  forward: (x: tf.Tensor) => tf.Tensor,
  terms: readonly LossTerm[],
  teacher: TeacherSource | undefined,
  withAccuracy: boolean,
): LossFn {
  return (batch, logs) => {
    const labels = batch.y.dataSync();
    const t = teacher?.(batch);
    const logits = forward(batch.x);
    return hostLoss(logits, (z, n, c) => {
      const r = fusedTerms(terms, labels, t, z, n, c, withAccuracy);
      Object.assign(logs, r.logs);
      return r;
    });
  };
}

/** The terms as tensor functions that the tape differentiates; values are read after the update. */
function genericLoss(
  forward: (x: tf.Tensor) => tf.Tensor,
  terms: readonly LossTerm[],
  teacher: TeacherSource | undefined,
  withAccuracy: boolean,
): LossFn {
  return (batch, logs) => {
    const t = teacher?.(batch);
    const [n] = batch.y.shape;
    const teacherLogits = t != null ? tf.tensor2d(t, [n, t.length / n]) : null;
    const logits = forward(batch.x);
    const input: LossTensors = {labels: batch.y, logits, teacherLogits, x: batch.x};
    const values = terms.map((term) => termTensor(term, input));
    let total: tf.Scalar;
    if (values.length === 1 && (terms[0].weight ?? 1) === 1) total = values[0];
    else total = tf.addN(values.map((v, i) => tf.mul(v, terms[i].weight ?? 1))) as tf.Scalar;
    // Values are computed already (cpu and native run ops eagerly): read them here.
    logs.loss = total.dataSync()[0];
    terms.forEach((term, i) => {
      if (term.name) logs[term.name] = values[i].dataSync()[0];
    });
    if (withAccuracy) logs.accuracy = batchAccuracy(batch.y, logits);
    return total;
  };
}

function termTensor(term: LossTerm, t: LossTensors): tf.Scalar {
  switch (term.kind) {
    case 'cross-entropy':
      return sparseCategoricalCrossentropy(t.labels, t.logits);
    case 'kl':
      return distillationKL(t.teacherLogits as tf.Tensor, t.logits, term.temperature);
    case 'mse':
      return distillationMSE(t.teacherLogits as tf.Tensor, t.logits);
    case 'custom':
      return term.fn(t);
  }
}

/** What a {@link hostLoss} computes from the logits' values [n, c]. */
export interface HostLossResult {
  readonly loss: number;
  /** d loss / d logits, [n, c]. */
  readonly grad: Float32Array;
  /** Numbers for the step's logs (loss terms, accuracy). */
  readonly logs: Logs;
}

/**
 * A training step's loss as one op on the logits alone, computed on the host together with its
 * gradient. Everything else the loss reads (labels, teacher logits) is a host array the caller
 * closes over. Against the generic path this skips the tape's copies of saved inputs, a zero
 * gradient for the labels, the ops that weight loss terms and reading the terms back.
 */
export function hostLoss(logits: tf.Tensor, compute: (z: Float32Array, n: number, c: number) => HostLossResult): tf.Scalar {
  if (logits.rank !== 2 || logits.dtype !== 'float32') {
    throw new Error(`training loss: logits must be float32 [N, C], got ${logits.dtype} [${logits.shape}]`);
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const z = args[0] as tf.Tensor;
    const [n, c] = z.shape;
    const r = compute(z.dataSync() as Float32Array, n, c);
    return {
      value: tf.scalar(r.loss),
      gradFunc: (dy: tf.Tensor) => {
        const s = dy.dataSync()[0];
        const g = s === 1 ? r.grad : r.grad.map((v) => v * s);
        return tf.tensor2d(g, [n, c]);
      },
    };
  });
  return op(logits) as tf.Scalar;
}

/**
 * The fraction of rows whose largest logit (the first, on ties, as tf.argMax) is at the label.
 * Computed on the host: four tfjs ops cost more in dispatch than a [32, 10] scan.
 */
export function batchAccuracy(labels: tf.Tensor, logits: tf.Tensor): number {
  const n = logits.shape[0];
  return hostAccuracy(labels.dataSync(), logits.dataSync(), n, logits.size / n);
}

// ---------------------------------------------------------------------------------------------
// The loop.

/** Where a run stands between two steps: what a checkpoint saves and a resume starts from. */
export interface TrainPosition {
  /** The epoch the next step belongs to. */
  readonly epoch: number;
  /** The next batch of that epoch (equal to the steps per epoch once all ran). */
  readonly batch: number;
  /** Optimizer updates done so far. */
  readonly step: number;
  /** Sums over the epoch's examples so far of each batch log, weighted by batch size. */
  readonly sums: Logs;
  /** Training milliseconds of the epoch so far. */
  readonly trainMs: number;
  /** The completed epochs. */
  readonly history: History;
}

/** What a callback sees. */
export interface CallbackContext extends RunContext {
  readonly epoch: number;
  /** Batch within the epoch (at epoch begin and end: the steps per epoch so far). */
  readonly batch: number;
  /** Optimizer updates done so far. */
  readonly step: number;
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  /** The batch's logs at batch end, the epoch's row at epoch end, else empty. */
  readonly logs: Logs;
  /** Of the last batch, at batch end. */
  readonly imagesPerSecond: number;
  /** The completed epochs so far. */
  readonly history: History;
  /** True in onTrainEnd when the run was aborted through its signal. */
  readonly aborted: boolean;
  /** Ends training after this batch (the epoch is then closed with what ran) or this epoch. */
  stop(): void;
  /** The state to save in a checkpoint now: resuming from it continues exactly from here. */
  position(): TrainPosition;
}

/** Keras-shaped callbacks; each may be async, and training waits for it. */
export interface Callback {
  onTrainBegin?(ctx: CallbackContext): void | Promise<void>;
  onEpochBegin?(ctx: CallbackContext): void | Promise<void>;
  onBatchBegin?(ctx: CallbackContext): void | Promise<void>;
  onBatchEnd?(ctx: CallbackContext): void | Promise<void>;
  onEpochEnd?(ctx: CallbackContext): void | Promise<void>;
  onTrainEnd?(ctx: CallbackContext): void | Promise<void>;
}

/** Seeds and positions an augmentation sees, so the same run augments the same way. */
export interface AugmentInfo {
  readonly seed: number;
  readonly epoch: number;
  readonly batch: number;
}

/** Options shared by every training loop. */
export interface LoopOptions {
  /** Passes over the training set. @default 1 */
  readonly epochs?: number;
  /** Examples per step; the last batch of an epoch may be smaller. @default 32 */
  readonly batchSize?: number;
  /** Reshuffle the examples before each epoch. @default true */
  readonly shuffle?: boolean;
  /** Seed of the shuffle: the same seed visits examples in the same order. @default 0 */
  readonly seed?: number;
  /** Transforms each training batch's inputs (data augmentation); must not keep its input. */
  readonly augment?: (x: tf.Tensor, info: AugmentInfo) => tf.Tensor;
  readonly callbacks?: Callback | readonly Callback[];
  /** Hooks into each training step (pruning masks, fake-quant). */
  readonly hooks?: readonly TrainHook[];
  /**
   * Stops training between batches; the call then rejects with a {@link TrainingAborted} that
   * holds the history so far. Callbacks' onTrainEnd still runs (with `aborted`).
   */
  readonly signal?: AbortSignal;
  /** Continue a run from a checkpoint's position. */
  readonly resume?: TrainPosition;
}

/** Runs at each epoch's end; its logs (e.g. valLoss, valAccuracy) join the epoch's. */
export type ValidateFn = () => Logs;

/** The rejection of an aborted run: an AbortError that keeps the history so far. */
export class TrainingAborted extends Error {
  override readonly name = 'AbortError';
  constructor(readonly history: History, readonly reason: unknown) {
    super(reason instanceof Error ? reason.message : `training aborted${reason == null ? '' : `: ${String(reason)}`}`);
  }
}

/** What {@link trainLoop} needs beyond the loop options. */
export interface LoopRun extends LoopOptions {
  readonly model: tfl.LayersModel;
  readonly optimizer: tf.Optimizer;
  readonly validate?: ValidateFn;
}

/**
 * The one training loop: batches (seeded shuffle per epoch), calls `step`, averages its logs
 * over the epoch's examples, validates, and runs the callbacks and the hooks' begin and end.
 * Used for teachers, students and the Distiller alike.
 */
export async function trainLoop(
  examples: HostExamples,
  labels: Int32Array,
  step: StepFn,
  run: LoopRun,
): Promise<History> {
  const {epochs = 1, batchSize = 32, shuffle = true, seed = 0, augment, signal, validate, model, optimizer, resume} = run;
  const callbacks = run.callbacks == null ? [] : Array.isArray(run.callbacks) ? run.callbacks : [run.callbacks as Callback];
  const hooks = run.hooks ?? [];
  checkPositiveInteger('epochs', epochs);
  checkPositiveInteger('batchSize', batchSize);
  if (labels.length !== examples.count) {
    throw new UsageError(`x has ${examples.count} examples but y has ${labels.length} labels`);
  }
  if (examples.count === 0) throw new UsageError('cannot train on 0 examples');
  const n = examples.count;
  const stepsPerEpoch = Math.ceil(n / batchSize);
  if (resume != null && (resume.epoch > epochs || resume.batch > stepsPerEpoch || resume.batch < 0)) {
    throw new UsageError(`cannot resume at epoch ${resume.epoch} batch ${resume.batch}: the run has ${epochs} epochs of ${stepsPerEpoch} steps`);
  }
  // One shuffle stream for the run; a resumed run replays the permutations of the epochs before.
  const rng = mulberry32(deriveSeed(seed, 'shuffle'));
  const history: History = resume ? [...resume.history] : [];
  let epoch = resume?.epoch ?? 0;
  let batch = resume?.batch ?? 0;
  let globalStep = resume?.step ?? 0;
  let sums: Logs = resume ? {...resume.sums} : {};
  let trainMs = resume?.trainMs ?? 0;
  let stopRequested = false;
  let aborted = false;
  const position = (): TrainPosition => ({epoch, batch, step: globalStep, sums: {...sums}, trainMs, history: [...history]});
  const ctx = (logs: Logs = {}, imagesPerSecond = NaN): CallbackContext => ({
    model, optimizer, epoch, batch, step: globalStep, epochs, stepsPerEpoch, logs, imagesPerSecond,
    history: [...history], aborted,
    stop: () => { stopRequested = true; },
    position,
  });
  const runCtx = {model, optimizer};
  for (let e = 0; e < epoch && shuffle; e++) permutation(n, rng);

  // Each callback is awaited only when it returns a promise; a sync one runs without a turn of
  // the microtask queue, and with no callbacks no context is built.
  const call = async (name: keyof Callback, make: () => CallbackContext): Promise<void> => {
    for (const c of callbacks) {
      const r = c[name]?.(make());
      if (r != null) await r;
    }
  };
  const has = (name: keyof Callback) => callbacks.some((c) => c[name] != null);
  const onBatchBegin = has('onBatchBegin');
  const onBatchEnd = has('onBatchEnd');
  // Timers, signals and progress output get a turn of the event loop between steps, at least
  // every YIELD_MS (a turn each step costs more than a small model's step takes).
  let lastYield = performance.now();

  for (const h of hooks) h.onTrainBegin?.(runCtx);
  try {
    await call('onTrainBegin', () => ctx());
    for (; epoch < epochs && !stopRequested; epoch++) {
      const order = shuffle ? permutation(n, rng) : range(0, n);
      if (batch === 0) {
        sums = {};
        trainMs = 0;
        await call('onEpochBegin', () => ctx());
      }
      for (; batch < stepsPerEpoch && !stopRequested; batch++) {
        if (signal?.aborted) throw signal.reason;
        if (onBatchBegin) await call('onBatchBegin', () => ctx());
        const t0 = performance.now();
        const start = batch * batchSize;
        const indices = order.subarray(start, Math.min(start + batchSize, n));
        const stepCtx: StepContext = {model, optimizer, epoch, batch, step: globalStep};
        const logs = runStep(examples, labels, indices, step, stepCtx, augment && ((x) => augment(x, {seed, epoch, batch: stepCtx.batch})));
        const ms = performance.now() - t0;
        trainMs += ms;
        for (const [k, v] of Object.entries(logs)) sums[k] = (sums[k] ?? 0) + v * indices.length;
        globalStep++;
        if (onBatchEnd) {
          const endCtx = {...ctx(logs, (indices.length * 1000) / Math.max(ms, 1e-6)), batch: batch};
          // The position seen at batch end is after this batch.
          const after = {...endCtx, position: () => ({...position(), batch: batch + 1})};
          await call('onBatchEnd', () => after);
        }
        if (t0 + ms - lastYield >= YIELD_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          lastYield = performance.now();
        }
      }
      if (signal?.aborted) throw signal.reason;
      const seen = Math.min(batch * batchSize, n);
      const means: Logs = {};
      for (const [k, v] of Object.entries(sums)) means[k] = v / seen;
      const row: EpochLogs = {
        epoch,
        loss: means.loss ?? NaN,
        ...means,
        ...(validate ? validate() : {}),
        imagesPerSecond: (seen * 1000) / Math.max(trainMs, 1e-6),
        seconds: trainMs / 1000,
      };
      history.push(row);
      // The position seen at epoch end is the next epoch's start.
      const endCtx = {...ctx(row), batch, position: () => ({epoch: epoch + 1, batch: 0, step: globalStep, sums: {}, trainMs: 0, history: [...history]})};
      batch = 0;
      await call('onEpochEnd', () => endCtx);
    }
  } catch (e) {
    if (signal?.aborted && e === signal.reason) {
      aborted = true;
      await call('onTrainEnd', () => ctx());
      throw new TrainingAborted([...history], e);
    }
    throw e;
  } finally {
    for (const h of hooks) h.onTrainEnd?.(runCtx);
  }
  await call('onTrainEnd', () => ctx());
  return history;
}

/** The longest the loop runs steps without a turn of the event loop, in milliseconds. */
const YIELD_MS = 10;

function runStep(
  examples: HostExamples,
  labels: Int32Array,
  indices: Int32Array,
  step: StepFn,
  ctx: StepContext,
  augment: ((x: tf.Tensor) => tf.Tensor) | undefined,
): Logs {
  const raw = examples.gather(indices);
  const x = augment ? tf.tidy(() => augment(raw)) : raw;
  const yValues = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) yValues[i] = labels[indices[i]];
  const y = tf.tensor1d(yValues, 'int32');
  try {
    return step({x, y, indices}, ctx);
  } finally {
    tf.dispose([raw, x, y]);
  }
}

export function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${name} must be a positive integer, got ${value}`);
}
