import * as tf from '@tensorflow/tfjs-core';

import {createRegistry, UsageError} from '../util/registry.js';
import {crossEntropyHost, distillationKLHost} from './host_kernels.js';

/** Keras' `backend.epsilon()`: the clip applied to probabilities before taking logs. */
export const KERAS_EPSILON = 1e-7;

/**
 * Sparse categorical cross-entropy from logits, averaged over the batch:
 * `mean_n( -log softmax(logits_n)[labels_n] )`.
 *
 * Keras: `SparseCategoricalCrossentropy(from_logits=True)`; PyTorch: `F.cross_entropy`.
 * Uses log-softmax, so large logits cannot overflow. Forward and gradient run as one host
 * kernel (see host_kernels.ts): the logits are read back, which costs nothing on the cpu and
 * native backends.
 *
 * @param labels class indices, shape [N] (int32, or float32 holding integers).
 * @param logits unnormalized scores, shape [N, C].
 * @example sparseCategoricalCrossentropy(tf.tensor1d([2], 'int32'), tf.tensor2d([[1, 2, 3]]))
 */
export function sparseCategoricalCrossentropy(labels: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  checkRank2('sparseCategoricalCrossentropy', 'logits', logits);
  if (labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new Error(
      `sparseCategoricalCrossentropy: labels must have shape [${logits.shape[0]}], got [${labels.shape}]`,
    );
  }
  return crossEntropyOp(labels, logits);
}

const crossEntropyOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [labels, logits, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  const [n, c] = logits.shape;
  save([labels, logits]);
  const {loss} = crossEntropyHost(labels.dataSync(), logits.dataSync(), n, c);
  return {
    value: tf.scalar(loss),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const {grad} = crossEntropyHost(saved[0].dataSync(), saved[1].dataSync(), n, c, dy.dataSync()[0]);
      return [tf.zerosLike(saved[0]), tf.tensor2d(grad as Float32Array, [n, c])];
    },
  };
});

/** Options of {@link klDivergence}. */
export interface KlDivergenceOptions {
  /** Both distributions are clipped to [epsilon, 1] before the log, as Keras does. @default 1e-7 */
  readonly epsilon?: number;
}

/**
 * Kullback–Leibler divergence between two batches of probability distributions,
 * `mean_n( Σ_c p_nc · log(p_nc / q_nc) )`, summed over classes and averaged over the batch
 * like Keras' `KLDivergence()` (including its clip of p and q to [epsilon, 1]).
 *
 * @param p target distribution ("y_true"), shape [N, C], rows summing to 1.
 * @param q approximating distribution ("y_pred"), shape [N, C].
 * @example klDivergence(tf.tensor2d([[0.5, 0.5]]), tf.tensor2d([[0.9, 0.1]]))
 */
export function klDivergence(p: tf.Tensor, q: tf.Tensor, options: KlDivergenceOptions = {}): tf.Scalar {
  const {epsilon = KERAS_EPSILON} = options;
  checkSameShape('klDivergence', p, q);
  return tf.tidy(() => {
    const pc = tf.clipByValue(p, epsilon, 1);
    const qc = tf.clipByValue(q, epsilon, 1);
    return tf.mean(tf.sum(tf.mul(pc, tf.log(tf.div(pc, qc))), -1));
  });
}

/**
 * The distillation term of Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural
 * Network" (2015): `T² · KL( softmax(t/T) ‖ softmax(s/T) )`, summed over classes and averaged
 * over the batch, as the Keras example's Distiller computes it with `KLDivergence()`.
 * The T² factor keeps the gradient's scale independent of the temperature.
 *
 * Keras: computed from log-softmax rather than by clipping softmax outputs to [1e-7, 1], so a
 * student probability below 1e-7 still gets a gradient. Values agree wherever no probability
 * falls below 1e-7. Forward and gradients run as one host kernel, like
 * {@link sparseCategoricalCrossentropy}'s.
 *
 * @param teacherLogits shape [N, C]; the target (its gradient is exact too, though the
 *   Distiller never asks for it).
 * @param studentLogits shape [N, C].
 * @param temperature softening temperature T > 0 (the Keras example's default is 3, its run uses 10).
 * @example distillationKL(teacherLogits, studentLogits, 3)
 */
export function distillationKL(teacherLogits: tf.Tensor, studentLogits: tf.Tensor, temperature: number): tf.Scalar {
  checkSameShape('distillationKL', teacherLogits, studentLogits);
  checkTemperature(temperature);
  return distillationKLOp(temperature)(teacherLogits, studentLogits);
}

const klOps = new Map<number, (teacher: tf.Tensor, student: tf.Tensor) => tf.Scalar>();

/** Forward and both gradients as one host kernel (host_kernels.ts), one op per temperature. */
function distillationKLOp(T: number): (teacher: tf.Tensor, student: tf.Tensor) => tf.Scalar {
  let op = klOps.get(T);
  if (op == null) {
    op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [teacher, student, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const [n, c] = teacher.shape;
      save([teacher, student]);
      const {loss} = distillationKLHost(teacher.dataSync(), student.dataSync(), n, c, T);
      return {
        value: tf.scalar(loss),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const g = distillationKLHost(saved[0].dataSync(), saved[1].dataSync(), n, c, T, dy.dataSync()[0]);
          return [tf.tensor2d(g.gradTeacher as Float32Array, [n, c]), tf.tensor2d(g.gradStudent as Float32Array, [n, c])];
        },
      };
    });
    klOps.set(T, op);
  }
  return op;
}

/**
 * Mean squared difference of logits, `mean_{n,c} (s_nc − t_nc)²` — the distillation loss the
 * seed article describes (Ba & Caruana, "Do Deep Nets Really Need to be Deep?", 2014, regress
 * the teacher's logits). PyTorch: `F.mse_loss(student, teacher)`. Has no temperature.
 *
 * @example distillationMSE(teacherLogits, studentLogits)
 */
export function distillationMSE(teacherLogits: tf.Tensor, studentLogits: tf.Tensor): tf.Scalar {
  checkSameShape('distillationMSE', teacherLogits, studentLogits);
  return tf.tidy(() => tf.mean(tf.squaredDifference(studentLogits, teacherLogits)));
}

/**
 * What a model's output holds: raw scores ('logits') or a softmax over them ('probabilities').
 * Always stated by the caller, never inferred from layer names or activations.
 */
export type OutputKind = 'logits' | 'probabilities';

/**
 * Logits for the losses, which all take logits: probabilities become log-probabilities
 * (clipped at 1e-7 like Keras), and softmax of log p is p again, so cross-entropy and KL see the
 * same distributions. (The 'mse' loss then compares log-probabilities, which differ from the
 * logits by one constant per row.)
 */
export function asLogits(outputs: tf.Tensor, kind: OutputKind): tf.Tensor {
  if (kind === 'logits') return outputs;
  checkOutputKind(kind);
  return tf.tidy(() => tf.log(tf.clipByValue(outputs, KERAS_EPSILON, 1)));
}

export function checkOutputKind(kind: string): void {
  if (kind !== 'logits' && kind !== 'probabilities') {
    throw new UsageError(`outputs must be 'logits' or 'probabilities', got '${kind}'`);
  }
}

/** A hard-label loss: integer labels [N] and the student's logits [N, C] → scalar. */
export type StudentLossFn = (labels: tf.Tensor, studentLogits: tf.Tensor) => tf.Scalar;

/**
 * A distillation loss over logits: teacher logits [N, C] (a constant), student logits [N, C]
 * and the temperature → scalar. Losses that soften with a softmax do it themselves.
 */
export type DistillationLossFn = (teacherLogits: tf.Tensor, studentLogits: tf.Tensor, temperature: number) => tf.Scalar;

/** Names of the built-in student losses. */
export type StudentLossName = 'sparse-categorical-crossentropy';
/** Names of the built-in distillation losses. */
export type DistillationLossName = 'kl' | 'mse';

/** Hard-label losses by name. */
export const studentLosses = createRegistry<StudentLossFn>('student loss');
studentLosses.register('sparse-categorical-crossentropy', sparseCategoricalCrossentropy);

/** Distillation losses by name: 'kl' (Hinton et al., T²-scaled) and 'mse' (logit regression). */
export const distillationLosses = createRegistry<DistillationLossFn>('distillation loss');
distillationLosses.register('kl', distillationKL);
distillationLosses.register('mse', (t, s) => distillationMSE(t, s));

function checkRank2(fn: string, what: string, x: tf.Tensor): void {
  if (x.rank !== 2) throw new Error(`${fn}: ${what} must have rank 2 [N, C], got shape [${x.shape}]`);
}

function checkSameShape(fn: string, a: tf.Tensor, b: tf.Tensor): void {
  checkRank2(fn, 'inputs', a);
  if (a.shape[0] !== b.shape[0] || a.shape[1] !== b.shape[1] || b.rank !== 2) {
    throw new Error(`${fn}: shapes must match, got [${a.shape}] and [${b.shape}]`);
  }
}

function checkTemperature(temperature: number): void {
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new UsageError(`temperature must be a finite number > 0, got ${temperature}`);
  }
}
