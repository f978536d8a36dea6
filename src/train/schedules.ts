// Learning-rate schedules: pure functions of the global step, applied before each step.
import {UsageError} from '../util/registry.js';

/** Names of the built-in schedules. */
export type ScheduleName = 'constant' | 'cosine' | 'one-cycle';

/** A schedule and its knobs. */
export interface ScheduleSpec {
  /** @default 'constant' */
  readonly name?: ScheduleName;
  /**
   * Fraction of the steps spent warming up linearly from `peak / warmupDivisor` to the peak
   * (cosine), or rising to the peak (one-cycle, PyTorch's `pct_start`).
   * @default 0 for cosine, 0.3 for one-cycle
   */
  readonly warmup?: number;
  /** The peak is the base learning rate times this (the reference's one-cycle uses 3). @default 1 */
  readonly peakFactor?: number;
}

/** Learning rate (and, for one-cycle, Adam's β1) at one step. */
export interface ScheduleValue {
  readonly learningRate: number;
  /** PyTorch's one-cycle cycles Adam's β1 between 0.95 and 0.85 inversely to the rate. */
  readonly beta1?: number;
}

/** A schedule over `totalSteps` optimizer updates; `step` counts from 0. */
export type Schedule = (step: number) => ScheduleValue;

/** `end + (start − end)/2 · (1 + cos(π·t))`, t in [0, 1]: PyTorch's `_annealing_cos`. */
function cosAnneal(start: number, end: number, t: number): number {
  return end + ((start - end) / 2) * (1 + Math.cos(Math.PI * Math.min(1, Math.max(0, t))));
}

/** Checks a spec; throws a UsageError naming the bad value. */
export function checkScheduleSpec(spec: ScheduleSpec): void {
  const {name = 'constant', warmup, peakFactor = 1} = spec;
  if (name !== 'constant' && name !== 'cosine' && name !== 'one-cycle') {
    throw new UsageError(`unknown learning-rate schedule "${String(name)}"; expected one of constant, cosine, one-cycle`);
  }
  if (warmup !== undefined && !(warmup >= 0 && warmup < 1)) throw new UsageError(`warmup must be in [0, 1), got ${warmup}`);
  if (!(peakFactor > 0) || !Number.isFinite(peakFactor)) throw new UsageError(`peak factor must be a finite number > 0, got ${peakFactor}`);
}

/**
 * The schedule `spec` for a base learning rate over `totalSteps` updates.
 * - constant: the base rate throughout (`peakFactor` scales it).
 * - cosine (Loshchilov & Hutter, "SGDR", ICLR 2017, without restarts), with linear warm-up
 *   (Goyal et al. 2017): peak·(s+1)/W for s < W, then `peak · (1 + cos(π·(s−W)/(S−W))) / 2`, down to 0.
 * - one-cycle (Smith & Topin, "Super-Convergence", 2019), exactly PyTorch's `OneCycleLR` with its
 *   defaults (`anneal_strategy='cos'`, `div_factor` 25, `final_div_factor` 1e4, β1 cycled 0.95 → 0.85 → 0.95):
 *   from peak/25 up to the peak over `warmup`·S steps, then down to peak/2.5e5.
 * @example const s = createSchedule({name: 'one-cycle', peakFactor: 3}, 1e-3, 2500); s(0).learningRate // 1.2e-4
 */
export function createSchedule(spec: ScheduleSpec, baseLearningRate: number, totalSteps: number): Schedule {
  checkScheduleSpec(spec);
  if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new UsageError(`totalSteps must be a positive integer, got ${totalSteps}`);
  const {name = 'constant', peakFactor = 1} = spec;
  const peak = baseLearningRate * peakFactor;
  if (name === 'constant') return () => ({learningRate: peak});
  if (name === 'cosine') {
    const warm = Math.floor((spec.warmup ?? 0) * totalSteps);
    return (step) => {
      if (step < warm) return {learningRate: (peak * (step + 1)) / warm};
      return {learningRate: cosAnneal(peak, 0, (step - warm) / Math.max(1, totalSteps - warm))};
    };
  }
  // PyTorch OneCycleLR: phase ends at pct_start·S − 1 and S − 1.
  const initial = peak / 25;
  const min = initial / 1e4;
  const end1 = (spec.warmup ?? 0.3) * totalSteps - 1;
  const end2 = totalSteps - 1;
  return (step) => {
    if (step <= end1) {
      const t = end1 <= 0 ? 1 : step / end1;
      return {learningRate: cosAnneal(initial, peak, t), beta1: cosAnneal(0.95, 0.85, t)};
    }
    const t = (step - end1) / Math.max(1e-9, end2 - end1);
    return {learningRate: cosAnneal(peak, min, t), beta1: cosAnneal(0.85, 0.95, t)};
  };
}

/** Where a schedule's values go: an optimizer with a settable rate (and β1), like HostAdam. */
interface Schedulable {
  learningRate: number;
  beta1?: number;
}

/**
 * The schedule as an engine hook: before each step it sets the optimizer's learning rate (and
 * β1 for one-cycle) for that global step. The optimizer must have a settable `learningRate`
 * (HostAdam has).
 * @example hooks: [scheduleHook(createSchedule({name: 'cosine', warmup: 0.05}, 1e-3, steps))]
 */
export function scheduleHook(schedule: Schedule): {beforeForward(ctx: {readonly optimizer: unknown; readonly step: number}): void} {
  return {
    beforeForward(ctx) {
      const opt = ctx.optimizer as Schedulable;
      if (typeof opt.learningRate !== 'number') {
        throw new UsageError('a learning-rate schedule needs an optimizer with a settable learningRate (HostAdam)');
      }
      const v = schedule(ctx.step);
      opt.learningRate = v.learningRate;
      if (v.beta1 !== undefined && typeof opt.beta1 === 'number') opt.beta1 = v.beta1;
    },
  };
}
