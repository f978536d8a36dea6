// Loss kernels over [N, C] logits computed in plain JavaScript (float64 accumulation).
// A training step's logits are tiny (32 × 10): a dozen tfjs ops for a log-softmax and its
// gradient cost more in dispatch than this arithmetic does.

/** Writes log-softmax of `z[row]` (length c, scaled by 1/temperature) into `out`. */
function logSoftmaxRow(z: ArrayLike<number>, offset: number, c: number, invT: number, out: Float64Array): void {
  let max = -Infinity;
  for (let j = 0; j < c; j++) max = Math.max(max, z[offset + j] * invT);
  let sum = 0;
  for (let j = 0; j < c; j++) sum += Math.exp(z[offset + j] * invT - max);
  const lse = max + Math.log(sum);
  for (let j = 0; j < c; j++) out[j] = z[offset + j] * invT - lse;
}

/** Mean sparse categorical cross-entropy of logits `[n, c]`, and optionally d loss / d logits. */
export function crossEntropyHost(
  labels: ArrayLike<number>,
  logits: ArrayLike<number>,
  n: number,
  c: number,
  gradScale?: number,
): {loss: number; grad?: Float32Array} {
  const lp = new Float64Array(c);
  const grad = gradScale === undefined ? undefined : new Float32Array(n * c);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!(Number.isInteger(y) && y >= 0 && y < c)) {
      throw new Error(`sparseCategoricalCrossentropy: label ${y} at row ${i} is not a class index in [0, ${c})`);
    }
    logSoftmaxRow(logits, i * c, c, 1, lp);
    total -= lp[y];
    if (grad) {
      const s = (gradScale as number) / n;
      for (let j = 0; j < c; j++) grad[i * c + j] = (Math.exp(lp[j]) - (j === y ? 1 : 0)) * s;
    }
  }
  return {loss: total / n, grad};
}

/**
 * `T² · mean_n KL(softmax(t_n/T) ‖ softmax(s_n/T))` and optionally its gradients:
 * d/ds = T·(q − p)/N and d/dt = T·p·((log p − log q) − KL_n)/N.
 */
export function distillationKLHost(
  teacher: ArrayLike<number>,
  student: ArrayLike<number>,
  n: number,
  c: number,
  temperature: number,
  gradScale?: number,
): {loss: number; gradTeacher?: Float32Array; gradStudent?: Float32Array} {
  const invT = 1 / temperature;
  const lp = new Float64Array(c);
  const lq = new Float64Array(c);
  const withGrad = gradScale !== undefined;
  const gt = withGrad ? new Float32Array(n * c) : undefined;
  const gs = withGrad ? new Float32Array(n * c) : undefined;
  const s = withGrad ? ((gradScale as number) * temperature) / n : 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    logSoftmaxRow(teacher, i * c, c, invT, lp);
    logSoftmaxRow(student, i * c, c, invT, lq);
    let kl = 0;
    for (let j = 0; j < c; j++) kl += Math.exp(lp[j]) * (lp[j] - lq[j]);
    total += kl;
    if (gt && gs) {
      for (let j = 0; j < c; j++) {
        const p = Math.exp(lp[j]);
        gs[i * c + j] = (Math.exp(lq[j]) - p) * s;
        gt[i * c + j] = p * (lp[j] - lq[j] - kl) * s;
      }
    }
  }
  return {loss: (total / n) * temperature * temperature, gradTeacher: gt, gradStudent: gs};
}

/**
 * `mean_{n,c} (s − t)²` of student logits `s` against teacher logits `t`, and optionally its
 * gradient with respect to the student, `gradScale · 2(s − t)/(n·c)`.
 */
export function logitMseHost(
  teacher: ArrayLike<number>,
  student: ArrayLike<number>,
  n: number,
  c: number,
  gradScale?: number,
): {loss: number; gradStudent?: Float32Array} {
  const size = n * c;
  const g = gradScale === undefined ? undefined : new Float32Array(size);
  const s = gradScale === undefined ? 0 : (2 * gradScale) / size;
  let total = 0;
  for (let i = 0; i < size; i++) {
    const d = student[i] - teacher[i];
    total += d * d;
    if (g) g[i] = d * s;
  }
  return {loss: total / size, gradStudent: g};
}
