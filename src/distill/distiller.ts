import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {createPredictor, type Predictor} from '../infer/index.js';
import {asLogits, checkOutputKind, distillationLosses, dkd, logitStandardizedKd} from '../losses/index.js';
import type {DistillationLossFn, DistillationLossName, OutputKind, StudentLossFn, StudentLossName} from '../losses/index.js';
import {HostExamples, labelsToInt32, range} from '../train/examples.js';
import type {Inputs, Labels} from '../train/examples.js';
import {
  checkPositiveInteger,
  createTrainStep,
  evaluateExamples,
  kerasAdam,
  outputClasses,
  resolveStudentLoss,
  shapeString,
  studentLossTerm,
  trainLoop,
  validationFn,
} from '../train/index.js';
import type {Batch, Evaluation, History, LoopOptions, LossTerm, TeacherSource} from '../train/index.js';
import {crossEntropyTerm, type BatchAugmentation} from '../train/augmentation.js';
import {featureTerm, type FeatureLossSpec} from './features.js';
import {UsageError} from '../util/registry.js';

/**
 * A teacher that is not a tfjs model (e.g. an ONNX model run in onnxruntime, trained in another
 * framework): a function from a batch of host inputs to its logits. The Distiller runs it once per
 * example before training and caches the logits, so it never enters the training step.
 */
export interface LogitsTeacher {
  /** Shape of one example (e.g. [28, 28, 1]); must match the student's input. */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  /** Logits `[count × numClasses]` of `count` examples laid out as `inputShape` rows. */
  logits(x: Float32Array, count: number): Promise<Float32Array>;
}

function isLogitsTeacher(t: Teacher): t is LogitsTeacher {
  return typeof (t as LogitsTeacher).logits === 'function';
}

function isEnsemble(t: Teacher): t is readonly tfl.LayersModel[] {
  return Array.isArray(t);
}

/**
 * The teacher of a distillation: a trained tfjs model; several, an ensemble whose logits are
 * averaged (Hinton et al., "Distilling the Knowledge in a Neural Network", 2015, distil an ensemble
 * into one model); or a {@link LogitsTeacher}.
 */
export type Teacher = tfl.LayersModel | readonly tfl.LayersModel[] | LogitsTeacher;

/** The two models of a distillation. */
export interface DistillerModels {
  /**
   * Trained already; frozen during distillation. An array is an ensemble: the teacher's logits are
   * the mean of its members' logits. A LogitsTeacher gives logits (teacherOutputs is ignored).
   */
  readonly teacher: Teacher;
  /** Trained by `fit`. */
  readonly student: tfl.LayersModel;
  /** What the teacher outputs; never guessed from its layers. @default 'logits' */
  readonly teacherOutputs?: OutputKind;
  /** What the student outputs. @default 'logits' */
  readonly studentOutputs?: OutputKind;
}

/** Options of {@link Distiller.compile}, as in the Keras example. */
export interface DistillerCompileOptions {
  /** Updates the student's weights. @default kerasAdam() — Adam(1e-3, ε = 1e-7) */
  readonly optimizer?: tf.Optimizer;
  /** Metrics reported on training and validation data; only 'accuracy' exists. @default ['accuracy'] */
  readonly metrics?: readonly 'accuracy'[];
  /** Hard-label loss on the student's logits. @default 'sparse-categorical-crossentropy' */
  readonly studentLossFn?: StudentLossName | StudentLossFn;
  /** Soft-target loss between teacher and student logits. @default 'kl' */
  readonly distillationLossFn?: DistillerLossName | DistillationLossFn;
  /** Weight of the student loss; the distillation loss gets 1 − alpha. @default 0.1 */
  readonly alpha?: number;
  /** Softening temperature of the distillation loss. @default 3 */
  readonly temperature?: number;
  /** DKD's weights of its target-class (alpha) and non-target-class (beta) terms, for `distillationLossFn: 'dkd'`. @default {alpha: 1, beta: 8} */
  readonly dkd?: {readonly alpha?: number; readonly beta?: number};
  /** Label smoothing ε of the hard-label loss, in [0, 1) (built-in loss only). @default 0 */
  readonly labelSmoothing?: number;
  /**
   * Feature losses on named layers (FitNets hints, attention transfer), added to the objective
   * with their own weights. Layers and shapes are checked here.
   * @example featureLosses: [{kind: 'hint', studentLayer: 'conv2', teacherLayer: 'relu4'}]
   */
  readonly featureLosses?: readonly FeatureLossSpec[];
}

/**
 * What the teacher sees when the student's inputs are augmented. 'same': the student's augmented
 * batch, one teacher forward pass per step ("function matching", Beyer et al., "Knowledge
 * distillation: A good teacher is patient and consistent", CVPR 2022). 'clean': the unaugmented
 * example, whose logits are computed once and cached.
 */
export type TeacherView = 'same' | 'clean';

/** Distillation losses by name: kl, mse (src/losses) and dkd, lskd (src/losses/kd_losses.ts). */
export type DistillerLossName = DistillationLossName | 'dkd' | 'lskd';

/** Options of {@link Distiller.fit}. */
export interface DistillerFitOptions extends LoopOptions {
  /** Evaluated (student only) at each epoch's end into `valLoss` and `valAccuracy`. */
  readonly validationData?: readonly [Inputs, Labels];
  /** Batch size of validation and of teacher-logit caching. @default 256 */
  readonly evalBatchSize?: number;
  /**
   * Run the teacher once per example before training and reuse its logits every epoch. Only
   * valid without `augment` (the teacher must see the augmented inputs).
   * @default true without augment, false with it
   */
  readonly cacheTeacherLogits?: boolean;
  /** What the teacher sees of an augmented batch. @default 'same' */
  readonly teacherView?: TeacherView;
  /** Augmentation whose mixup/cutmix label mix the hard-label loss trains on (sets `augment`). */
  readonly augmentation?: BatchAugmentation;
}

/** The terms of the distillation objective for one batch. */
export interface DistillerLossTerms {
  readonly loss: tf.Scalar;
  readonly studentLoss: tf.Scalar;
  readonly distillationLoss: tf.Scalar;
}

/**
 * `alpha · studentLoss(labels, studentLogits) + (1 − alpha) · distillationLoss(teacherLogits,
 * studentLogits, T)` — the Keras example's objective (Hinton et al. 2015 with alpha = 0.1).
 */
export function distillerLoss(
  labels: tf.Tensor,
  teacherLogits: tf.Tensor,
  studentLogits: tf.Tensor,
  config: {
    readonly alpha: number;
    readonly temperature: number;
    readonly studentLossFn: StudentLossFn;
    readonly distillationLossFn: DistillationLossFn;
  },
): DistillerLossTerms {
  const studentLoss = config.studentLossFn(labels, studentLogits);
  const distillationLoss = config.distillationLossFn(teacherLogits, studentLogits, config.temperature);
  const loss = tf.tidy(() => tf.add(tf.mul(studentLoss, config.alpha), tf.mul(distillationLoss, 1 - config.alpha)));
  return {loss: loss as tf.Scalar, studentLoss, distillationLoss};
}

interface Compiled {
  readonly studentLoss: StudentLossName | StudentLossFn;
  readonly distillationLoss: DistillerLossName | DistillationLossFn;
  readonly dkd: {readonly alpha: number; readonly beta: number};
  readonly labelSmoothing: number;
  readonly featureLosses: readonly FeatureLossSpec[];
  readonly optimizer: tf.Optimizer;
  readonly ownsOptimizer: boolean;
  readonly metrics: readonly 'accuracy'[];
  readonly studentLossFn: StudentLossFn;
  readonly distillationLossFn: DistillationLossFn;
  readonly alpha: number;
  readonly temperature: number;
}

/**
 * Knowledge distillation as in the Keras example "Knowledge Distillation" (Kenneth Borup):
 * trains the student on `alpha · hard-label loss + (1 − alpha) · distillation loss` against a
 * frozen teacher.
 * @example
 * const d = new Distiller({teacher, student});
 * d.compile({alpha: 0.1, temperature: 10});
 * const history = await d.fit(x, y, {epochs: 3, batchSize: 32});
 */
export class Distiller {
  readonly teacher: Teacher;
  /** The tfjs teacher models (one, or an ensemble's members); empty for a LogitsTeacher. */
  private readonly members: readonly tfl.LayersModel[];
  readonly student: tfl.LayersModel;
  readonly teacherOutputs: OutputKind;
  readonly studentOutputs: OutputKind;
  private compiled: Compiled | null = null;

  constructor(models: DistillerModels) {
    const {teacher, student, teacherOutputs = 'logits', studentOutputs = 'logits'} = models;
    checkOutputKind(teacherOutputs);
    checkOutputKind(studentOutputs);
    const external = isLogitsTeacher(teacher);
    const members = external ? [] : isEnsemble(teacher) ? [...teacher] : [teacher];
    if (!external && members.length === 0) throw new UsageError('a teacher ensemble needs at least one model, got an empty array');
    const s = student.outputs.map((o) => shapeString(o.shape));
    const si = student.inputs.map((i) => shapeString(i.shape));
    const shapes = external
      ? [{name: 'teacher', t: [shapeString([null, teacher.numClasses])], ti: [shapeString([null, ...teacher.inputShape])]}]
      : members.map((m, i) => ({name: members.length > 1 ? `teacher ${i} of the ensemble` : 'teacher',
        t: m.outputs.map((o) => shapeString(o.shape)), ti: m.inputs.map((o) => shapeString(o.shape))}));
    for (const {name, t, ti} of shapes) {
      if (t.length !== 1 || s.length !== 1 || t[0] !== s[0]) {
        throw new UsageError(`${name} output shape [${t.join('; ')}] does not match student output shape [${s.join('; ')}]`);
      }
      if (ti.length !== 1 || si.length !== 1 || ti[0] !== si[0]) {
        throw new UsageError(`${name} input shape [${ti.join('; ')}] does not match student input shape [${si.join('; ')}]`);
      }
    }
    outputClasses(student, 'student');
    this.teacher = teacher;
    this.members = members;
    this.student = student;
    this.teacherOutputs = teacherOutputs;
    this.studentOutputs = studentOutputs;
  }

  /** Sets the optimizer, losses and their weighting; validates alpha and temperature. */
  compile(options: DistillerCompileOptions = {}): void {
    const {
      metrics = ['accuracy'],
      studentLossFn = 'sparse-categorical-crossentropy',
      distillationLossFn = 'kl',
      alpha = 0.1,
      temperature = 3,
    } = options;
    if (!(alpha >= 0 && alpha <= 1)) throw new UsageError(`alpha must be in [0, 1], got ${alpha}`);
    if (!(temperature > 0) || !Number.isFinite(temperature)) {
      throw new UsageError(`temperature must be a finite number > 0, got ${temperature}`);
    }
    for (const m of metrics) {
      if (m !== 'accuracy') throw new UsageError(`unknown metric "${String(m)}"; expected accuracy`);
    }
    const studentLoss = resolveStudentLoss(studentLossFn);
    const distillationLoss = resolveDistillationLoss(distillationLossFn);
    const dkd = {alpha: options.dkd?.alpha ?? 1, beta: options.dkd?.beta ?? 8};
    for (const [k, v] of Object.entries(dkd)) {
      if (!(v >= 0) || !Number.isFinite(v)) throw new UsageError(`DKD ${k} must be a finite number >= 0, got ${v}`);
    }
    const featureLosses = options.featureLosses ?? [];
    // Names unknown layers and unmatched shapes now, not at fit.
    if (featureLosses.length > 0 && isLogitsTeacher(this.teacher)) {
      throw new UsageError('feature losses read the teacher\'s layers: they need a tfjs teacher, not a logits teacher (e.g. an ONNX model)');
    }
    if (featureLosses.length > 0 && this.members.length > 1) {
      throw new UsageError(`feature losses read one teacher's layers: the teacher is an ensemble of ${this.members.length} models`);
    }
    for (const f of featureLosses) featureTerm(this.members[0], this.student, f, 0).dispose();
    const labelSmoothing = options.labelSmoothing ?? 0;
    if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw new UsageError(`label smoothing must be in [0, 1), got ${labelSmoothing}`);
    this.disposeOwnOptimizer();
    this.compiled = {
      studentLoss: studentLossFn,
      distillationLoss: distillationLossFn,
      optimizer: options.optimizer ?? kerasAdam(),
      ownsOptimizer: options.optimizer == null,
      metrics,
      studentLossFn: studentLoss,
      distillationLossFn: distillationLoss,
      alpha,
      temperature,
      dkd,
      labelSmoothing,
      featureLosses,
    };
  }

  /**
   * Distills the teacher into the student. History rows hold loss, studentLoss,
   * distillationLoss, accuracy and, with validation data, valLoss and valAccuracy.
   *
   * Keras: the teacher's logits are by default computed once per example before training and
   * reused every epoch (the teacher is frozen and in inference mode, so they cannot change);
   * Keras recomputes them each step. `cacheTeacherLogits: false` does the same as Keras.
   */
  async fit(x: Inputs, y: Labels, options: DistillerFitOptions = {}): Promise<History> {
    const c = this.requireCompiled('fit');
    const {evalBatchSize = 256, augmentation, teacherView = 'same'} = options;
    if (teacherView !== 'same' && teacherView !== 'clean') {
      throw new UsageError(`teacherView must be 'same' or 'clean', got '${String(teacherView)}'`);
    }
    const augment = augmentation?.augment ?? options.augment;
    checkPositiveInteger('evalBatchSize', evalBatchSize);
    const cache = options.cacheTeacherLogits ?? (augment == null || teacherView === 'clean');
    if (cache && augment != null && teacherView === 'same') {
      throw new UsageError("cacheTeacherLogits needs teacherView 'clean' with augment: under 'same' the teacher sees each augmented batch");
    }
    if (!cache && isLogitsTeacher(this.teacher)) {
      throw new UsageError('a logits teacher (e.g. an ONNX model) is run once per example: it needs cacheTeacherLogits and no augment');
    }
    const numClasses = outputClasses(this.student, 'student');
    const examples = new HostExamples(x, 'x');
    const labels = labelsToInt32(y, examples.count, numClasses, 'y');
    // Keras: validation reports the student's hard-label loss as valLoss, as the example's test_step does.
    const validate = validationFn(this.student, options.validationData, {
      batchSize: evalBatchSize,
      numClasses,
      lossFn: c.studentLossFn,
      outputs: this.studentOutputs,
    });
    // The teacher is frozen: one fused predictor per model (its weights as of now) serves the cache or every step.
    const fused = this.members.map((m) => createPredictor(m));
    const cached = cache ? await this.teacherLogits(examples, evalBatchSize, fused) : null;
    const teacher: TeacherSource = cached
      ? (batch: Batch) => gatherRows(cached, numClasses, batch.indices)
      : (batch: Batch) => this.teacherValues(batch.x, fused);
    // compile() refused feature losses for a logits teacher and an ensemble.
    const features = c.featureLosses.map((f, i) => featureTerm(this.members[0], this.student, f, (options.seed ?? 0) + i));
    const step = createTrainStep({
      model: this.student,
      optimizer: c.optimizer,
      outputs: this.studentOutputs,
      teacher,
      hooks: options.hooks,
      accuracy: c.metrics.includes('accuracy'),
      terms: [
        typeof c.studentLoss === 'string' && (c.labelSmoothing > 0 || augmentation != null)
          ? crossEntropyTerm({augmentation, labelSmoothing: c.labelSmoothing, weight: c.alpha, name: 'studentLoss'})
          : studentLossTerm(c.studentLoss, c.alpha, 'studentLoss'),
        distillationTerm(c.distillationLoss, c, 1 - c.alpha),
        ...features.map((f) => f.term),
      ],
    });
    try {
      return await trainLoop(examples, labels, step, {...options, augment, model: this.student, optimizer: c.optimizer, validate});
    } finally {
      for (const f of features) f.dispose();
    }
  }

  /** The student's hard-label loss and accuracy on `x`, in inference mode. */
  evaluate(x: Inputs, y: Labels, batchSize = 256): Evaluation {
    const c = this.requireCompiled('evaluate');
    checkPositiveInteger('batchSize', batchSize);
    const examples = new HostExamples(x, 'x');
    const labels = labelsToInt32(y, examples.count, outputClasses(this.student, 'student'), 'y');
    return evaluateExamples(this.student, examples, labels, {batchSize, lossFn: c.studentLossFn, outputs: this.studentOutputs});
  }

  /** The student's outputs for `x` (logits or probabilities, as the student gives them). */
  predict(x: tf.Tensor, batchSize = 256): tf.Tensor {
    return createPredictor(this.student).predict(x, batchSize);
  }

  /** Frees the optimizer the Distiller created (not one passed to `compile`). */
  dispose(): void {
    this.disposeOwnOptimizer();
    this.compiled = null;
  }

  /**
   * The teacher's logits for `x` (inference mode) through its fused predictors: an ensemble's are
   * the mean of its members' logits.
   */
  private runTeacher(x: tf.Tensor, fused: readonly Predictor[]): tf.Tensor {
    return tf.tidy(() => {
      const logits = fused.map((p) => asLogits(p.predict(x, x.shape[0]), this.teacherOutputs));
      return logits.length === 1 ? logits[0] : tf.div(tf.addN(logits), logits.length);
    });
  }

  /** The teacher's logits for `x` as a host array. */
  private teacherValues(x: tf.Tensor, fused: readonly Predictor[]): Float32Array {
    const t = this.runTeacher(x, fused);
    try {
      return (t.dataSync() as Float32Array).slice(); // a copy: the backend may reuse a disposed tensor's memory
    } finally {
      t.dispose();
    }
  }

  /** Teacher logits of every example, `[count × classes]`, computed in inference batches. */
  private async teacherLogits(examples: HostExamples, batchSize: number, fused: readonly Predictor[]): Promise<Float32Array> {
    const teacher = this.teacher;
    const c = isLogitsTeacher(teacher) ? teacher.numClasses : outputClasses(this.members[0], 'teacher');
    const out = new Float32Array(examples.count * c);
    for (let start = 0; start < examples.count; start += batchSize) {
      const end = Math.min(start + batchSize, examples.count);
      let values: ArrayLike<number>;
      if (isLogitsTeacher(teacher)) {
        const xb = examples.gather(range(start, end));
        const rows = xb.dataSync() as Float32Array;
        xb.dispose();
        values = await teacher.logits(rows, end - start);
        if (values.length !== (end - start) * c) {
          throw new UsageError(`teacher gave ${values.length} logits for ${end - start} examples, expected ${(end - start) * c}`);
        }
      } else {
        values = tf.tidy(() => this.runTeacher(examples.gather(range(start, end)), fused).dataSync());
      }
      out.set(values, start * c);
    }
    return out;
  }

  private requireCompiled(what: string): Compiled {
    if (this.compiled == null) throw new UsageError(`call compile() before ${what}()`);
    return this.compiled;
  }

  private disposeOwnOptimizer(): void {
    if (this.compiled?.ownsOptimizer) this.compiled.optimizer.dispose();
  }
}

/**
 * The distillation loss as an engine term: a built-in name becomes its descriptor (fused on the
 * host), a function a custom term.
 */
function distillationTerm(loss: DistillerLossName | DistillationLossFn, c: Compiled, weight: number): LossTerm {
  const name = 'distillationLoss';
  const {temperature} = c;
  if (typeof loss === 'function') {
    return {kind: 'custom', name, weight, fn: ({teacherLogits, logits}) => loss(teacherLogits as tf.Tensor, logits, temperature)};
  }
  if (loss === 'dkd') {
    const opts = {...c.dkd, temperature};
    return {kind: 'custom', name, weight, fn: ({labels, teacherLogits, logits}) => dkd(labels, teacherLogits as tf.Tensor, logits, opts)};
  }
  if (loss === 'lskd') {
    return {kind: 'custom', name, weight, fn: ({teacherLogits, logits}) => logitStandardizedKd(teacherLogits as tf.Tensor, logits, {temperature})};
  }
  distillationLosses.get(loss); // names an unknown loss
  return loss === 'kl' ? {kind: 'kl', temperature, weight, name} : {kind: 'mse', weight, name};
}

/** Names of every distillation loss the Distiller takes. */
export const DISTILLER_LOSSES: readonly DistillerLossName[] = ['kl', 'mse', 'dkd', 'lskd'];

/** A distillation-loss name or function as a function of (teacher, student, T); names an unknown loss. */
function resolveDistillationLoss(loss: DistillerLossName | DistillationLossFn): DistillationLossFn {
  if (typeof loss === 'function') return loss;
  if (loss === 'dkd') return () => { throw new Error('dkd needs labels; it runs as an engine term'); };
  if (loss === 'lskd') return (t, s, T) => logitStandardizedKd(t, s, {temperature: T});
  if (!distillationLosses.has(loss)) {
    throw new UsageError(`unknown distillation loss "${String(loss)}"; expected one of ${DISTILLER_LOSSES.join(', ')}`);
  }
  return distillationLosses.get(loss);
}

/** Rows `indices` of a [rows, width] array. */
function gatherRows(values: Float32Array, width: number, indices: Int32Array): Float32Array {
  const out = new Float32Array(indices.length * width);
  for (let i = 0; i < indices.length; i++) {
    const s = indices[i] * width;
    out.set(values.subarray(s, s + width), i * width);
  }
  return out;
}
