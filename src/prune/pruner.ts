// Magnitude pruning of a model's kernels on a schedule, as TFMOT's prune_low_magnitude does.
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {maskOptimizerState, type TrainHook} from '../train/index.js';
import {magnitudeMasks, maskVariable, prunableWeights, type PrunableWeight, type PruneScope} from './magnitude.js';
import type {PruningSchedule} from './schedule.js';

/** Options of {@link MagnitudePruner}. */
export interface MagnitudePrunerOptions {
  /** When to recompute the masks and to which sparsity. */
  readonly schedule: PruningSchedule;
  /** Per-layer or global magnitude ranking. @default 'layer' */
  readonly scope?: PruneScope;
  /** Names of Conv2D / Dense / DepthwiseConv2D layers to leave dense. @default [] */
  readonly skip?: readonly string[];
}

/** One pruned kernel's line in a {@link SparsityReport}. */
export interface LayerSparsity {
  readonly layer: string;
  readonly className: string;
  readonly weights: number;
  readonly zeros: number;
  /** zeros / weights. */
  readonly sparsity: number;
}

/** How sparse the pruned kernels are. */
export interface SparsityReport {
  readonly layers: readonly LayerSparsity[];
  /** Over the pruned kernels. */
  readonly weights: number;
  readonly zeros: number;
  readonly sparsity: number;
}

/**
 * Holds one 0/1 mask per prunable kernel. Masks are recomputed from the current |w| on the
 * schedule's steps and re-applied after every optimizer update, so pruned weights are exactly 0
 * throughout fine-tuning. hafif never wraps layers: the model stays a plain tfjs model.
 * @example const pruner = new MagnitudePruner(model, {schedule: constantSparsity({targetSparsity: 0.8})});
 */
export class MagnitudePruner {
  readonly model: tfl.LayersModel;
  readonly schedule: PruningSchedule;
  readonly scope: PruneScope;
  readonly targets: readonly PrunableWeight[];
  private currentMasks: Float32Array[] | null = null;
  private lastSparsity: number | null = null;

  constructor(model: tfl.LayersModel, options: MagnitudePrunerOptions) {
    this.model = model;
    this.schedule = options.schedule;
    this.scope = options.scope ?? 'layer';
    this.targets = prunableWeights(model, options.skip ?? []);
  }

  /** The masks, in `targets` order; null before the first update. */
  get masks(): readonly Float32Array[] | null {
    return this.currentMasks;
  }

  /** The sparsity of the last mask update; null before the first. */
  get sparsity(): number | null {
    return this.lastSparsity;
  }

  /** Recomputes the masks at `sparsity` from the kernels' current magnitudes and applies them. */
  updateMasks(sparsity: number): void {
    const values = this.targets.map((t) => t.variable.dataSync() as Float32Array);
    this.currentMasks = magnitudeMasks(values, sparsity, this.scope);
    this.lastSparsity = sparsity;
    this.applyMasks();
  }

  /** Updates the masks if the schedule prunes at `step`; returns whether it did. */
  maybeUpdate(step: number): boolean {
    const {prune, sparsity} = this.schedule.decide(step);
    if (prune) this.updateMasks(sparsity);
    return prune;
  }

  /**
   * Masks from the kernels' current zeros (1 where w ≠ 0): a fine-tuning resumed from a
   * checkpoint taken between schedule steps keeps the masks it had.
   */
  restoreMasks(): void {
    this.currentMasks = this.targets.map((t) => {
      const v = t.variable.dataSync();
      const m = new Float32Array(v.length);
      for (let i = 0; i < v.length; i++) m[i] = v[i] === 0 ? 0 : 1;
      return m;
    });
  }

  /** `w ← w · mask` for every kernel (nothing before the first update). */
  applyMasks(): void {
    const masks = this.currentMasks;
    if (masks == null) return;
    this.targets.forEach((t, i) => maskVariable(t.variable, masks[i]));
  }

  /** Multiplies the optimizer's per-weight state (Adam's m and v) of each kernel by its mask. */
  maskOptimizer(optimizer: tf.Optimizer): void {
    const masks = this.currentMasks;
    if (masks == null) return;
    this.targets.forEach((t, i) => maskOptimizerState(optimizer, t.variable, masks[i]));
  }

  /**
   * The training-engine hook that prunes during fine-tuning, as TFMOT's `UpdatePruningStep`
   * callback and `PruneLowMagnitude` wrapper do together: before the forward pass of each
   * schedule step the masks are recomputed from the current weights (TFMOT updates them at the
   * same point, from `pruning_step` = optimizer updates so far); after every optimizer update the
   * masks are re-applied and the masked weights' optimizer moments zeroed, so pruned weights are
   * exactly 0 after every step and no past gradient brings them back.
   * @example await fit(model, x, y, {epochs: 2, hooks: [pruner.hook()]});
   */
  hook(): TrainHook {
    return {
      beforeForward: (ctx) => {
        if (this.maybeUpdate(ctx.step)) this.maskOptimizer(ctx.optimizer);
      },
      afterUpdate: (ctx) => {
        this.applyMasks();
        this.maskOptimizer(ctx.optimizer);
      },
    };
  }

  /** Zeros of each pruned kernel, counted from its current values. */
  report(): SparsityReport {
    return sparsityReport(this.targets);
  }
}

/** Counts the exact zeros of kernels. */
export function sparsityReport(targets: readonly PrunableWeight[]): SparsityReport {
  const layers = targets.map((t) => {
    const v = t.variable.dataSync();
    let zeros = 0;
    for (let i = 0; i < v.length; i++) if (v[i] === 0) zeros++;
    return {layer: t.layer, className: t.className, weights: v.length, zeros, sparsity: zeros / v.length};
  });
  const weights = layers.reduce((a, l) => a + l.weights, 0);
  const zeros = layers.reduce((a, l) => a + l.zeros, 0);
  return {layers, weights, zeros, sparsity: weights === 0 ? 0 : zeros / weights};
}

/**
 * TFMOT's `strip_pruning`: the model as a plain tfjs model holding the zeros, and how sparse it
 * is. hafif prunes without wrapper layers, so the model is already plain: strip applies the masks
 * a last time and reports, and the same model is returned (save it with `model.save`).
 */
export function strip(pruner: MagnitudePruner): {model: tfl.LayersModel; report: SparsityReport} {
  pruner.applyMasks();
  return {model: pruner.model, report: pruner.report()};
}
