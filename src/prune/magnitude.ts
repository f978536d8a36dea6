// Magnitude masks: which weights of the prunable kernels to keep.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {UsageError} from '../util/registry.js';

/** Layer classes whose kernel is pruned; biases and batch norm never are. */
export const PRUNABLE_CLASSES: readonly string[] = ['Conv2D', 'Dense', 'DepthwiseConv2D'];

/** One kernel that pruning masks. */
export interface PrunableWeight {
  /** The layer's name. */
  readonly layer: string;
  readonly className: string;
  /** The tfjs variable holding the kernel (Conv2D, Dense: `kernel`; DepthwiseConv2D: `depthwise_kernel`). */
  readonly variable: tf.Variable;
  /** Its number of weights. */
  readonly size: number;
}

/**
 * The kernels of a model's Conv2D, Dense and DepthwiseConv2D layers, minus the layers named in
 * `skip`. Throws a UsageError when a skipped name is not a layer, or when nothing is left.
 */
export function prunableWeights(model: tfl.LayersModel, skip: readonly string[] = []): PrunableWeight[] {
  const names = new Set(model.layers.map((l) => l.name));
  for (const s of skip) {
    if (!names.has(s)) throw new UsageError(`skip: no layer named "${s}" in the model; its layers are ${[...names].join(', ')}`);
  }
  const out: PrunableWeight[] = [];
  for (const layer of model.layers) {
    const className = layer.getClassName();
    if (!PRUNABLE_CLASSES.includes(className) || skip.includes(layer.name)) continue;
    const kernelName = className === 'DepthwiseConv2D' ? 'depthwise_kernel' : 'kernel';
    const w = layer.trainableWeights.find((v) => v.originalName.endsWith(`/${kernelName}`));
    if (w == null) continue;
    const variable = w.read() as tf.Variable;
    out.push({layer: layer.name, className, variable, size: variable.size});
  }
  if (out.length === 0) {
    const classes = model.layers.map((l) => `${l.name} (${l.getClassName()})`).join(', ');
    throw new UsageError(
      `the model has no prunable layer (${PRUNABLE_CLASSES.join(', ')})${skip.length ? ` outside the skip list` : ''}; its layers are ${classes}`,
    );
  }
  return out;
}

/** Round half to even, as tf.math.round. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * How many of `n` weights a mask at `sparsity` keeps: `max(round(n·(1 − s)), 1)`, computed as
 * TFMOT's `_update_mask` does, in float32 with round-half-to-even.
 * @example keepCount(10, 0.8) // 2
 */
export function keepCount(n: number, sparsity: number): number {
  const f = Math.fround;
  return Math.max(roundHalfEven(f(f(n) * f(1 - f(sparsity)))), 1);
}

/**
 * The 0/1 masks that keep, over all `values` arrays taken together, the `k` weights of largest
 * |w|. Ties at the k-th magnitude go to the lower position (array order, then index), as
 * tf.math.top_k orders them, so exactly `k` weights are kept.
 *
 * TFMOT keeps every weight tied with the k-th magnitude (`|w| ≥ threshold`), which may keep more
 * than k; hafif keeps exactly k.
 */
export function topKMasks(values: readonly Float32Array[], k: number): Float32Array[] {
  const total = values.reduce((a, v) => a + v.length, 0);
  if (!Number.isInteger(k) || k < 1 || k > total) throw new Error(`topKMasks: k must be in [1, ${total}], got ${k}`);
  const abs = new Float32Array(total);
  let o = 0;
  for (const v of values) {
    for (let i = 0; i < v.length; i++) abs[o + i] = Math.abs(v[i]);
    o += v.length;
  }
  // The k-th largest magnitude: a typed-array sort is numeric and fast.
  const sorted = abs.slice().sort();
  const threshold = sorted[total - k];
  let above = 0;
  for (let i = 0; i < total; i++) if (abs[i] > threshold) above++;
  let tiesToKeep = k - above;
  const masks: Float32Array[] = [];
  o = 0;
  for (const v of values) {
    const m = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const a = abs[o + i];
      if (a > threshold) m[i] = 1;
      else if (a === threshold && tiesToKeep > 0) {
        m[i] = 1;
        tiesToKeep--;
      }
    }
    masks.push(m);
    o += v.length;
  }
  return masks;
}

/**
 * Masks at `sparsity`: per layer (each kernel keeps `keepCount(size, s)` of its own weights), or
 * global (one magnitude ranking over all kernels, keeping `keepCount(total, s)`).
 */
export function magnitudeMasks(values: readonly Float32Array[], sparsity: number, scope: PruneScope = 'layer'): Float32Array[] {
  if (scope === 'global') {
    const total = values.reduce((a, v) => a + v.length, 0);
    return topKMasks(values, keepCount(total, sparsity));
  }
  return values.map((v) => topKMasks([v], keepCount(v.length, sparsity))[0]);
}

/** Per layer: each kernel is pruned to the sparsity. Global: one ranking across all kernels. */
export type PruneScope = 'layer' | 'global';

/** `w · mask`, as a new array. */
export function applyMask(w: Float32Array, mask: Float32Array): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = mask[i] === 0 ? 0 : w[i];
  return out;
}

/** Assigns `variable ← variable · mask` (a new buffer; the old one may be shared). */
export function maskVariable(variable: tf.Variable, mask: Float32Array): void {
  const next = tf.tensor(applyMask(variable.dataSync() as Float32Array, mask), variable.shape, 'float32');
  variable.assign(next);
  next.dispose();
}
