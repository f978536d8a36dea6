// Built-in callbacks, as Keras has them: early stopping with restore-best-weights, and
// TerminateOnNaN.
import * as tf from '@tensorflow/tfjs-core';

import {UsageError} from '../util/registry.js';
import type {Callback, CallbackContext} from './engine.js';

/** Options of {@link earlyStopping}. */
export interface EarlyStoppingOptions {
  /** The epoch log to watch; a validation figure, never the test set's. @default 'valLoss' */
  readonly monitor?: string;
  /** Whether smaller or larger is better. @default 'min' for names containing "loss", else 'max' */
  readonly mode?: 'min' | 'max';
  /** Epochs without improvement before stopping. @default 0 */
  readonly patience?: number;
  /** The least change that counts as an improvement. @default 0 */
  readonly minDelta?: number;
  /** At the end, put back the weights of the best epoch. @default false */
  readonly restoreBestWeights?: boolean;
}

/** What an {@link earlyStopping} callback found, readable after training. */
export interface EarlyStoppingState {
  /** The epoch with the best monitored value, or -1 before the first epoch end. */
  readonly bestEpoch: number;
  readonly best: number;
  /** The epoch after which training stopped, or -1 when it ran to the end. */
  readonly stoppedEpoch: number;
}

/**
 * Stops training when the monitored value has not improved for `patience` epochs (Keras'
 * `EarlyStopping`). With `restoreBestWeights` the best epoch's weights, batch-norm statistics
 * included, are put back when training ends.
 * @example const stop = earlyStopping({monitor: 'valLoss', patience: 2, restoreBestWeights: true});
 */
export function earlyStopping(options: EarlyStoppingOptions = {}): Callback & {readonly state: EarlyStoppingState} {
  const {monitor = 'valLoss', patience = 0, minDelta = 0, restoreBestWeights = false} = options;
  const mode = options.mode ?? (monitor.toLowerCase().includes('loss') ? 'min' : 'max');
  if (mode !== 'min' && mode !== 'max') throw new UsageError(`mode must be 'min' or 'max', got '${String(mode)}'`);
  if (!Number.isInteger(patience) || patience < 0) throw new UsageError(`patience must be an integer ≥ 0, got ${patience}`);
  if (!(minDelta >= 0)) throw new UsageError(`minDelta must be ≥ 0, got ${minDelta}`);
  let best = mode === 'min' ? Infinity : -Infinity;
  let bestEpoch = -1;
  let stoppedEpoch = -1;
  let wait = 0;
  let bestWeights: Float32Array[] | null = null;
  const better = (v: number) => (mode === 'min' ? v < best - minDelta : v > best + minDelta);
  const state = {
    get bestEpoch() { return bestEpoch; },
    get best() { return best; },
    get stoppedEpoch() { return stoppedEpoch; },
  };
  return {
    state,
    onTrainBegin() {
      best = mode === 'min' ? Infinity : -Infinity;
      bestEpoch = -1;
      stoppedEpoch = -1;
      wait = 0;
      bestWeights = null;
    },
    onEpochEnd(ctx: CallbackContext) {
      const v = ctx.logs[monitor];
      if (v === undefined) {
        throw new UsageError(`early stopping monitors '${monitor}', which the epoch logs lack (have: ${Object.keys(ctx.logs).join(', ')}); validation figures need a validation split`);
      }
      if (better(v)) {
        best = v;
        bestEpoch = ctx.epoch;
        wait = 0;
        if (restoreBestWeights) bestWeights = ctx.model.weights.map((w) => (w.read().dataSync() as Float32Array).slice());
      } else if (++wait > patience) {
        stoppedEpoch = ctx.epoch;
        ctx.stop();
      }
    },
    onTrainEnd(ctx: CallbackContext) {
      if (!restoreBestWeights || bestWeights == null || ctx.aborted) return;
      const saved = bestWeights;
      const tensors = ctx.model.weights.map((w, i) => tf.tensor(saved[i], w.read().shape, 'float32'));
      try {
        ctx.model.setWeights(tensors);
      } finally {
        tf.dispose(tensors);
      }
    },
  };
}

/** Stops training at the first batch whose loss is NaN or infinite (Keras' `TerminateOnNaN`). */
export function terminateOnNaN(): Callback & {readonly state: {readonly stoppedAtStep: number}} {
  let stoppedAtStep = -1;
  return {
    state: {get stoppedAtStep() { return stoppedAtStep; }},
    onBatchEnd(ctx) {
      const loss = ctx.logs.loss;
      if (loss !== undefined && !Number.isFinite(loss)) {
        stoppedAtStep = ctx.step;
        ctx.stop();
      }
    },
  };
}
