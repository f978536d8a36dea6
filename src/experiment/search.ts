// `hafif search`: distillation settings against the same student trained from scratch, over
// several seeds, chosen on a validation split carved from the training data. Every run is one
// JSON file in OUT/runs (written atomically), so a stopped search resumes where it stopped and
// several processes (--jobs, or cluster jobs) can share one output directory.
import {createHash} from 'node:crypto';
import {existsSync} from 'node:fs';
import {mkdir, open, readFile, readdir, rm} from 'node:fs/promises';
import {hostname} from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {checkAugmentSpec, datasetInputShape, isIdentity, loadDataset, toTensors, type AugmentSpec, type Dataset, type DatasetName} from '../data/index.js';
import {DISTILLER_LOSSES, Distiller, checkFeatureLoss, parseFeatureLoss, type DistillerLossName, type FeatureLossSpec, type TeacherView} from '../distill/index.js';
import {createModel} from '../models/index.js';
import {
  checkScheduleSpec,
  evaluate,
  fit,
  HostAdam,
  type ScheduleSpec,
  type TrainHook,
} from '../train/index.js';
import {writeFileAtomic} from '../util/atomic.js';
import {UsageError} from '../util/registry.js';
import {augmentationOf, labelsTrainingOptions, memberSeed, scheduleHooks} from './recipe.js';

/** How one model is trained: epochs, augmentation, schedule. */
export interface TrainRecipe {
  readonly epochs: number;
  readonly augment: AugmentSpec;
  readonly schedule: ScheduleSpec;
  /** @default 1e-3 */
  readonly learningRate: number;
  /** AdamW decoupled weight decay. @default 0 */
  readonly weightDecay: number;
  /** @default 0 */
  readonly labelSmoothing: number;
}

/** The teacher every setting of a search distills from (one per seed, trained once and cached). */
export interface TeacherRecipe extends TrainRecipe {
  readonly model: string;
}

/** One distillation setting: a student recipe and the KD loss. */
export interface SearchSetting extends TrainRecipe {
  readonly loss: DistillerLossName;
  readonly alpha: number;
  readonly temperature: number;
  readonly dkdAlpha: number;
  readonly dkdBeta: number;
  readonly teacherView: TeacherView;
  /** A feature loss on named layers, `hint:STUDENT:TEACHER` or `attention:STUDENT:TEACHER`; absent: none. */
  readonly feature?: string;
  /** Teachers per seed, their logits averaged (an ensemble); absent: one. */
  readonly teachers?: number;
}

/** The axes of a search: each a non-empty list of values. */
export interface SearchSpace {
  readonly loss: readonly DistillerLossName[];
  readonly alpha: readonly number[];
  readonly temperature: readonly number[];
  readonly dkdAlpha: readonly number[];
  readonly dkdBeta: readonly number[];
  readonly epochs: readonly number[];
  readonly augment: readonly AugmentSpec[];
  readonly teacherView: readonly TeacherView[];
  readonly schedule: readonly ScheduleSpec[];
  readonly learningRate: readonly number[];
  readonly weightDecay: readonly number[];
  readonly labelSmoothing: readonly number[];
  /** Feature losses: `none`, `hint:STUDENT:TEACHER`, `attention:STUDENT:TEACHER`. @default ['none'] */
  readonly feature?: readonly string[];
  /**
   * Teacher ensemble sizes: K teachers per seed (the same recipe, other initial weights and batch
   * order), their logits averaged. @default [1]
   */
  readonly teachers?: readonly number[];
}

/** `hint:conv1:relu4` as a feature loss spec; null for `none`. UsageError for anything else. */
export function parseFeatureSpec(text: string): FeatureLossSpec | null {
  if (text === 'none') return null;
  const m = /^(hint|attention):([^:\s]+:[^:\s]+)$/.exec(text);
  if (m == null) throw new UsageError(`feature "${text}": expected none, hint:STUDENT_LAYER:TEACHER_LAYER or attention:STUDENT_LAYER:TEACHER_LAYER`);
  return parseFeatureLoss(m[1] as FeatureLossSpec['kind'], m[2] as string);
}

/** What a search runs on. */
export interface SearchConfig {
  readonly dataset: string;
  readonly dataDir?: string;
  readonly limit?: number;
  /** Fraction of the training set held out to choose on, in (0, 1). */
  readonly validationSplit: number;
  readonly seeds: readonly number[];
  readonly student: string;
  readonly teacher: TeacherRecipe;
  /** Examples per step of the students. */
  readonly batchSize: number;
  /**
   * Examples per step of the teachers. @default batchSize. Set, a search over student batch sizes
   * keeps one set of teachers: the teachers of `--batch-size 8 --teacher-batch-size 32` are those
   * of `--batch-size 32`.
   */
  readonly teacherBatchSize?: number;
  readonly space: SearchSpace;
  /** 'grid': every combination; 'random': `samples` of them, drawn with `searchSeed`. @default 'grid' */
  readonly mode: 'grid' | 'random';
  readonly samples?: number;
  readonly searchSeed?: number;
  /** The shared output directory. */
  readonly out: string;
  /** This process runs tasks i with i % count === index. @default {index: 0, count: 1} */
  readonly shard?: {readonly index: number; readonly count: number};
}

/** One finished training run, as OUT/runs/KEY.json holds it. */
export interface RunRecord {
  readonly key: string;
  readonly kind: 'teacher' | 'distilled' | 'scratch';
  readonly seed: number;
  readonly recipe: TeacherRecipe | SearchSetting | TrainRecipe;
  readonly valAccuracy: number;
  /** Teachers only: a teacher is not selected, so its test accuracy is reported for every seed. */
  readonly testAccuracy?: number;
  readonly seconds: number;
}

/** Summary of one setting over the seeds. */
export interface SettingSummary {
  readonly setting: SearchSetting;
  readonly label: string;
  readonly seeds: number[];
  readonly distilledVal: number[];
  readonly scratchVal: number[];
  /** Paired distilled − scratch validation accuracy, per seed. */
  readonly diffVal: number[];
}

/** The chosen setting on the test split, per seed. */
export interface ChosenTest {
  readonly label: string;
  readonly seeds: number[];
  readonly distilled: number[];
  readonly scratch: number[];
  readonly diff: number[];
  /**
   * The best scratch recipe on validation among the search's (where it is not the chosen
   * setting's own twin): its test accuracy and the distilled student's difference to it, per seed.
   */
  readonly bestScratch?: {readonly label: string; readonly scratch: number[]; readonly diff: number[]};
}

/** The scratch recipe of the search with the best mean validation accuracy. */
export interface BestScratch {
  readonly recipe: TrainRecipe;
  readonly label: string;
  readonly scratchVal: number[];
}

/** The outcome of a search. */
export interface SearchReport {
  readonly config: SearchConfig;
  readonly teachers: {seed: number; valAccuracy: number; testAccuracy: number}[];
  /** The extra teachers of ensembles (member k ≥ 1 of each seed), when the space has any. */
  readonly members: {seed: number; member: number; valAccuracy: number; testAccuracy: number}[];
  readonly settings: SettingSummary[];
  /**
   * The best mean validation accuracy of the distilled student (ties: the larger paired
   * difference); null until every setting ran on every seed.
   */
  readonly chosen: SettingSummary | null;
  /**
   * The best scratch recipe on validation among the settings' twins. Choosing by the paired
   * difference would reward settings whose twin trains badly; the distilled student is chosen
   * by its own accuracy and also compared with the best scratch student the search trained.
   */
  readonly bestScratch: BestScratch | null;
  readonly test: ChosenTest | null;
  /** Settings × seeds not run yet (other shards, or a stopped search). */
  readonly missing: number;
}

/** Throws a UsageError when a search's config is unusable, naming the bad value. */
export function checkSearchConfig(c: SearchConfig): void {
  if (!(c.validationSplit > 0 && c.validationSplit < 1)) {
    throw new UsageError(`a search chooses on a validation split: validation split must be in (0, 1), got ${c.validationSplit}`);
  }
  if (c.seeds.length === 0) throw new UsageError('search axis seeds is empty');
  for (const [name, v] of [['batch size', c.batchSize], ['teacher batch size', teacherBatch(c)]] as const) {
    if (!(Number.isInteger(v) && v >= 1)) throw new UsageError(`${name} must be a positive integer, got ${v}`);
  }
  for (const [axis, values] of Object.entries(c.space)) {
    if ((values as unknown[]).length === 0) throw new UsageError(`search axis ${axis} is empty`);
  }
  for (const l of c.space.loss) {
    if (!DISTILLER_LOSSES.includes(l)) throw new UsageError(`unknown distillation loss "${l}"; expected one of ${DISTILLER_LOSSES.join(', ')}`);
  }
  for (const a of c.space.alpha) if (!(a >= 0 && a <= 1)) throw new UsageError(`alpha must be in [0, 1], got ${a}`);
  for (const t of c.space.temperature) if (!(t > 0 && Number.isFinite(t))) throw new UsageError(`temperature must be a finite number > 0, got ${t}`);
  for (const e of c.space.epochs) if (!Number.isInteger(e) || e < 1) throw new UsageError(`epochs must be a positive integer, got ${e}`);
  for (const v of c.space.teacherView) if (v !== 'same' && v !== 'clean') throw new UsageError(`teacher view must be same or clean, got ${v}`);
  for (const s of [...c.space.augment, c.teacher.augment]) checkAugmentSpec(s);
  for (const s of [...c.space.schedule, c.teacher.schedule]) checkScheduleSpec(s);
  for (const v of c.space.labelSmoothing) if (!(v >= 0 && v < 1)) throw new UsageError(`label smoothing must be in [0, 1), got ${v}`);
  for (const f of c.space.feature ?? []) parseFeatureSpec(f);
  for (const k of c.space.teachers ?? []) if (!Number.isInteger(k) || k < 1) throw new UsageError(`teachers must be a positive integer, got ${k}`);
  if ((c.space.teachers ?? []).some((k) => k > 1) && (c.space.feature ?? []).some((f) => f !== 'none')) {
    throw new UsageError('feature losses read one teacher\'s layers: they cannot be searched with teacher ensembles (teachers > 1)');
  }
  if (c.mode === 'random' && !(Number.isInteger(c.samples) && (c.samples as number) > 0)) {
    throw new UsageError(`a random search needs samples, a positive integer, got ${c.samples}`);
  }
}

/** The settings of a search, in a fixed order (grid order, or the seeded random sample of it). */
export function searchSettings(c: SearchConfig): SearchSetting[] {
  const s = c.space;
  const out: SearchSetting[] = [];
  for (const loss of s.loss) {
    // Axes a loss ignores collapse to one value, so the grid holds no duplicate runs.
    const temps = loss === 'mse' ? [s.temperature[0]] : s.temperature;
    const dA = loss === 'dkd' ? s.dkdAlpha : [s.dkdAlpha[0]];
    const dB = loss === 'dkd' ? s.dkdBeta : [s.dkdBeta[0]];
    for (const alpha of s.alpha) for (const temperature of temps) for (const dkdAlpha of dA) for (const dkdBeta of dB)
      for (const epochs of s.epochs) for (const augment of s.augment) for (const teacherView of s.teacherView)
        for (const schedule of s.schedule) for (const learningRate of s.learningRate) for (const weightDecay of s.weightDecay)
          for (const labelSmoothing of s.labelSmoothing) for (const feature of s.feature ?? ['none']) for (const teachers of s.teachers ?? [1]) {
            // Without augmentation both views are the same: keep one.
            if (isIdentity(augment) && teacherView === 'clean' && s.teacherView.includes('same')) continue;
            // `none` and one teacher add no field, so such settings keep their run keys.
            out.push({loss, alpha, temperature, dkdAlpha, dkdBeta, epochs, augment, teacherView, schedule, learningRate, weightDecay, labelSmoothing,
              ...(feature !== 'none' ? {feature} : {}), ...(teachers > 1 ? {teachers} : {})});
          }
  }
  if (c.mode !== 'random') return out;
  // A seeded partial Fisher–Yates: the first `samples` of a permutation.
  let a = (c.searchSeed ?? 0) >>> 0;
  const rng = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const k = Math.min(c.samples as number, out.length);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng() * (out.length - i));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out.slice(0, k);
}

/** `shift2+mixup0.2`, `none`: an augmentation as the CLI writes it. */
export function augmentLabel(a: AugmentSpec): string {
  const parts = [
    a.shift ? `shift${a.shift}` : '',
    a.flip ? 'flip' : '',
    a.mixup !== undefined ? `mixup${a.mixup}` : '',
    a.cutmix !== undefined ? `cutmix${a.cutmix}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join('+') : 'none';
}

/** `one-cycle×3`, `cosine/w0.05`, `constant`. */
export function scheduleLabel(s: ScheduleSpec): string {
  const name = s.name ?? 'constant';
  return `${name}${s.peakFactor && s.peakFactor !== 1 ? `×${s.peakFactor}` : ''}${s.warmup ? `/w${s.warmup}` : ''}`;
}

function recipeLabel(r: TrainRecipe): string {
  return `${r.epochs} ep, ${augmentLabel(r.augment)}, ${scheduleLabel(r.schedule)}, lr ${r.learningRate}` +
    `${r.weightDecay ? `, wd ${r.weightDecay}` : ''}${r.labelSmoothing ? `, ls ${r.labelSmoothing}` : ''}`;
}

/** A setting as one table cell: `dkd α0.9 T4 (1/8), view same; 10 ep, shift2, one-cycle×3, lr 0.001`. */
export function settingLabel(s: SearchSetting): string {
  const loss = s.loss === 'mse' ? 'mse' : s.loss === 'dkd' ? `dkd T${s.temperature} (${s.dkdAlpha}/${s.dkdBeta})` : `${s.loss} T${s.temperature}`;
  return `${loss} α${s.alpha}${s.feature ? ` + ${s.feature.replace(':', ' ')}` : ''}${s.teachers ? `, ${s.teachers} teachers` : ''}` +
    `, view ${s.teacherView}; ${recipeLabel(s)}`;
}

/** The part of a setting its scratch twin shares: everything but the distillation. */
function studentRecipe(s: TrainRecipe): TrainRecipe {
  return {epochs: s.epochs, augment: s.augment, schedule: s.schedule, learningRate: s.learningRate, weightDecay: s.weightDecay, labelSmoothing: s.labelSmoothing};
}

/** A stable file name for a run: kind, seed and a hash of everything that determines it. */
function runKey(kind: RunRecord['kind'], what: unknown, seed: number): string {
  const h = createHash('sha256').update(stableJson(what)).digest('hex').slice(0, 16);
  return `${kind}-${h}-s${seed}`;
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v != null && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Everything besides the recipe that determines a run's result. */
function context(c: SearchConfig) {
  return {dataset: c.dataset, dataDir: c.dataDir, limit: c.limit, validationSplit: c.validationSplit, batchSize: c.batchSize};
}

interface Task {
  readonly kind: 'distilled' | 'scratch';
  readonly seed: number;
  readonly key: string;
  readonly recipe: SearchSetting | TrainRecipe;
}

/** The search's runs: one scratch run per (student recipe, seed), one distilled run per (setting, seed). */
function tasks(c: SearchConfig, settings: SearchSetting[]): Task[] {
  const out: Task[] = [];
  const seen = new Set<string>();
  for (const seed of c.seeds) {
    for (const s of settings) {
      const sr = studentRecipe(s);
      const sk = runKey('scratch', {student: c.student, ...context(c), recipe: sr}, seed);
      if (!seen.has(sk)) {
        seen.add(sk);
        out.push({kind: 'scratch', seed, key: sk, recipe: sr});
      }
      out.push({kind: 'distilled', seed, key: distilledKey(c, s, seed), recipe: s});
    }
  }
  return out;
}

/**
 * The name of a seed's teacher in OUT/runs and OUT/teachers; `member` k > 0 is the k-th extra
 * teacher of an ensemble (initial weights and batch order from seed + 1000·k).
 */
export function teacherKey(c: SearchConfig, seed: number, member = 0): string {
  return runKey('teacher', {...context(c), batchSize: teacherBatch(c), recipe: c.teacher, ...(member > 0 ? {member} : {})}, seed);
}

function teacherBatch(c: SearchConfig): number {
  return c.teacherBatchSize ?? c.batchSize;
}

/** How many teachers per seed the search's settings need. */
function ensembleSize(c: SearchConfig): number {
  return Math.max(1, ...(c.space.teachers ?? [1]));
}

/** The seed of a teacher's initial weights and batch order. */
function distilledKey(c: SearchConfig, s: SearchSetting, seed: number): string {
  return runKey('distilled', {student: c.student, ...context(c), teacher: teacherKey(c, seed), recipe: s}, seed);
}

/** Progress messages of a search. */
export interface SearchEvents {
  onRunDone?(record: RunRecord, done: number, total: number): void;
  onMessage?(message: string): void;
  readonly signal?: AbortSignal;
}

/**
 * Runs this shard's share of the search: trains each seed's teacher once (shared through
 * OUT/teachers; a lock file keeps two processes from training the same one), then every
 * (setting, seed) run not already in OUT/runs. Students are saved in OUT/students for the final
 * test evaluation of the chosen setting.
 */
export async function runSearch(c: SearchConfig, events: SearchEvents = {}): Promise<void> {
  checkSearchConfig(c);
  const settings = searchSettings(c);
  const features = [...new Set((c.space.feature ?? []).filter((f) => f !== 'none'))];
  if (features.length > 0) {
    // Unknown layers and unmatched shapes fail here, not after the teachers trained.
    const shape = {inputShape: datasetInputShape(c.dataset as DatasetName), numClasses: 10};
    const t = createModel(c.teacher.model, shape);
    const st = createModel(c.student, shape);
    try {
      for (const f of features) checkFeatureLoss(t, st, parseFeatureSpec(f) as FeatureLossSpec);
    } finally {
      t.dispose();
      st.dispose();
    }
  }
  const {index = 0, count = 1} = c.shard ?? {};
  const all = tasks(c, settings);
  const mine = all.filter((_, i) => i % count === index);
  let done = 0;
  // Teachers first, one (seed, member) per shard in turn, so shards train different teachers side by side.
  // A seed's split is loaded once for all of this shard's members of it.
  const K = ensembleSize(c);
  for (const [s, seed] of c.seeds.entries()) {
    const members = Array.from({length: K}, (_, member) => member)
      .filter((member) => (s * K + member) % count === index && !existsSync(runFile(c, teacherKey(c, seed, member))));
    if (members.length === 0) continue;
    const data = await loadDataset(c.dataset, {dataDir: c.dataDir, limit: c.limit, validationSplit: c.validationSplit, seed});
    const train = toTensors(data.train, data.inputShape);
    const val = toTensors(data.validation as NonNullable<Dataset['validation']>, data.inputShape);
    try {
      for (const member of members) (await obtainTeacher(c, seed, member, data, train, val, events)).dispose();
    } finally {
      tf.dispose([train.x, train.y, val.x, val.y]);
    }
  }
  for (const seed of c.seeds) {
    const seedTasks = mine.filter((t) => t.seed === seed && !existsSync(runFile(c, t.key)));
    if (seedTasks.length === 0) {
      done += mine.filter((t) => t.seed === seed).length;
      continue;
    }
    const data = await loadDataset(c.dataset, {dataDir: c.dataDir, limit: c.limit, validationSplit: c.validationSplit, seed});
    const train = toTensors(data.train, data.inputShape);
    const val = toTensors(data.validation as NonNullable<Dataset['validation']>, data.inputShape);
    const teachers: tfl.LayersModel[] = [];
    try {
      const needed = Math.max(0, ...seedTasks.filter((t) => t.kind === 'distilled').map((t) => (t.recipe as SearchSetting).teachers ?? 1));
      for (let member = 0; member < needed; member++) teachers.push(await obtainTeacher(c, seed, member, data, train, val, events));
      for (const t of mine.filter((x) => x.seed === seed)) {
        events.signal?.throwIfAborted();
        done++;
        if (existsSync(runFile(c, t.key))) continue;
        const record = await trainStudent(c, t, data, train, val, teachers);
        await writeFileAtomic(runFile(c, t.key), JSON.stringify(record, null, 1) + '\n');
        events.onRunDone?.(record, done, mine.length);
      }
    } finally {
      for (const m of teachers) m.dispose();
      tf.dispose([train.x, train.y, val.x, val.y]);
    }
  }
}

function runFile(c: SearchConfig, key: string): string {
  return path.join(c.out, 'runs', `${key}.json`);
}

type Split = {x: tf.Tensor4D; y: tf.Tensor1D};

function optimizerAndHooks(r: TrainRecipe, steps: number): {optimizer: HostAdam; hooks: TrainHook[]} {
  const optimizer = new HostAdam({learningRate: r.learningRate, epsilon: 1e-7, weightDecay: r.weightDecay});
  return {optimizer, hooks: scheduleHooks(r.schedule, r.learningRate, steps)};
}

/** Trains `model` on the hard labels with recipe `r` (the teacher, and every scratch student). */
async function trainPlain(model: tfl.LayersModel, r: TrainRecipe, train: Split, batchSize: number, seed: number, signal?: AbortSignal): Promise<void> {
  const steps = r.epochs * Math.ceil(train.x.shape[0] / batchSize);
  const {optimizer, hooks} = optimizerAndHooks(r, steps);
  try {
    await fit(model, train.x, train.y, {
      epochs: r.epochs, batchSize, seed, optimizer, hooks, signal,
      ...labelsTrainingOptions(augmentationOf(r.augment), r.labelSmoothing),
    });
  } finally {
    optimizer.dispose();
  }
}

async function obtainTeacher(c: SearchConfig, seed: number, member: number, data: Dataset, train: Split, val: Split,
  events: SearchEvents): Promise<tfl.LayersModel> {
  const key = teacherKey(c, seed, member);
  const dir = path.join(c.out, 'teachers', key);
  const lock = `${dir}.lock`;
  for (;;) {
    if (existsSync(runFile(c, key)) && existsSync(path.join(dir, 'model.json'))) {
      return tfl.loadLayersModel(`file://${path.join(dir, 'model.json')}`) as Promise<tfl.LayersModel>;
    }
    await mkdir(path.dirname(lock), {recursive: true});
    const fh = await open(lock, 'wx').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') return null;
      throw e;
    });
    if (fh == null) {
      if (await staleLock(lock)) {
        events.onMessage?.(`removing stale lock ${lock} (its process is gone)`);
        await rm(lock, {force: true});
        continue;
      }
      events.onMessage?.(`waiting for teacher ${key} (another process trains it; remove ${lock} if none does)`);
      await new Promise((r) => setTimeout(r, 10_000));
      continue;
    }
    await fh.writeFile(`${hostname()} ${process.pid}\n`);
    await fh.close();
    try {
      const which = member > 0 ? `, ensemble member ${member}` : '';
      events.onMessage?.(`training teacher ${c.teacher.model} for seed ${seed}${which} (${recipeLabel(c.teacher)})`);
      const t0 = performance.now();
      const shape = {inputShape: data.inputShape, numClasses: data.numClasses};
      const teacher = createModel(c.teacher.model, {...shape, seed: memberSeed(seed, member)});
      await trainPlain(teacher, c.teacher, train, teacherBatch(c), memberSeed(seed, member), events.signal);
      await teacher.save(`file://${dir}`);
      const test = toTensors(data.test, data.inputShape);
      const testAccuracy = evaluate(teacher, test.x, test.y).accuracy;
      tf.dispose([test.x, test.y]);
      const record: RunRecord = {
        key, kind: 'teacher', seed, recipe: c.teacher,
        valAccuracy: evaluate(teacher, val.x, val.y).accuracy, testAccuracy,
        seconds: (performance.now() - t0) / 1000,
      };
      await writeFileAtomic(runFile(c, key), JSON.stringify(record, null, 1) + '\n');
      events.onRunDone?.(record, 0, 0);
      return teacher;
    } finally {
      await rm(lock, {force: true});
    }
  }
}

/** True when `lock` names a process on this host that no longer runs (a killed search). */
async function staleLock(lock: string): Promise<boolean> {
  const text = await readFile(lock, 'utf8').catch(() => '');
  const [host, pid] = text.trim().split(' ');
  if (host !== hostname() || !/^\d+$/.test(pid ?? '')) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function trainStudent(c: SearchConfig, t: Task, data: Dataset, train: Split, val: Split, teachers: readonly tfl.LayersModel[]): Promise<RunRecord> {
  const shape = {inputShape: data.inputShape, numClasses: data.numClasses};
  // The same seed gives the distilled student and its scratch twin the same initial weights,
  // batches and augmented views.
  const student = createModel(c.student, {...shape, seed: t.seed + 1});
  const t0 = performance.now();
  try {
    if (t.kind === 'scratch') {
      await trainPlain(student, t.recipe, train, c.batchSize, t.seed);
    } else {
      const s = t.recipe as SearchSetting;
      const steps = s.epochs * Math.ceil(train.x.shape[0] / c.batchSize);
      const {optimizer, hooks} = optimizerAndHooks(s, steps);
      const k = s.teachers ?? 1;
      const d = new Distiller({teacher: k === 1 ? teachers[0] : teachers.slice(0, k), student});
      try {
        const feature = s.feature ? parseFeatureSpec(s.feature) : null;
        d.compile({optimizer, alpha: s.alpha, temperature: s.temperature, distillationLossFn: s.loss,
          dkd: {alpha: s.dkdAlpha, beta: s.dkdBeta}, labelSmoothing: s.labelSmoothing, ...(feature ? {featureLosses: [feature]} : {})});
        await d.fit(train.x, train.y, {
          epochs: s.epochs, batchSize: c.batchSize, seed: t.seed, hooks,
          augmentation: augmentationOf(s.augment),
          teacherView: s.teacherView,
        });
      } finally {
        optimizer.dispose();
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    await student.save(`file://${path.join(c.out, 'students', t.key)}`);
    return {key: t.key, kind: t.kind, seed: t.seed, recipe: t.recipe, valAccuracy: evaluate(student, val.x, val.y).accuracy, seconds};
  } finally {
    student.dispose();
  }
}

async function readRuns(c: SearchConfig): Promise<Map<string, RunRecord>> {
  const dir = path.join(c.out, 'runs');
  const out = new Map<string, RunRecord>();
  if (!existsSync(dir)) return out;
  for (const f of await readdir(dir)) {
    if (!f.endsWith('.json')) continue;
    const r = JSON.parse(await readFile(path.join(dir, f), 'utf8')) as RunRecord;
    out.set(r.key, r);
  }
  return out;
}

/**
 * The search's results from OUT/runs: per setting the validation accuracies and paired
 * differences; the chosen setting (largest mean paired validation difference) once every run
 * is in; then, and only for it, the test accuracy of its students and their scratch twins.
 */
export async function searchReport(c: SearchConfig): Promise<SearchReport> {
  checkSearchConfig(c);
  const runs = await readRuns(c);
  const settings = searchSettings(c);
  let missing = 0;
  const summaries: SettingSummary[] = settings.map((s) => {
    const sum: SettingSummary = {setting: s, label: settingLabel(s), seeds: [], distilledVal: [], scratchVal: [], diffVal: []};
    for (const seed of c.seeds) {
      const d = runs.get(distilledKey(c, s, seed));
      const sc = runs.get(runKey('scratch', {student: c.student, ...context(c), recipe: studentRecipe(s)}, seed));
      if (d == null || sc == null) {
        missing++;
        continue;
      }
      sum.seeds.push(seed);
      sum.distilledVal.push(d.valAccuracy);
      sum.scratchVal.push(sc.valAccuracy);
      sum.diffVal.push(d.valAccuracy - sc.valAccuracy);
    }
    return sum;
  });
  const teachers = c.seeds.flatMap((seed) => {
    const r = runs.get(teacherKey(c, seed));
    return r ? [{seed, valAccuracy: r.valAccuracy, testAccuracy: r.testAccuracy as number}] : [];
  });
  const members = c.seeds.flatMap((seed) => Array.from({length: ensembleSize(c) - 1}, (_, i) => i + 1).flatMap((member) => {
    const r = runs.get(teacherKey(c, seed, member));
    return r ? [{seed, member, valAccuracy: r.valAccuracy, testAccuracy: r.testAccuracy as number}] : [];
  }));
  const complete = summaries.filter((s) => s.seeds.length === c.seeds.length);
  const better = (a: SettingSummary, b: SettingSummary) => {
    const da = mean(a.distilledVal), db = mean(b.distilledVal);
    return da > db || (da === db && mean(a.diffVal) > mean(b.diffVal));
  };
  const chosen = missing === 0 && complete.length > 0 ? complete.reduce((best, s) => (better(s, best) ? s : best)) : null;
  const bestTwin = missing === 0 && complete.length > 0
    ? complete.reduce((best, s) => (mean(s.scratchVal) > mean(best.scratchVal) ? s : best)) : null;
  const bestScratch: BestScratch | null = bestTwin
    ? {recipe: studentRecipe(bestTwin.setting), label: recipeLabel(bestTwin.setting), scratchVal: bestTwin.scratchVal} : null;
  const test = chosen ? await testChosen(c, chosen, bestScratch) : null;
  return {config: c, teachers, members, settings: summaries, chosen, bestScratch, test, missing};
}

async function testChosen(c: SearchConfig, chosen: SettingSummary, best: BestScratch | null): Promise<ChosenTest> {
  const own = studentRecipe(chosen.setting);
  const other = best != null && stableJson(best.recipe) !== stableJson(own) ? best : null;
  const bestScratch = other ? {label: other.label, scratch: [] as number[], diff: [] as number[]} : undefined;
  const out: ChosenTest = {label: chosen.label, seeds: [], distilled: [], scratch: [], diff: [], ...(bestScratch ? {bestScratch} : {})};
  for (const seed of c.seeds) {
    const data = await loadDataset(c.dataset, {dataDir: c.dataDir, limit: c.limit, validationSplit: c.validationSplit, seed});
    const test = toTensors(data.test, data.inputShape);
    try {
      const acc = async (key: string) => {
        const m = await tfl.loadLayersModel(`file://${path.join(c.out, 'students', key, 'model.json')}`);
        try {
          return evaluate(m, test.x, test.y).accuracy;
        } finally {
          m.dispose();
        }
      };
      const d = await acc(distilledKey(c, chosen.setting, seed));
      const s = await acc(runKey('scratch', {student: c.student, ...context(c), recipe: own}, seed));
      out.seeds.push(seed);
      out.distilled.push(d);
      out.scratch.push(s);
      out.diff.push(d - s);
      if (other && bestScratch) {
        const b = await acc(runKey('scratch', {student: c.student, ...context(c), recipe: other.recipe}, seed));
        bestScratch.scratch.push(b);
        bestScratch.diff.push(d - b);
      }
    } finally {
      tf.dispose([test.x, test.y]);
    }
  }
  return out;
}

export function mean(v: readonly number[]): number {
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

/** Sample standard deviation (n − 1); 0 for one value. */
export function sd(v: readonly number[]): number {
  if (v.length < 2) return 0;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
}

/** `95.38 ± 0.54` in percent. */
export function pct(v: readonly number[]): string {
  return v.length ? `${(100 * mean(v)).toFixed(2)} ± ${(100 * sd(v)).toFixed(2)}` : '–';
}

/** `+1.18 ± 0.45` in points. */
export function points(v: readonly number[]): string {
  if (!v.length) return '–';
  const m = 100 * mean(v);
  return `${m >= 0 ? '+' : '−'}${Math.abs(m).toFixed(2)} ± ${(100 * sd(v)).toFixed(2)}`;
}

/** One paired difference in points, signed as {@link points} signs a mean: +0.45, −0.30, 0.00. */
function signedPoints(fraction: number): string {
  const m = Number((100 * fraction).toFixed(2));
  return m === 0 ? '0.00' : `${m > 0 ? '+' : '−'}${Math.abs(m).toFixed(2)}`;
}

/** The report as markdown tables: settings by paired validation gain, teachers, the chosen setting on test. */
export function searchTable(r: SearchReport): string {
  const rows = [...r.settings].sort((a, b) => (mean(b.diffVal) || -Infinity) - (mean(a.diffVal) || -Infinity));
  const lines = [
    `validation (${(100 * r.config.validationSplit).toFixed(1)}% of the training split), mean ± sd over seeds ${r.config.seeds.join(', ')}:`,
    '',
    '| setting | seeds | distilled | scratch | distilled − scratch (paired) |',
    '|---|---|---|---|---|',
    ...rows.map((s) => `| ${s.label} | ${s.seeds.length} | ${pct(s.distilledVal)} | ${pct(s.scratchVal)} | ${points(s.diffVal)} |`),
    '',
    `teacher ${r.config.teacher.model} (${recipeLabel(r.config.teacher)}): ` +
      (r.teachers.length ? `validation ${pct(r.teachers.map((t) => t.valAccuracy))}, test ${pct(r.teachers.map((t) => t.testAccuracy))} (seeds ${r.teachers.map((t) => t.seed).join(', ')})` : 'not trained yet'),
  ];
  if (r.members.length) {
    lines.push(`ensemble members beyond the first (${r.members.length}): validation ${pct(r.members.map((t) => t.valAccuracy))}, ` +
      `test ${pct(r.members.map((t) => t.testAccuracy))}`);
  }
  if (r.bestScratch) {
    lines.push(`best scratch recipe on validation: ${r.bestScratch.label}, ${pct(r.bestScratch.scratchVal)}`);
  }
  if (r.test) {
    const perSeed = (v: number[]) => v.map(signedPoints).join(', ');
    lines.push('', `chosen on validation (best distilled accuracy): ${r.test.label}`, '',
      '| split | distilled | scratch | distilled − scratch (paired) | per seed |', '|---|---|---|---|---|',
      `| test | ${pct(r.test.distilled)} | ${pct(r.test.scratch)} | ${points(r.test.diff)} | ${perSeed(r.test.diff)} |`);
    const b = r.test.bestScratch;
    if (b) lines.push(`| test, against the best scratch recipe (${b.label}) | ${pct(r.test.distilled)} | ${pct(b.scratch)} | ${points(b.diff)} | ${perSeed(b.diff)} |`);
  } else {
    lines.push('', `${r.missing} run(s) missing: no setting chosen, no test accuracy yet`);
  }
  return lines.join('\n');
}
