// Training and evaluating a classifier: `fit` (a thin use of the engine), evaluation, inference speed.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {createPredictor} from '../infer/index.js';
import {asLogits, checkOutputKind, sparseCategoricalCrossentropy, studentLosses} from '../losses/index.js';
import type {OutputKind, StudentLossFn, StudentLossName} from '../losses/index.js';
import {UsageError} from '../util/registry.js';
import {HostAdam} from './adam.js';
import {batchAccuracy, checkPositiveInteger, createTrainStep, trainableVariables, trainLoop} from './engine.js';
import type {History, LoopOptions, LossTerm, Logs, StepFn, TrainHook, ValidateFn} from './engine.js';
import {HostExamples, labelsToInt32, range} from './examples.js';
import type {Inputs, Labels} from './examples.js';

/**
 * Adam with Keras' defaults: learning rate 1e-3, β1 0.9, β2 0.999, ε 1e-7 (PyTorch's ε is 1e-8);
 * the update of `tf.train.adam(lr, 0.9, 0.999, 1e-7)`, fused on the host ({@link HostAdam}).
 */
export function kerasAdam(learningRate = 1e-3): HostAdam {
  return new HostAdam({learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-7});
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
  /**
   * The training loss as an engine term instead of `loss` (validation still reports `loss`), e.g.
   * `crossEntropyTerm({augmentation, labelSmoothing: 0.1})` for mixup or label smoothing.
   */
  readonly lossTerm?: LossTerm;
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
  const loss = options.loss ?? 'sparse-categorical-crossentropy';
  const lossFn = resolveStudentLoss(loss);
  const {outputs = 'logits', validationBatchSize = 256} = options;
  checkOutputKind(outputs);
  checkPositiveInteger('validationBatchSize', validationBatchSize);
  const validate = validationFn(model, options.validationData, {batchSize: validationBatchSize, numClasses, lossFn, outputs});
  const ownOptimizer = options.optimizer == null;
  const optimizer = options.optimizer ?? kerasAdam();
  const step = options.lossTerm
    ? createTrainStep({model, optimizer, outputs, hooks: options.hooks, terms: [options.lossTerm]})
    : fitStep(model, {optimizer, loss, outputs, hooks: options.hooks});
  try {
    return await trainLoop(examples, labels, step, {...options, model, optimizer, validate});
  } finally {
    if (ownOptimizer) optimizer.dispose();
  }
}

/** What {@link fitStep} trains with. */
export interface FitStepOptions {
  readonly optimizer: tf.Optimizer;
  readonly loss: StudentLossName | StudentLossFn;
  readonly outputs: OutputKind;
  readonly hooks?: readonly TrainHook[];
}

/**
 * The hard-label loss as an engine term: a built-in name becomes its descriptor (fused on the
 * host), a function a custom term (the tape differentiates it).
 */
export function studentLossTerm(loss: StudentLossName | StudentLossFn, weight = 1, name?: string): LossTerm {
  if (typeof loss === 'string') {
    studentLosses.get(loss); // names an unknown loss
    return {kind: 'cross-entropy', weight, name};
  }
  return {kind: 'custom', name: name ?? '', weight, fn: ({labels, logits}) => loss(labels, logits)};
}

/**
 * The training step of {@link fit}: one optimizer update of the model's trainable weights on a
 * batch; returns the batch's loss and accuracy. (Exported for the benchmark, which times it.)
 */
export function fitStep(model: tfl.LayersModel, options: FitStepOptions): StepFn {
  const {optimizer, loss, outputs, hooks} = options;
  return createTrainStep({model, optimizer, outputs, hooks, terms: [studentLossTerm(loss)]});
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
  // The fused predictor (batch norm folded, activations fused) of the weights as they are now.
  const fused = createPredictor(model, {batchSize});
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(start + batchSize, n);
    const [loss, acc] = tf.tidy(() => {
      const xb = examples.gather(range(start, end));
      const yb = tf.tensor1d(labels.subarray(start, end), 'int32');
      const logits = asLogits(fused.predict(xb, batchSize), outputs);
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
 * Times inference (`training: false`, through the fused predictor of `createPredictor`) over all
 * of `x` in batches, after one warm-up batch.
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
  const fused = createPredictor(model, {batchSize});
  // tidy() would walk a returned typed array element by element: read the values outside it.
  const run = (start: number, end: number) => {
    const out = tf.tidy(() => fused.predict(examples.gather(range(start, end)), batchSize));
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

export {batchAccuracy, checkPositiveInteger, trainableVariables};
export type {Logs, History};
