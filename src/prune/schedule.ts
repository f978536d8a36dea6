// Pruning schedules, as TFMOT's `pruning_schedule.py` (tensorflow/model-optimization,
// tensorflow_model_optimization/python/core/sparsity/keras/pruning_schedule.py).
import {UsageError} from '../util/registry.js';

/** What a schedule says about one training step. */
export interface ScheduleDecision {
  /** Whether the masks are recomputed at this step. */
  readonly prune: boolean;
  /** The sparsity masks are recomputed to, when `prune` is set. */
  readonly sparsity: number;
}

/**
 * When to prune and to which sparsity. `step` is the number of optimizer updates done before
 * the step (TFMOT's `pruning_step`, from 0).
 */
export interface PruningSchedule {
  decide(step: number): ScheduleDecision;
  /** The sparsity the schedule ends at. */
  readonly finalSparsity: number;
  /** For reports: `{kind, ...parameters}`. */
  readonly config: Readonly<Record<string, number | string>>;
}

/**
 * TFMOT's `_should_prune_in_step`: `begin ≤ step ≤ end` (or `end < 0`) and
 * `(step − begin) mod frequency == 0` (a floor modulo, as `tf.math.floormod`).
 */
export function shouldPruneInStep(step: number, begin: number, end: number, frequency: number): boolean {
  const inRange = step >= begin && (step <= end || end < 0);
  const d = step - begin;
  const turn = ((d % frequency) + frequency) % frequency === 0;
  return inRange && turn;
}

/** TFMOT's `_validate_step`, with its messages, as UsageErrors that quote the value. */
function validateSteps(begin: number, end: number, frequency: number, allowNegative1: boolean): void {
  if (!Number.isInteger(begin) || begin < 0) throw new UsageError(`begin-step must be an integer ≥ 0, got ${begin}`);
  if (!Number.isInteger(end)) throw new UsageError(`end-step must be an integer, got ${end}`);
  if (!allowNegative1 && end === -1) throw new UsageError('end-step cannot be -1 for a polynomial schedule');
  if (end !== -1) {
    if (end < 0) throw new UsageError(`end-step can be -1 or ≥ 0, got ${end}`);
    if (end < begin) throw new UsageError(`end-step must be ≥ begin-step (${begin}) unless it is -1, got ${end}`);
  }
  if (!Number.isInteger(frequency) || frequency <= 0) throw new UsageError(`frequency must be a positive integer, got ${frequency}`);
}

/** TFMOT's `_validate_sparsity`: in [0, 1). */
export function checkSparsity(name: string, s: number): void {
  if (!(s >= 0 && s < 1)) throw new UsageError(`${name} must be in [0, 1), got ${s}`);
}

/** Options of {@link constantSparsity}, TFMOT's `ConstantSparsity` arguments. */
export interface ConstantSparsityOptions {
  /** In [0, 1). */
  readonly targetSparsity: number;
  /** @default 0 */
  readonly beginStep?: number;
  /** −1: prune until training ends. @default -1 */
  readonly endStep?: number;
  /** @default 100 */
  readonly frequency?: number;
}

/**
 * TFMOT's `ConstantSparsity(target_sparsity, begin_step, end_step=-1, frequency=100)`: the masks
 * are set to `targetSparsity` on every `frequency`-th step from `beginStep` to `endStep`.
 * @example constantSparsity({targetSparsity: 0.8, frequency: 50}).decide(100) // {prune: true, sparsity: 0.8}
 */
export function constantSparsity(options: ConstantSparsityOptions): PruningSchedule {
  const {targetSparsity: s, beginStep = 0, endStep = -1, frequency = 100} = options;
  validateSteps(beginStep, endStep, frequency, true);
  checkSparsity('sparsity', s);
  return {
    finalSparsity: s,
    config: {kind: 'constant', targetSparsity: s, beginStep, endStep, frequency},
    decide: (step) => ({prune: shouldPruneInStep(step, beginStep, endStep, frequency), sparsity: s}),
  };
}

/** Options of {@link polynomialDecay}, TFMOT's `PolynomialDecay` arguments. */
export interface PolynomialDecayOptions {
  /** In [0, 1). @default 0 */
  readonly initialSparsity?: number;
  /** In [0, 1). */
  readonly finalSparsity: number;
  /** @default 0 */
  readonly beginStep?: number;
  /** Must be > beginStep. */
  readonly endStep: number;
  /** @default 3 */
  readonly power?: number;
  /** @default 100 */
  readonly frequency?: number;
}

/**
 * TFMOT's `PolynomialDecay(initial_sparsity, final_sparsity, begin_step, end_step, power=3,
 * frequency=100)` (Zhu & Gupta 2017, arXiv:1710.01878):
 * `p = clamp((step − begin)/(end − begin), 0, 1)`, `s = (s0 − s1)·(1 − p)^power + s1`.
 * TFMOT accepts end = begin and then divides by zero; hafif requires end > begin.
 * @example polynomialDecay({finalSparsity: 0.8, endStep: 1000}).decide(500).sparsity // 0.7
 */
export function polynomialDecay(options: PolynomialDecayOptions): PruningSchedule {
  const {initialSparsity: s0 = 0, finalSparsity: s1, beginStep = 0, endStep, power = 3, frequency = 100} = options;
  validateSteps(beginStep, endStep, frequency, false);
  if (endStep <= beginStep) {
    throw new UsageError(`end-step must be > begin-step (${beginStep}) for a polynomial schedule, got ${endStep}`);
  }
  checkSparsity('initial sparsity', s0);
  checkSparsity('sparsity', s1);
  if (!Number.isFinite(power)) throw new UsageError(`power must be a finite number, got ${power}`);
  return {
    finalSparsity: s1,
    config: {kind: 'polynomial', initialSparsity: s0, finalSparsity: s1, beginStep, endStep, power, frequency},
    decide: (step) => {
      const p = Math.min(1, Math.max(0, (step - beginStep) / (endStep - beginStep)));
      return {prune: shouldPruneInStep(step, beginStep, endStep, frequency), sparsity: (s0 - s1) * Math.pow(1 - p, power) + s1};
    },
  };
}
