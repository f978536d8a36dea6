// Knowledge-distillation losses beyond Hinton's KD: each a pure host function over logits
// [n, c] (float64 accumulation) returning the loss and d loss / d student logits, plus a tensor
// version built from tfjs ops (the reference its gradient is tested against, and what a user
// term may call inside a tape).
import * as tf from '@tensorflow/tfjs-core';

import {UsageError} from '../util/registry.js';

/** A loss value and its gradient with respect to the student's logits, [n, c]. */
export interface HostLossValue {
  readonly loss: number;
  readonly grad: Float32Array;
}

/** log-sum-exp of `z[o..o+c)·invT`, skipping index `skip` (−1: none). */
function lse(z: ArrayLike<number>, o: number, c: number, invT: number, skip: number): number {
  let max = -Infinity;
  for (let j = 0; j < c; j++) if (j !== skip) max = Math.max(max, z[o + j] * invT);
  let s = 0;
  for (let j = 0; j < c; j++) if (j !== skip) s += Math.exp(z[o + j] * invT - max);
  return max + Math.log(s);
}

function checkLabel(y: number, i: number, c: number): void {
  if (!(Number.isInteger(y) && y >= 0 && y < c)) throw new Error(`label ${y} at row ${i} is not a class index in [0, ${c})`);
}

/** Options of {@link dkdHost}; defaults are the paper's CIFAR-100 values. */
export interface DkdOptions {
  /** Weight of TCKD. @default 1 */
  readonly alpha?: number;
  /** Weight of NCKD. @default 8 */
  readonly beta?: number;
  /** Temperature. @default 4 */
  readonly temperature?: number;
}

/**
 * Decoupled Knowledge Distillation (Zhao, Cui, Song, Qiu & Liang, "Decoupled Knowledge
 * Distillation", CVPR 2022). With p = softmax(t/T), q = softmax(s/T) and y the label:
 * - TCKD = KL([p_y, 1 − p_y] ‖ [q_y, 1 − q_y]), the binary target-vs-rest distributions;
 * - NCKD = KL(p̂ ‖ q̂), p̂ and q̂ the softmax over the non-target classes only;
 * - DKD = T² · mean_n (α·TCKD + β·NCKD).
 * Classic KD is TCKD + (1 − p_y)·NCKD: DKD frees NCKD from the (1 − p_y) factor that silences it
 * exactly where the teacher is confident. Defaults α 1, β 8, T 4 (the paper's CIFAR-100 setting;
 * its code also ramps the loss in over 20 epochs, which is left to a schedule).
 * Gradient w.r.t. s (z = s/T, scale T/n): TCKD gives q_y − p_y at y and q_j·(p_y − q_y)/(1 − q_y)
 * elsewhere; NCKD gives q̂_j − p̂_j off the target and 0 at it.
 * @example dkdHost(labels, teacherLogits, studentLogits, 2, 3, {alpha: 1, beta: 8, temperature: 4})
 */
export function dkdHost(
  labels: ArrayLike<number>,
  teacher: ArrayLike<number>,
  student: ArrayLike<number>,
  n: number,
  c: number,
  options: DkdOptions = {},
): HostLossValue & {readonly tckd: number; readonly nckd: number} {
  const {alpha = 1, beta = 8, temperature: T = 4} = options;
  const invT = 1 / T;
  const grad = new Float32Array(n * c);
  const scale = T / n;
  let tckd = 0;
  let nckd = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    checkLabel(y, i, c);
    const o = i * c;
    const lt = lse(teacher, o, c, invT, -1);
    const ls = lse(student, o, c, invT, -1);
    const ltn = lse(teacher, o, c, invT, y);
    const lsn = lse(student, o, c, invT, y);
    // log p_y, log(1 − p_y) = lse_nontarget − lse, likewise for q.
    const lpy = teacher[o + y] * invT - lt;
    const lpo = ltn - lt;
    const lqy = student[o + y] * invT - ls;
    const lqo = lsn - ls;
    const py = Math.exp(lpy);
    const po = Math.exp(lpo);
    const qy = Math.exp(lqy);
    const qo = Math.exp(lqo);
    tckd += py * (lpy - lqy) + po * (lpo - lqo);
    let kl = 0;
    for (let j = 0; j < c; j++) {
      if (j === y) continue;
      const lph = teacher[o + j] * invT - ltn;
      const lqh = student[o + j] * invT - lsn;
      const ph = Math.exp(lph);
      kl += ph * (lph - lqh);
      const qj = Math.exp(student[o + j] * invT - ls);
      const gT = qo > 0 ? (qj * (py - qy)) / qo : 0;
      grad[o + j] = (alpha * gT + beta * (Math.exp(lqh) - ph)) * scale;
    }
    nckd += kl;
    grad[o + y] = alpha * (qy - py) * scale;
  }
  tckd = (tckd / n) * T * T;
  nckd = (nckd / n) * T * T;
  return {loss: alpha * tckd + beta * nckd, grad, tckd, nckd};
}

/** {@link dkdHost} from tfjs ops (labels int32 [n]); differentiable in both logits. */
export function dkdTensor(labels: tf.Tensor, teacher: tf.Tensor, student: tf.Tensor, options: DkdOptions = {}): tf.Scalar {
  const {alpha = 1, beta = 8, temperature: T = 4} = options;
  return tf.tidy(() => {
    const c = student.shape[1] as number;
    const mask = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), c), 'float32');
    const notMask = tf.sub(1, mask);
    const lp = tf.logSoftmax(tf.div(teacher, T));
    const lq = tf.logSoftmax(tf.div(student, T));
    const binary = (l: tf.Tensor) => {
      const ly = tf.sum(tf.mul(l, mask), 1);
      // log(1 − p_y) as the log-sum-exp of the non-target log-probabilities.
      const lo = tf.logSumExp(tf.add(l, tf.mul(mask, -1e9)), 1);
      return [ly, lo] as const;
    };
    const [lpy, lpo] = binary(lp);
    const [lqy, lqo] = binary(lq);
    const tckd = tf.add(tf.mul(tf.exp(lpy), tf.sub(lpy, lqy)), tf.mul(tf.exp(lpo), tf.sub(lpo, lqo)));
    const lph = tf.logSoftmax(tf.add(tf.div(teacher, T), tf.mul(mask, -1e9)));
    const lqh = tf.logSoftmax(tf.add(tf.div(student, T), tf.mul(mask, -1e9)));
    const nckd = tf.sum(tf.mul(notMask, tf.mul(tf.exp(lph), tf.sub(lph, lqh))), 1);
    return tf.mul(tf.mean(tf.add(tf.mul(tckd, alpha), tf.mul(nckd, beta))), T * T) as tf.Scalar;
  });
}

/** Options of {@link logitStandardizedKdHost}. */
export interface LogitStandardizationOptions {
  /** Temperature applied to the standardized logits. @default 2 */
  readonly temperature?: number;
  /** Added to the standard deviation, as in the paper's code. @default 1e-7 */
  readonly epsilon?: number;
}

/**
 * Logit-standardized KD (Sun, Ren, Li, Wang & Cao, "Logit Standardization in Knowledge
 * Distillation", CVPR 2024): each row of logits is z-scored, Z(z) = (z − mean(z)) / (std(z) + ε)
 * with the sample standard deviation (divisor C − 1, `torch.std`), then classic KD on them:
 * `T² · mean_n KL(softmax(Z(t)/T) ‖ softmax(Z(s)/T))`. The student need not match the teacher's
 * logit range, only its ranking and relative gaps; the loss is invariant to shifting and (up to
 * ε) to positively scaling either side's logits. Default T 2 (the paper's base temperature).
 * Gradient: g = T·(q − p)/n w.r.t. Z(s); with d = s − mean, σ the std and σε = σ + ε,
 * d/ds_k = (g_k − mean(g))/σε − (Σ_j g_j·d_j)·d_k / (σε²·(C − 1)·σ).
 * @example logitStandardizedKdHost(teacherLogits, studentLogits, 2, 3, {temperature: 2})
 */
export function logitStandardizedKdHost(
  teacher: ArrayLike<number>,
  student: ArrayLike<number>,
  n: number,
  c: number,
  options: LogitStandardizationOptions = {},
): HostLossValue {
  const {temperature: T = 2, epsilon = 1e-7} = options;
  if (c < 2) throw new Error(`logit standardization needs at least 2 classes, got ${c}`);
  const invT = 1 / T;
  const grad = new Float32Array(n * c);
  const zt = new Float64Array(c);
  const zs = new Float64Array(c);
  const d = new Float64Array(c);
  const g = new Float64Array(c);
  let total = 0;
  const standardize = (z: ArrayLike<number>, o: number, out: Float64Array, dev?: Float64Array) => {
    let mean = 0;
    for (let j = 0; j < c; j++) mean += z[o + j];
    mean /= c;
    let ss = 0;
    for (let j = 0; j < c; j++) ss += (z[o + j] - mean) ** 2;
    const sd = Math.sqrt(ss / (c - 1));
    for (let j = 0; j < c; j++) {
      if (dev) dev[j] = z[o + j] - mean;
      out[j] = (z[o + j] - mean) / (sd + epsilon);
    }
    return sd;
  };
  for (let i = 0; i < n; i++) {
    const o = i * c;
    standardize(teacher, o, zt);
    const sd = standardize(student, o, zs, d);
    const lt = lse(zt, 0, c, invT, -1);
    const ls = lse(zs, 0, c, invT, -1);
    let kl = 0;
    let gMean = 0;
    let gd = 0;
    for (let j = 0; j < c; j++) {
      const lp = zt[j] * invT - lt;
      const lq = zs[j] * invT - ls;
      const p = Math.exp(lp);
      kl += p * (lp - lq);
      g[j] = (T * (Math.exp(lq) - p)) / n;
      gMean += g[j] / c;
      gd += g[j] * d[j];
    }
    total += kl;
    const se = sd + epsilon;
    const k = sd > 0 ? gd / (se * se * (c - 1) * sd) : 0;
    for (let j = 0; j < c; j++) grad[o + j] = (g[j] - gMean) / se - k * d[j];
  }
  return {loss: (total / n) * T * T, grad};
}

/** {@link logitStandardizedKdHost} from tfjs ops; differentiable in both logits. */
export function logitStandardizedKdTensor(teacher: tf.Tensor, student: tf.Tensor, options: LogitStandardizationOptions = {}): tf.Scalar {
  const {temperature: T = 2, epsilon = 1e-7} = options;
  return tf.tidy(() => {
    const c = student.shape[1] as number;
    const z = (x: tf.Tensor) => {
      const d = tf.sub(x, tf.mean(x, 1, true));
      const sd = tf.sqrt(tf.div(tf.sum(tf.square(d), 1, true), c - 1));
      return tf.div(d, tf.add(sd, epsilon));
    };
    const lp = tf.logSoftmax(tf.div(z(teacher), T));
    const lq = tf.logSoftmax(tf.div(z(student), T));
    return tf.mul(tf.mean(tf.sum(tf.mul(tf.exp(lp), tf.sub(lp, lq)), 1)), T * T) as tf.Scalar;
  });
}

/**
 * Cross-entropy against label distributions, `mean_n −Σ_j y_nj · log softmax(s_n)_j`, and its
 * gradient softmax(s) − y (per row, over n). What mixup and cutmix batches train with (rows of
 * `targets` mix two labels), and label smoothing (Szegedy et al., "Rethinking the Inception
 * Architecture", CVPR 2016: y = (1 − ε)·onehot + ε/C).
 */
export function softCrossEntropyHost(targets: ArrayLike<number>, student: ArrayLike<number>, n: number, c: number, gradScale = 1): HostLossValue {
  const grad = new Float32Array(n * c);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = i * c;
    const l = lse(student, o, c, 1, -1);
    for (let j = 0; j < c; j++) {
      const lq = student[o + j] - l;
      total -= targets[o + j] * lq;
      grad[o + j] = ((Math.exp(lq) - targets[o + j]) * gradScale) / n;
    }
  }
  return {loss: total / n, grad};
}

/** Label distributions from integer labels with label smoothing ε in [0, 1): (1 − ε)·onehot + ε/C. */
export function smoothLabels(labels: ArrayLike<number>, c: number, epsilon: number): Float32Array {
  if (!(epsilon >= 0 && epsilon < 1)) throw new UsageError(`label smoothing must be in [0, 1), got ${epsilon}`);
  const out = new Float32Array(labels.length * c).fill(epsilon / c);
  for (let i = 0; i < labels.length; i++) {
    checkLabel(labels[i], i, c);
    out[i * c + labels[i]] += 1 - epsilon;
  }
  return out;
}

/** Smooths label distributions (e.g. mixup's) in place: y ← (1 − ε)·y + ε/C. */
export function smoothTargets(targets: Float32Array, c: number, epsilon: number): Float32Array {
  if (!(epsilon >= 0 && epsilon < 1)) throw new UsageError(`label smoothing must be in [0, 1), got ${epsilon}`);
  if (epsilon === 0) return targets;
  for (let k = 0; k < targets.length; k++) targets[k] = (1 - epsilon) * targets[k] + epsilon / c;
  return targets;
}

/** The learned 1×1 regressor of a FitNets hint: kernel [cs, ct] and bias [ct]. */
export interface HintRegressor {
  readonly kernel: ArrayLike<number>;
  readonly bias: ArrayLike<number>;
}

/**
 * FitNets hint (Romero, Ballas, Kahou, Chassang, Gatta & Bengio, "FitNets: Hints for Thin Deep
 * Nets", ICLR 2015): a learned regressor r maps the student's intermediate feature map
 * F_s [n, h, w, cs] to the teacher's channels, and the loss is the mean squared difference
 * `mean_{n,h,w,c} (r(F_s) − F_t)²` with r a 1×1 convolution (kernel W [cs, ct], bias b), as in
 * most reimplementations (the paper's r is a convolution sized to match the maps). The maps'
 * heights and widths must agree. Returns the gradients w.r.t. F_s, W and b.
 * @example hintHost(fs, ft, {n: 1, h: 1, w: 2, cs: 1, ct: 2}, {kernel: [1, 0], bias: [0, 0]})
 */
export function hintHost(
  student: ArrayLike<number>,
  teacher: ArrayLike<number>,
  dims: {readonly n: number; readonly h: number; readonly w: number; readonly cs: number; readonly ct: number},
  r: HintRegressor,
): {loss: number; gradStudent: Float32Array; gradKernel: Float32Array; gradBias: Float32Array} {
  const {n, h, w, cs, ct} = dims;
  const pixels = n * h * w;
  const count = pixels * ct;
  const gradStudent = new Float32Array(pixels * cs);
  const gradKernel = new Float32Array(cs * ct);
  const gradBias = new Float32Array(ct);
  const diff = new Float64Array(ct);
  let total = 0;
  for (let p = 0; p < pixels; p++) {
    for (let k = 0; k < ct; k++) {
      let v = r.bias[k];
      for (let j = 0; j < cs; j++) v += student[p * cs + j] * r.kernel[j * ct + k];
      diff[k] = v - teacher[p * ct + k];
      total += diff[k] * diff[k];
    }
    for (let k = 0; k < ct; k++) {
      const g = (2 * diff[k]) / count;
      gradBias[k] += g;
      for (let j = 0; j < cs; j++) {
        gradKernel[j * ct + k] += g * student[p * cs + j];
        gradStudent[p * cs + j] += g * r.kernel[j * ct + k];
      }
    }
  }
  return {loss: total / count, gradStudent, gradKernel, gradBias};
}

/** {@link hintHost} from tfjs ops: student [n, h, w, cs], teacher [n, h, w, ct], kernel [cs, ct], bias [ct]. */
export function hintTensor(student: tf.Tensor, teacher: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor): tf.Scalar {
  checkSpatial('hint', student, teacher);
  return tf.tidy(() => {
    const [n, h, w, cs] = student.shape as [number, number, number, number];
    const ct = teacher.shape[3] as number;
    const mapped = tf.add(tf.matMul(tf.reshape(student, [n * h * w, cs]), kernel), bias);
    return tf.mean(tf.squaredDifference(mapped, tf.reshape(teacher, [n * h * w, ct]))) as tf.Scalar;
  });
}

/**
 * Attention transfer (Zagoruyko & Komodakis, "Paying More Attention to Attention", ICLR 2017),
 * activation-based: the attention map of F [n, h, w, c] is Q = vec(mean_c F²) / ‖vec(mean_c F²)‖₂
 * per example, and the loss is `mean_{n,hw} (Q_s − Q_t)²` (the authors' code, `at_loss`), which
 * the term multiplies by β/2 (β = 1000 in the paper). Channels may differ; heights and widths must agree.
 * @example attentionTransferTensor(studentFeature, teacherFeature)
 */
export function attentionTransferTensor(student: tf.Tensor, teacher: tf.Tensor): tf.Scalar {
  checkSpatial('attention transfer', student, teacher);
  return tf.tidy(() => {
    const at = (f: tf.Tensor) => {
      const n = f.shape[0];
      const a = tf.reshape(tf.mean(tf.square(f), 3), [n, -1]);
      return tf.div(a, tf.maximum(tf.norm(a, 'euclidean', 1, true), 1e-12));
    };
    return tf.mean(tf.squaredDifference(at(student), at(teacher))) as tf.Scalar;
  });
}

/** The attention map of {@link attentionTransferTensor} on the host, [n, h·w]. */
export function attentionMapHost(f: ArrayLike<number>, n: number, hw: number, c: number): Float64Array {
  const out = new Float64Array(n * hw);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let p = 0; p < hw; p++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += f[(i * hw + p) * c + k] ** 2;
      out[i * hw + p] = s / c;
      norm += (s / c) ** 2;
    }
    const d = Math.max(Math.sqrt(norm), 1e-12);
    for (let p = 0; p < hw; p++) out[i * hw + p] /= d;
  }
  return out;
}

function checkSpatial(what: string, s: tf.Tensor, t: tf.Tensor): void {
  if (s.rank !== 4 || t.rank !== 4 || s.shape[0] !== t.shape[0] || s.shape[1] !== t.shape[1] || s.shape[2] !== t.shape[2]) {
    throw new UsageError(
      `${what}: student feature map [${s.shape}] and teacher feature map [${t.shape}] must be [n, h, w, c] with the same n, h and w`,
    );
  }
}

/**
 * A host loss over student logits [n, c] as a differentiable op: forward and the student's
 * gradient from `compute` in one host pass; the other inputs (labels, teacher logits, targets)
 * are constants and get zero gradients.
 */
function hostLogitOp(compute: (consts: Float32Array[], z: Float32Array, n: number, c: number) => HostLossValue) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, -1) as tf.Tensor[];
    const student = inputs[inputs.length - 1];
    const [n, c] = student.shape;
    const consts = inputs.slice(0, -1).map((t) => t.dataSync() as Float32Array);
    const r = compute(consts, student.dataSync() as Float32Array, n, c);
    save([]);
    return {
      value: tf.scalar(r.loss),
      gradFunc: (dy: tf.Tensor) => {
        const s = dy.dataSync()[0];
        return [...inputs.slice(0, -1).map((t) => tf.zerosLike(t)), tf.tensor2d(s === 1 ? r.grad : r.grad.map((v) => v * s), [n, c])];
      },
    };
  });
}

function checkLogits(fn: string, ...xs: tf.Tensor[]): void {
  const [n, c] = xs[xs.length - 1].shape;
  for (const x of xs) {
    if (x.rank !== 2 || x.shape[0] !== n || x.shape[1] !== c) {
      throw new Error(`${fn}: logits must all be [N, C], got [${xs.map((t) => t.shape).join('], [')}]`);
    }
  }
}

/** {@link dkdHost} as an op on tensors (labels [n], teacher and student logits [n, c]); only the student gets a gradient. */
export function dkd(labels: tf.Tensor, teacher: tf.Tensor, student: tf.Tensor, options: DkdOptions = {}): tf.Scalar {
  checkLogits('dkd', teacher, student);
  const op = hostLogitOp(([y, t], z, n, c) => dkdHost(y, t, z, n, c, options));
  return tf.tidy(() => op(tf.cast(labels, 'float32'), teacher, student) as tf.Scalar);
}

/** {@link logitStandardizedKdHost} as an op on tensors; only the student gets a gradient. */
export function logitStandardizedKd(teacher: tf.Tensor, student: tf.Tensor, options: LogitStandardizationOptions = {}): tf.Scalar {
  checkLogits('logitStandardizedKd', teacher, student);
  const op = hostLogitOp(([t], z, n, c) => logitStandardizedKdHost(t, z, n, c, options));
  return op(teacher, student) as tf.Scalar;
}

/** {@link softCrossEntropyHost} as an op: targets [n, c] (rows summing to 1), logits [n, c]. */
export function softCrossEntropy(targets: tf.Tensor, student: tf.Tensor): tf.Scalar {
  checkLogits('softCrossEntropy', targets, student);
  const op = hostLogitOp(([y], z, n, c) => softCrossEntropyHost(y, z, n, c));
  return op(targets, student) as tf.Scalar;
}
