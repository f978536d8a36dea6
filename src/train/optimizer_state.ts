// An optimizer's per-weight state, reached the same way for HostAdam and tf.train's optimizers:
// masked (pruning keeps removed weights' moments at zero) and saved under names that do not
// depend on tfjs's auto-generated variable names (checkpoints).
import * as tf from '@tensorflow/tfjs-core';

import {HostAdam} from './adam.js';

/** tf.train optimizers keep their slots as `{originalName: 'VAR/m', variable}` lists. */
interface SlotLists {
  [field: string]: unknown;
}

const TF_SLOT_FIELDS = [
  'accumulatedFirstMoment',
  'accumulatedSecondMoment',
  'accumulatedMoments',
  'accumulatedGrads',
  'accumulatedUpdates',
  'accumulatedMeanSquares',
  'accumulatedMeanGrads',
  'accumulatedWeightedInfNorm',
];

function tfSlots(optimizer: tf.Optimizer): {originalName: string; variable: tf.Variable}[] {
  const out: {originalName: string; variable: tf.Variable}[] = [];
  for (const field of TF_SLOT_FIELDS) {
    const list = (optimizer as unknown as SlotLists)[field];
    if (Array.isArray(list)) {
      for (const s of list) if (s != null && typeof s.originalName === 'string' && s.variable instanceof tf.Variable) out.push(s);
    }
  }
  return out;
}

/**
 * Multiplies the optimizer's per-weight state of `variable` (Adam's m and v, momentum, ...) by
 * `mask` (one 0/1 value per weight), so that masked weights get no update from past gradients.
 * State that does not exist yet (before the variable's first update) is left alone.
 */
export function maskOptimizerState(optimizer: tf.Optimizer, variable: tf.Variable, mask: Float32Array): void {
  if (mask.length !== variable.size) {
    throw new Error(`maskOptimizerState: mask has ${mask.length} values, ${variable.name} has ${variable.size}`);
  }
  // Not `instanceof HostAdam`: tf.Optimizer's Symbol.hasInstance answers true for every optimizer.
  if (Object.prototype.isPrototypeOf.call(HostAdam.prototype, optimizer)) {
    const s = (optimizer as HostAdam).momentsOf(variable.name);
    if (s == null) return;
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] === 0) {
        s.m[i] = 0;
        s.v[i] = 0;
      }
    }
    return;
  }
  for (const slot of tfSlots(optimizer)) {
    if (slot.originalName.slice(0, slot.originalName.lastIndexOf('/')) !== variable.name) continue;
    tf.tidy(() => slot.variable.assign(tf.mul(slot.variable, tf.tensor(mask, slot.variable.shape))));
  }
}

/** An optimizer's state with variables named by position (`w0/m`), as a checkpoint stores it. */
export interface SavedOptimizerState {
  readonly className: string;
  readonly entries: readonly {readonly name: string; readonly shape: readonly number[]; readonly dtype: tf.DataType; readonly values: Float32Array | Int32Array}[];
}

/**
 * The optimizer's state (`getWeights`), its variable names replaced by their index in `vars`.
 * Rejects optimizers without state access.
 */
export async function saveOptimizerState(optimizer: tf.Optimizer, vars: readonly tf.Variable[]): Promise<SavedOptimizerState> {
  const index = new Map(vars.map((v, i) => [v.name, i]));
  const weights = await optimizer.getWeights();
  try {
    const entries = weights.map(({name, tensor}) => {
      const cut = name.lastIndexOf('/');
      let stable = name;
      if (cut > 0 && index.has(name.slice(0, cut))) stable = `w${index.get(name.slice(0, cut))}${name.slice(cut)}`;
      else if (name !== 'iter') throw new Error(`optimizer state ${name} belongs to no trained variable`);
      const values = tensor.dtype === 'int32' ? Int32Array.from(tensor.dataSync()) : Float32Array.from(tensor.dataSync());
      return {name: stable, shape: tensor.shape, dtype: tensor.dtype, values};
    });
    return {className: optimizer.getClassName(), entries};
  } finally {
    // tf.train optimizers hand out their live slot variables: dispose only what was made for us.
    const live = new Set(tfSlots(optimizer).map((s) => s.variable as tf.Tensor));
    tf.dispose(weights.map((w) => w.tensor).filter((t) => !live.has(t)));
  }
}

/** Restores {@link saveOptimizerState}'s output into an optimizer of the same class, for `vars`. */
export async function restoreOptimizerState(optimizer: tf.Optimizer, vars: readonly tf.Variable[], saved: SavedOptimizerState): Promise<void> {
  if (saved.className !== optimizer.getClassName()) {
    throw new Error(`checkpoint holds ${saved.className} state, the optimizer is ${optimizer.getClassName()}`);
  }
  const named = saved.entries.map((e) => {
    const m = /^w(\d+)(\/.*)$/.exec(e.name);
    let name = e.name;
    if (m) {
      const v = vars[Number(m[1])];
      if (v == null) throw new Error(`checkpoint optimizer state ${e.name}: the model has ${vars.length} trainable variables`);
      name = `${v.name}${m[2]}`;
    }
    return {name, tensor: tf.tensor(e.values, [...e.shape], e.dtype)};
  });
  // HostAdam copies the values; tf.train optimizers make variables that share the data (ref-counted).
  await optimizer.setWeights(named);
  tf.dispose(named.map((n) => n.tensor));
}
