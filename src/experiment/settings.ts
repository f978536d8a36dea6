// The knobs of the seed experiment and hafif's recommended values.
import type {FeatureLossSpec} from '../distill/index.js';
import type {DistillationLossName} from '../losses/index.js';

/** The knobs of one experiment. */
export interface ExperimentSettings {
  readonly teacher: string;
  readonly student: string;
  readonly epochsTeacher: number;
  readonly epochsStudent: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly alpha: number;
  readonly temperature: number;
  readonly distillationLoss: DistillationLossName;
  readonly seed: number;
  /**
   * Teachers trained, their logits averaged for distillation (an ensemble, Hinton et al. 2015).
   * Member k (from 0) is the same model and recipe with initial weights and batch order from
   * seed + 1000·k; member 0 is phase `teacher`, member k phase `teacher-(k+1)`. @default 1
   */
  readonly teachers?: number;
  /** The teachers' batch augmentation, as `hafif search` writes it (`none`, `shift2`, ...). @default 'none' */
  readonly teacherAugment?: string;
  /** The teachers' learning-rate schedule (`constant`, `one-cycle:3`, `cosine:2:0.05`). @default 'constant' */
  readonly teacherSchedule?: string;
  /** The distilled and scratch students' learning-rate schedule. @default 'constant' */
  readonly studentSchedule?: string;
  /** Feature losses (FitNets hints, attention transfer) of the distilled phase, on named layers. */
  readonly featureLosses?: readonly FeatureLossSpec[];
  /**
   * Compress the distilled student after training: magnitude-prune it to this sparsity while
   * distilling again from the teacher (phase `pruned`), then store its weights as
   * `quantizeDtype` (phase `quantized`). Unset: no compression phases.
   */
  readonly pruneSparsity?: number;
  /** Fine-tuning epochs of the pruned phase. @default 2 */
  readonly pruneEpochs?: number;
  /** @default 'uint8' */
  readonly quantizeDtype?: 'uint8' | 'uint16' | 'float16';
}

/** The compression phases' defaults. */
export const COMPRESS_DEFAULTS = {pruneSparsity: 0.8, pruneEpochs: 2, quantizeDtype: 'uint8'} as const;

/** The training knobs' values when unset: one teacher, no augmentation, a constant learning rate. */
export const PLAIN = {teachers: 1, teacherAugment: 'none', teacherSchedule: 'constant', studentSchedule: 'constant'} as const;

/** The Keras example's settings ("Knowledge Distillation", keras.io). */
export const KERAS_SETTINGS = {
  epochsTeacher: 5,
  epochsStudent: 3,
  batchSize: 32,
  learningRate: 1e-3,
  alpha: 0.1,
  temperature: 10,
  distillationLoss: 'kl',
  ...PLAIN,
} as const;

/**
 * The quick recipe (hafif's recommendation before teacher ensembles): the Keras example's
 * schedule of 5 teacher and 3 student epochs at a constant rate, with the deeper conv-BN teacher,
 * alpha 0.9 and the squared difference of logits. About half a minute on two cores.
 */
export const QUICK_SETTINGS = {
  ...KERAS_SETTINGS,
  alpha: 0.9,
  distillationLoss: 'mse',
} as const;

/**
 * hafif's recommended settings, from `hafif search` on the embedded MNIST (README, "Distillation
 * that wins"), chosen on a validation split: two deeper conv-BN teachers (see
 * {@link defaultModels}), each 12 epochs with ±2-pixel shifts and a one-cycle rate (peak 3e-3),
 * their logits averaged; the student distilled on the ensemble's soft targets alone (kl, T 4,
 * alpha 0) for 10 epochs without augmentation, under a one-cycle rate peaking at 2e-2. Soft
 * targets let the student take a rate at which the same student on hard labels overfits.
 */
export const RECOMMENDED_SETTINGS = {
  epochsTeacher: 12,
  epochsStudent: 10,
  batchSize: 32,
  learningRate: 1e-3,
  alpha: 0,
  temperature: 4,
  distillationLoss: 'kl',
  teachers: 2,
  teacherAugment: 'shift2',
  teacherSchedule: 'one-cycle:3',
  studentSchedule: 'one-cycle:20',
} as const;

/** What `hafif search` measured for a recipe: paired distilled − scratch, points, over seeds. */
export interface RecipeEvidence {
  readonly meanPoints: number;
  readonly sdPoints: number;
  readonly seeds: number;
  readonly split: 'validation' | 'test';
  /**
   * The same on the same split against the student's best scratch recipe (chosen on validation
   * among the search's scratch recipes), where that differs from the recipe's own scratch twin.
   */
  readonly againstBestScratch?: {readonly recipe: string; readonly meanPoints: number; readonly sdPoints: number};
}

/**
 * What `hafif search` measured for {@link RECOMMENDED_SETTINGS} on the embedded MNIST, on the test
 * split for the setting chosen on validation (1,000 of the 8,000 training digits held out, 3 seeds,
 * paired distilled − scratch, points): README, "Distillation that wins".
 */
export const RECOMMENDED_EVIDENCE: RecipeEvidence = {
  meanPoints: 1.52,
  sdPoints: 0.18,
  seeds: 3,
  split: 'test',
  // The scratch twin trains without augmentation at the distilled student's high rate, where it
  // overfits; trained with ±1-pixel shifts and one-cycle ×10 it is as good as the distilled one.
  againstBestScratch: {recipe: 'shift1, one-cycle ×10', meanPoints: 0.02, sdPoints: 0.14},
};

/**
 * What `hafif search` measured for {@link QUICK_SETTINGS} on the embedded MNIST, on validation:
 * `hafif search --seeds 0,1,2 --teacher-epochs 5 --teacher-augment none --teacher-schedule constant
 * --loss mse,kl --alpha 0.9,0.5,0.1 --temperature 10 --epochs 3 --augment none --schedule constant
 * --teacher-view clean`.
 */
export const QUICK_EVIDENCE: RecipeEvidence = {
  meanPoints: 0.53,
  sdPoints: 0.93,
  seeds: 3,
  split: 'validation',
};

type Recipe = Omit<ExperimentSettings, 'teacher' | 'student' | 'seed' | 'temperature' | 'featureLosses'> & {readonly temperature: number};

/** True when `s` trains as `r` does (the temperature counts only for kl). */
function sameRecipe(s: ExperimentSettings, r: Recipe): boolean {
  const keys = ['epochsTeacher', 'epochsStudent', 'batchSize', 'learningRate', 'alpha', 'distillationLoss'] as const;
  const knobs = ['teachers', 'teacherAugment', 'teacherSchedule', 'studentSchedule'] as const;
  return keys.every((k) => s[k] === r[k]) && knobs.every((k) => (s[k] ?? PLAIN[k]) === (r[k] ?? PLAIN[k])) &&
    (s.distillationLoss !== 'kl' || s.temperature === r.temperature) && (s.featureLosses?.length ?? 0) === 0;
}

/**
 * The line a run of a searched recipe on the embedded MNIST prints under its table: the gain the
 * search measured, with its spread, and this run's own. Null for any other recipe or data,
 * which the search did not measure.
 */
export function expectedGainNote(s: ExperimentSettings, dataset: string, trainSize: number, gainPoints: number | null): string | null {
  if (!(dataset === 'mnist' && trainSize === 8000 && s.teacher === 'deep-teacher' && s.student === 'keras-student')) return null;
  const e = sameRecipe(s, RECOMMENDED_SETTINGS) ? RECOMMENDED_EVIDENCE : sameRecipe(s, QUICK_SETTINGS) ? QUICK_EVIDENCE : null;
  if (e == null) return null;
  const sign = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;
  const best = e.againstBestScratch;
  return `expected distilled − scratch for this recipe: ${sign(e.meanPoints)} ± ${e.sdPoints.toFixed(2)} points ` +
    `(hafif search, ${e.seeds} seeds, ${e.split} split` +
    (best ? `; against the best scratch recipe found, ${best.recipe}: ${sign(best.meanPoints)} ± ${best.sdPoints.toFixed(2)}` : '') + ')' +
    (gainPoints == null ? '' : `; this run, on test: ${sign(gainPoints)}`);
}

/**
 * The teacher and student for a dataset. For the 28×28 datasets hafif recommends the deeper
 * conv-BN teacher (the README's search); `keras` gives the Keras example's own pair.
 */
export function defaultModels(dataset: string, recipe: 'recommended' | 'keras' = 'recommended'): {teacher: string; student: string} {
  if (dataset === 'cifar10') return {teacher: 'cifar-teacher', student: 'cifar-student'};
  return {teacher: recipe === 'keras' ? 'keras-teacher' : 'deep-teacher', student: 'keras-student'};
}
