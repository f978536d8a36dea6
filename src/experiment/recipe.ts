// How one model is trained beyond its optimizer: the augmentation and learning-rate schedule
// specs as the CLI, configs and settings write them ("shift2", "one-cycle:3"), and the hooks and
// loop options they turn into. Shared by the experiment's phases and by `hafif search`.
import {checkAugmentSpec, isIdentity, type AugmentSpec} from '../data/index.js';
import {
  batchAugmentation,
  checkScheduleSpec,
  createSchedule,
  crossEntropyTerm,
  scheduleHook,
  type BatchAugmentation,
  type LossTerm,
  type ScheduleSpec,
  type TrainHook,
} from '../train/index.js';
import {UsageError} from '../util/registry.js';

/** `none`, `shift2`, `shift:2+flip+mixup:0.2`, `cutmix` (shift 2, mixup 0.2, cutmix 1 by default). */
export function parseAugment(value: string): AugmentSpec {
  if (value === 'none') return {};
  const spec: {shift?: number; flip?: boolean; mixup?: number; cutmix?: number} = {};
  for (const part of value.split('+')) {
    const m = /^(shift|flip|mixup|cutmix):?(-?[0-9.e]+)?$/.exec(part);
    if (m == null) throw new UsageError(`unknown augmentation "${part}" in "${value}"; expected none or shiftN, flip, mixupA, cutmixA joined by +`);
    const v = m[2] === undefined ? undefined : Number(m[2]);
    if (m[1] === 'flip') spec.flip = true;
    else if (m[1] === 'shift') spec.shift = v ?? 2;
    else if (m[1] === 'mixup') spec.mixup = v ?? 0.2;
    else spec.cutmix = v ?? 1;
  }
  checkAugmentSpec(spec);
  return spec;
}

/** `constant`, `one-cycle[:PEAK[:WARMUP]]`, `cosine[:PEAK[:WARMUP]]`. */
export function parseSchedule(value: string): ScheduleSpec {
  const [name, peak, warmup] = value.split(':');
  if (name !== 'constant' && name !== 'one-cycle' && name !== 'cosine') {
    throw new UsageError(`unknown learning-rate schedule "${value}"; expected constant, one-cycle[:PEAK[:WARMUP]] or cosine[:PEAK[:WARMUP]]`);
  }
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  const spec: ScheduleSpec = {name, ...(peak !== undefined ? {peakFactor: num(peak)} : {}), ...(warmup !== undefined ? {warmup: num(warmup)} : {})};
  checkScheduleSpec(spec);
  return spec;
}

/** The schedule's hook over `totalSteps` optimizer updates; none for a constant rate. */
export function scheduleHooks(spec: ScheduleSpec, learningRate: number, totalSteps: number): TrainHook[] {
  const name = spec.name ?? 'constant';
  return name === 'constant' && (spec.peakFactor ?? 1) === 1 ? [] : [scheduleHook(createSchedule(spec, learningRate, totalSteps))];
}

/** The batch augmentation of a spec; none for a plain one. */
export function augmentationOf(spec: AugmentSpec): BatchAugmentation | undefined {
  return isIdentity(spec) ? undefined : batchAugmentation(spec);
}

/**
 * What `fit` takes to train on the hard labels under an augmentation: the batch transform and,
 * for mixup and cutmix, the cross-entropy on the mixed labels. Empty for no augmentation.
 */
export function labelsTrainingOptions(augmentation: BatchAugmentation | undefined, labelSmoothing = 0):
  {augment?: BatchAugmentation['augment']; lossTerm?: LossTerm} {
  if (augmentation == null && labelSmoothing === 0) return {};
  return {
    ...(augmentation ? {augment: augmentation.augment} : {}),
    lossTerm: crossEntropyTerm({augmentation, labelSmoothing}),
  };
}

/** Seed of a teacher ensemble's member `member` (0: the first teacher, the run's own seed). */
export function memberSeed(seed: number, member: number): number {
  return seed + 1000 * member;
}
