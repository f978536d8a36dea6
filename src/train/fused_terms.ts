// The built-in loss terms (cross-entropy, kl, mse) evaluated together on host logits, with their
// gradient: shared by the engine's fused tape step and the compiled step, so both compute the
// loss and d loss / d logits with the same code.
import {crossEntropyHost, distillationKLHost, logitMseHost} from '../losses/index.js';
import type {HostLossResult, LossTerm, Logs} from './engine.js';

/** Every term of `terms` (none custom) over logits z [n, c]; `t` are the teacher's logits when a term needs them. */
export function fusedTerms(
  terms: readonly LossTerm[],
  labels: ArrayLike<number>,
  t: Float32Array | undefined,
  z: Float32Array,
  n: number,
  c: number,
  withAccuracy: boolean,
): HostLossResult {
  if (t != null && t.length !== n * c) {
    throw new Error(`training step: teacher logits have ${t.length} values, expected ${n}×${c}`);
  }
  let grad: Float32Array | null = null;
  let total = 0;
  const out: Logs = {};
  for (const term of terms) {
    const w = term.weight ?? 1;
    let r: {loss: number; g: Float32Array};
    if (term.kind === 'cross-entropy') {
      const ce = crossEntropyHost(labels, z, n, c, w);
      r = {loss: ce.loss, g: ce.grad as Float32Array};
    } else if (term.kind === 'kl') {
      const kd = distillationKLHost(t as Float32Array, z, n, c, term.temperature, w);
      r = {loss: kd.loss, g: kd.gradStudent as Float32Array};
    } else if (term.kind === 'mse') {
      const m = logitMseHost(t as Float32Array, z, n, c, w);
      r = {loss: m.loss, g: m.gradStudent as Float32Array};
    } else {
      throw new Error('custom terms take the generic path');
    }
    if (grad == null) grad = r.g;
    else for (let i = 0; i < grad.length; i++) grad[i] += r.g[i];
    // A single term of weight 1 is its own total (no rounding through w · loss).
    total = terms.length === 1 && w === 1 ? r.loss : total + w * r.loss;
    if (term.name) out[term.name] = r.loss;
  }
  out.loss = total;
  if (withAccuracy) out.accuracy = hostAccuracy(labels, z, n, c);
  return {loss: total, grad: grad as Float32Array, logs: out};
}

/** The fraction of rows of z [n, c] whose largest value (the first, on ties, as tf.argMax) is at the label y. */
export function hostAccuracy(y: ArrayLike<number>, z: ArrayLike<number>, n: number, c: number): number {
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (z[i * c + j] > z[i * c + best]) best = j;
    if (best === y[i]) correct++;
  }
  return correct / n;
}
