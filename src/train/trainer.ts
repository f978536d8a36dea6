// tfjs-core alone registers no gradient functions; importing tfjs-layers registers them all.
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {crossEntropyHost} from '../distill/host_kernels.js';
import {asLogits, checkOutputKind, sparseCategoricalCrossentropy, studentLosses} from '../distill/losses.js';
import type {OutputKind, StudentLossFn, StudentLossName} from '../distill/losses.js';
import {deriveSeed, mulberry32, permutation} from '../util/random.js';
import {UsageError} from '../util/registry.js';
import {HostAdam} from './adam.js';
import {HostExamples, labelsToInt32, range} from './examples.js';
import type {Inputs, Labels} from './examples.js';

/** Named numbers reported by a step or an epoch (loss, accuracy, ...). */
export type Logs = Record<string, number>;

/** One row of a training history: means over the epoch's examples plus validation results. */
export interface EpochLogs {
  /** Epoch index, from 0 as in Keras' callbacks. */
  readonly epoch: number;
  readonly loss: number;
  readonly [name: string]: number;
}

/** The epochs of one `fit` call, in order. */
export type History = EpochLogs[];

/** Progress hooks; each may be async, and training waits for it. */
export interface TrainCallbacks {
  onEpochBegin?(epoch: number): void | Promise<void>;
  /** `batch` counts from 0 within the epoch; `logs` hold this batch's values. */
  onBatchEnd?(batch: number, logs: Logs, imagesPerSecond: number): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: EpochLogs): void | Promise<void>;
}

/** A minibatch handed to a training step. */
export interface Batch {
  /** Inputs, float32 `[size, ...]` (augmented when `augment` is set). */
  readonly x: tf.Tensor;
  /** Labels, int32 `[size]`. */
  readonly y: tf.Tensor1D;
  /** Example indices of the batch, into the training set. */
  readonly indices: Int32Array;
}

/** A training step: updates weights on one batch and returns that batch's mean logs. */
export type StepFn = (batch: Batch) => Logs;

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
  readonly augment?: (x: tf.Tensor) => tf.Tensor;
  readonly callbacks?: TrainCallbacks;
  /** Stops training between batches; `fit` then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Runs at each epoch's end; its logs (e.g. valLoss, valAccuracy) join the epoch's. */
export type ValidateFn = () => Logs;

/**
 * The one training loop: batches (seeded shuffle per epoch), calls `step`, averages its logs
 * over the epoch's examples, validates, reports progress. Used for teachers, students and the
 * Distiller alike.
 */
export async function trainLoop(
  examples: HostExamples,
  labels: Int32Array,
  step: StepFn,
  options: LoopOptions & {readonly validate?: ValidateFn} = {},
): Promise<History> {
  const {epochs = 1, batchSize = 32, shuffle = true, seed = 0, augment, callbacks = {}, signal, validate} = options;
  checkPositiveInteger('epochs', epochs);
  checkPositiveInteger('batchSize', batchSize);
  if (labels.length !== examples.count) {
    throw new UsageError(`x has ${examples.count} examples but y has ${labels.length} labels`);
  }
  if (examples.count === 0) throw new UsageError('cannot train on 0 examples');
  const rng = mulberry32(deriveSeed(seed, 'shuffle'));
  const n = examples.count;
  const history: History = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    signal?.throwIfAborted();
    await callbacks.onEpochBegin?.(epoch);
    const order = shuffle ? permutation(n, rng) : range(0, n);
    const sums: Logs = {};
    let trainMs = 0;
    for (let start = 0, b = 0; start < n; start += batchSize, b++) {
      signal?.throwIfAborted();
      const t0 = performance.now();
      const indices = order.subarray(start, Math.min(start + batchSize, n));
      const logs = runStep(examples, labels, indices, step, augment);
      const ms = performance.now() - t0;
      trainMs += ms;
      for (const [k, v] of Object.entries(logs)) sums[k] = (sums[k] ?? 0) + v * indices.length;
      await callbacks.onBatchEnd?.(b, logs, (indices.length * 1000) / Math.max(ms, 1e-6));
      // Let timers, signals and progress output run between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const means: Logs = {};
    for (const [k, v] of Object.entries(sums)) means[k] = v / n;
    const row: EpochLogs = {
      epoch,
      loss: means.loss ?? NaN,
      ...means,
      ...(validate ? validate() : {}),
      imagesPerSecond: (n * 1000) / Math.max(trainMs, 1e-6),
      seconds: trainMs / 1000,
    };
    history.push(row);
    await callbacks.onEpochEnd?.(epoch, row);
  }
  return history;
}

function runStep(
  examples: HostExamples,
  labels: Int32Array,
  indices: Int32Array,
  step: StepFn,
  augment: ((x: tf.Tensor) => tf.Tensor) | undefined,
): Logs {
  const raw = examples.gather(indices);
  const x = augment ? tf.tidy(() => augment(raw)) : raw;
  const yValues = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) yValues[i] = labels[indices[i]];
  const y = tf.tensor1d(yValues, 'int32');
  try {
    return step({x, y, indices});
  } finally {
    tf.dispose([raw, x, y]);
  }
}

/**
 * Adam with Keras' defaults: learning rate 1e-3, β1 0.9, β2 0.999, ε 1e-7 (PyTorch's ε is 1e-8);
 * the update of `tf.train.adam(lr, 0.9, 0.999, 1e-7)`, fused on the host ({@link HostAdam}).
 */
export function kerasAdam(learningRate = 1e-3): HostAdam {
  return new HostAdam({learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-7});
}

/** The trainable variables of a model, as the optimizer takes them. */
export function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  // LayerVariable.read() returns the tf.Variable that holds the weight.
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** The number of classes a classifier's output has (its last dimension). */
export function outputClasses(model: tfl.LayersModel, what = 'model'): number {
  const shape = model.outputs[0].shape;
  const c = shape[shape.length - 1];
  if (model.outputs.length !== 1 || shape.length !== 2 || c == null) {
    throw new UsageError(`${what} must have one output of shape [null, classes], got [${shapeString(shape)}]`);
  }
  return c;
}

/** `[null,10]`, as errors print shapes. */
export function shapeString(shape: readonly (number | null)[]): string {
  return shape.map((d) => (d == null ? 'null' : String(d))).join(',');
}

/**
 * The fraction of rows whose largest logit (the first, on ties, as tf.argMax) is at the label.
 * Computed on the host: four tfjs ops cost more in dispatch than a [32, 10] scan.
 */
export function batchAccuracy(labels: tf.Tensor, logits: tf.Tensor): number {
  const n = logits.shape[0];
  return hostAccuracy(labels.dataSync(), logits.dataSync(), n, logits.size / n);
}

/** {@link batchAccuracy} over host arrays: labels [n], logits [n, c]. */
export function hostAccuracy(y: ArrayLike<number>, z: ArrayLike<number>, n: number, c: number): number {
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (z[i * c + j] > z[i * c + best]) best = j;
    if (best === y[i]) correct++;
  }
  return correct / n;
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
 * gradient and the batch's logs. Everything else the loss reads (labels, teacher logits) is a host
 * array the caller closes over. Against the generic path (a loss function over tensors, its
 * accuracy read back afterwards) this skips the tape's copies of saved inputs, a zero gradient for
 * the labels, the ops that weight loss terms and their gradients, and reading the terms back.
 * `logs` is filled when the forward pass runs (inside `minimize`).
 */
export function hostLoss(
  logits: tf.Tensor,
  compute: (z: Float32Array, n: number, c: number) => HostLossResult,
  logs: Logs,
): tf.Scalar {
  if (logits.rank !== 2 || logits.dtype !== 'float32') {
    throw new Error(`training loss: logits must be float32 [N, C], got ${logits.dtype} [${logits.shape}]`);
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const z = args[0] as tf.Tensor;
    const [n, c] = z.shape;
    const r = compute(z.dataSync() as Float32Array, n, c);
    Object.assign(logs, r.logs);
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

/** Options of {@link fit}. */
export interface FitOptions extends LoopOptions {
  /** The optimizer; kept by the caller, so its state carries over between calls. @default kerasAdam() per call */
  readonly optimizer?: tf.Optimizer;
  /** Hard-label loss over logits, by name or function. @default 'sparse-categorical-crossentropy' */
  readonly loss?: StudentLossName | StudentLossFn;
  /** Evaluated at each epoch's end into `valLoss` and `valAccuracy`. */
  readonly validationData?: readonly [Inputs, Labels];
  /** Batch size of validation. @default 256 */
  readonly validationBatchSize?: number;
  /** What the model outputs; losses take logits, so probabilities are turned into log-probabilities. @default 'logits' */
  readonly outputs?: OutputKind;
}

/**
 * Trains a classifier on integer labels; returns one row per epoch with
 * loss, accuracy and (with validation data) valLoss and valAccuracy.
 * @example const history = await fit(model, x, y, {epochs: 3, batchSize: 32, validationData: [xTest, yTest]});
 */
export async function fit(model: tfl.LayersModel, x: Inputs, y: Labels, options: FitOptions = {}): Promise<History> {
  const numClasses = outputClasses(model);
  const examples = new HostExamples(x, 'x');
  const labels = labelsToInt32(y, examples.count, numClasses, 'y');
  const lossFn = resolveStudentLoss(options.loss ?? 'sparse-categorical-crossentropy');
  const {outputs = 'logits', validationBatchSize = 256} = options;
  checkOutputKind(outputs);
  checkPositiveInteger('validationBatchSize', validationBatchSize);
  const validate = validationFn(model, options.validationData, {batchSize: validationBatchSize, numClasses, lossFn, outputs});
  const ownOptimizer = options.optimizer == null;
  const optimizer = options.optimizer ?? kerasAdam();
  const step = fitStep(model, {optimizer, lossFn, outputs});
  try {
    return await trainLoop(examples, labels, step, {...options, validate});
  } finally {
    if (ownOptimizer) optimizer.dispose();
  }
}

/** What {@link fitStep} trains with. */
export interface FitStepOptions {
  readonly optimizer: tf.Optimizer;
  readonly lossFn: StudentLossFn;
  readonly outputs: OutputKind;
}

/**
 * The training step of {@link fit}: one optimizer update of the model's trainable weights on a
 * batch; returns the batch's loss and accuracy. (Exported for the benchmark, which times it.)
 */
export function fitStep(model: tfl.LayersModel, options: FitStepOptions): StepFn {
  const {optimizer, lossFn, outputs} = options;
  const vars = trainableVariables(model);
  if (lossFn === sparseCategoricalCrossentropy) {
    // The built-in loss: cross-entropy, its gradient and the accuracy in one host pass.
    return ({x: xb, y: yb}) => {
      const labels = yb.dataSync();
      const logs: Logs = {};
      optimizer.minimize(
        () => {
          const out = asLogits(model.apply(xb, {training: true}) as tf.Tensor, outputs);
          return hostLoss(out, (z, n, c) => {
            const {loss, grad} = crossEntropyHost(labels, z, n, c, 1);
            return {loss, grad: grad as Float32Array, logs: {loss, accuracy: hostAccuracy(labels, z, n, c)}};
          }, logs);
        },
        false,
        vars,
      );
      return logs;
    };
  }
  return ({x: xb, y: yb}) => {
    let logits: tf.Tensor | undefined;
    const cost = optimizer.minimize(
      () => {
        const out = asLogits(model.apply(xb, {training: true}) as tf.Tensor, outputs);
        logits = tf.keep(out);
        return lossFn(yb, out);
      },
      true,
      vars,
    );
    try {
      return {loss: (cost as tf.Scalar).dataSync()[0], accuracy: batchAccuracy(yb, logits as tf.Tensor)};
    } finally {
      tf.dispose([cost as tf.Scalar, logits as tf.Tensor]);
    }
  };
}

/** A student-loss name or function, as a function. */
export function resolveStudentLoss(loss: StudentLossName | StudentLossFn): StudentLossFn {
  return typeof loss === 'function' ? loss : studentLosses.get(loss);
}

/** How {@link evaluateExamples} runs a model and scores it. */
export interface EvaluateOptions {
  /** @default 256 */
  readonly batchSize?: number;
  /** @default sparseCategoricalCrossentropy */
  readonly lossFn?: StudentLossFn;
  /** What the model outputs. @default 'logits' */
  readonly outputs?: OutputKind;
}

/** The epoch-end validation of `fit`-like loops, or undefined without validation data. */
export function validationFn(
  model: tfl.LayersModel,
  validationData: readonly [Inputs, Labels] | undefined,
  options: EvaluateOptions & {readonly numClasses: number},
): ValidateFn | undefined {
  if (validationData == null) return undefined;
  const examples = new HostExamples(validationData[0], 'validationData x');
  const labels = labelsToInt32(validationData[1], examples.count, options.numClasses, 'validationData y');
  return () => {
    const r = evaluateExamples(model, examples, labels, options);
    return {valLoss: r.loss, valAccuracy: r.accuracy};
  };
}

/** Mean loss and accuracy of a model on a dataset. */
export interface Evaluation {
  readonly loss: number;
  readonly accuracy: number;
}

/**
 * Mean sparse categorical cross-entropy and accuracy over `x`, run in inference mode (batch
 * norm uses its moving statistics, dropout is off). `options` may be just the batch size.
 * @example const {loss, accuracy} = evaluate(model, xTest, yTest, 256);
 */
export function evaluate(
  model: tfl.LayersModel,
  x: Inputs,
  y: Labels,
  options: number | Omit<EvaluateOptions, 'lossFn'> = {},
): Evaluation {
  const opts = typeof options === 'number' ? {batchSize: options} : options;
  const examples = new HostExamples(x, 'x');
  const labels = labelsToInt32(y, examples.count, outputClasses(model), 'y');
  return evaluateExamples(model, examples, labels, opts);
}

/** {@link evaluate} over examples already in host memory. */
export function evaluateExamples(
  model: tfl.LayersModel,
  examples: HostExamples,
  labels: Int32Array,
  options: EvaluateOptions = {},
): Evaluation {
  const {batchSize = 256, lossFn = sparseCategoricalCrossentropy, outputs = 'logits'} = options;
  checkPositiveInteger('batchSize', batchSize);
  checkOutputKind(outputs);
  let lossSum = 0;
  let correct = 0;
  const n = examples.count;
  if (n === 0) return {loss: NaN, accuracy: NaN};
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(start + batchSize, n);
    const [loss, acc] = tf.tidy(() => {
      const xb = examples.gather(range(start, end));
      const yb = tf.tensor1d(labels.subarray(start, end), 'int32');
      const logits = asLogits(model.apply(xb, {training: false}) as tf.Tensor, outputs);
      return [lossFn(yb, logits).dataSync()[0], batchAccuracy(yb, logits)];
    });
    lossSum += loss * (end - start);
    correct += acc * (end - start);
  }
  return {loss: lossSum / n, accuracy: correct / n};
}

/** Inference speed of a model. */
export interface InferenceSpeed {
  readonly images: number;
  readonly seconds: number;
  readonly imagesPerSecond: number;
}

/**
 * Times inference (`training: false`) over all of `x` in batches, after one warm-up batch.
 * @example measureInference(student, xTest.slice(0, 2048)).imagesPerSecond
 */
export function measureInference(
  model: tfl.LayersModel,
  x: Inputs,
  options: {readonly batchSize?: number; readonly repeats?: number} = {},
): InferenceSpeed {
  const {batchSize = 256, repeats = 1} = options;
  checkPositiveInteger('batchSize', batchSize);
  checkPositiveInteger('repeats', repeats);
  const examples = new HostExamples(x, 'x');
  const n = examples.count;
  // tidy() would walk a returned typed array element by element: read the values outside it.
  const run = (start: number, end: number) => {
    const out = tf.tidy(() => model.apply(examples.gather(range(start, end)), {training: false}) as tf.Tensor);
    out.dataSync();
    out.dispose();
  };
  run(0, Math.min(batchSize, n));
  const t0 = performance.now();
  for (let r = 0; r < repeats; r++) {
    for (let start = 0; start < n; start += batchSize) run(start, Math.min(start + batchSize, n));
  }
  const seconds = (performance.now() - t0) / 1000;
  return {images: n * repeats, seconds, imagesPerSecond: (n * repeats) / Math.max(seconds, 1e-9)};
}

export function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${name} must be a positive integer, got ${value}`);
}
