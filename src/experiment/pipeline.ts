// The seed article's experiment as a list of phases: train a teacher, distill it into a student,
// train the same student from scratch (same initial weights), and compare. With a run
// directory, every phase checkpoints and a stopped run resumes exactly where it stopped.
import {readFile} from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {toTensors, type Dataset} from '../data/index.js';
import {Distiller, type LogitsTeacher, type Teacher} from '../distill/index.js';
import {createModel} from '../models/index.js';
import {
  checkIdentity,
  checkpointCallback,
  fit,
  kerasAdam,
  latestCheckpoint,
  restoreCheckpoint,
  type Callback,
  type History,
  type LoopOptions,
  type RunIdentity,
  type TrainPosition,
} from '../train/index.js';
import {writeFileAtomic} from '../util/atomic.js';
import {UsageError} from '../util/registry.js';
import {modelFiles} from '../io/index.js';
import {checkSparsity, cloneModel, constantSparsity, MagnitudePruner, polynomialDecay, strip, type PruningSchedule} from '../prune/index.js';
import {saveQuantized} from '../quantize/index.js';
import {summarize, type RunResult} from './results.js';
import {augmentationOf, labelsTrainingOptions, memberSeed, parseAugment, parseSchedule, scheduleHooks} from './recipe.js';
import {COMPRESS_DEFAULTS, type ExperimentSettings, PLAIN} from './settings.js';

/**
 * The compression phase's schedule: sparsity rises from 0 to `sparsity` (TFMOT's polynomial
 * decay, power 3) over the first half of fine-tuning, masks updated ten times, then holds.
 */
export function fineTuneSchedule(sparsity: number, totalSteps: number): PruningSchedule {
  const frequency = Math.max(1, Math.floor(totalSteps / 20));
  const endStep = frequency * Math.floor(totalSteps / 2 / frequency);
  if (endStep <= 0) return constantSparsity({targetSparsity: sparsity, frequency: 1});
  return polynomialDecay({initialSparsity: 0, finalSparsity: sparsity, beginStep: 0, endStep, frequency});
}

/** A teacher's phase: `teacher`, and for an ensemble's further members `teacher-2`, `teacher-3`, ... */
export type TeacherPhase = 'teacher' | `teacher-${number}`;

/** The phases of the seed experiment, in order. */
export type PhaseName = TeacherPhase | 'distilled' | 'scratch' | 'pruned' | 'quantized';

/** Every phase of a one-teacher run, in the order a run goes through them. */
export const PHASES: readonly PhaseName[] = ['teacher', 'distilled', 'scratch', 'pruned', 'quantized'];

/** The teacher phases of `s`: `teacher`, then `teacher-2` ... `teacher-K` for an ensemble of K. */
export function teacherPhases(s: Pick<ExperimentSettings, 'teachers'>): TeacherPhase[] {
  const k = s.teachers ?? PLAIN.teachers;
  return ['teacher', ...Array.from({length: k - 1}, (_, i): TeacherPhase => `teacher-${i + 2}`)];
}

/** Progress display of one phase. */
export interface PhaseProgress {
  readonly callbacks: Callback;
  stop(): void;
}

/** How a run reports and where it keeps its state. */
export interface ExperimentOptions {
  /** Progress callbacks for one phase; `steps` is the number of steps per epoch. */
  progress?(phase: PhaseName, epochs: number, steps: number): PhaseProgress;
  /** Called with each trained model (after it is saved into the run directory, if any). */
  trained?(name: PhaseName, model: tfl.LayersModel): Promise<void>;
  readonly signal?: AbortSignal;
  /** An already trained teacher: skips the teacher phase. A LogitsTeacher (e.g. an ONNX model) only distills. */
  readonly teacher?: tfl.LayersModel | LogitsTeacher;
  /** Reuse the teacher's logits of each example across epochs (same result, faster). @default true */
  readonly cacheTeacherLogits?: boolean;
  /**
   * The run's directory: each phase's model (DIR/teacher, ...), run.json with the finished
   * phases' results, and checkpoints (DIR/checkpoints/PHASE) at every epoch's end, every
   * `checkpointEvery` steps and when the run is aborted.
   */
  readonly runDir?: string;
  /** Also checkpoint every N steps. */
  readonly checkpointEvery?: number;
  /** Continue the run in `runDir` from its last state instead of starting over. */
  readonly resume?: boolean;
  /**
   * The phases to run, in pipeline order.
   * @default teacher (unless `teacher` is given), distilled, scratch, and with `pruneSparsity` set pruned and quantized
   */
  readonly phases?: readonly PhaseName[];
  /** Where a phase's model is saved in the run directory. @default runDir/PHASE */
  modelDir?(phase: PhaseName): string;
  /** Non-fatal news, such as a corrupt checkpoint skipped. */
  onWarning?(message: string): void;
  /** A checkpoint was written. */
  onCheckpoint?(file: string, phase: PhaseName, position: TrainPosition): void;
}

export interface ExperimentResult {
  readonly runs: RunResult[];
}

/** What identifies a run for resuming: its settings and its data. */
export function runIdentity(data: Dataset, s: ExperimentSettings): RunIdentity {
  const {featureLosses, ...flat} = s;
  return {
    ...flat,
    ...(featureLosses?.length ? {featureLosses: featureLosses.map((f) => `${f.kind}:${f.studentLayer}:${f.teacherLayer}:${f.weight ?? ''}`).join(',')} : {}),
    dataset: data.name,
    source: data.source,
    trainSize: data.train.count,
    validationSize: data.validation?.count ?? 0,
    testSize: data.test.count,
  };
}

/** run.json: the finished phases of a run. */
interface RunState {
  readonly format: 'hafif-run';
  readonly version: 1;
  readonly identity: RunIdentity;
  readonly finished: Partial<Record<PhaseName, RunResult>>;
}

const RUN_FILE = 'run.json';

async function readRunState(dir: string): Promise<RunState | null> {
  let text: string;
  try {
    text = await readFile(path.join(dir, RUN_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let state: RunState;
  try {
    state = JSON.parse(text) as RunState;
  } catch {
    throw new UsageError(`${path.join(dir, RUN_FILE)}: not valid JSON`);
  }
  if (state?.format !== 'hafif-run' || state.version !== 1 || typeof state.finished !== 'object') {
    throw new UsageError(`${path.join(dir, RUN_FILE)}: not a hafif run state`);
  }
  return state;
}

/** One phase: the model it trains and how. */
interface Phase {
  readonly name: PhaseName;
  readonly modelName: string;
  readonly epochs: number;
  /**
   * Whether the phase writes checkpoints. Off when it trains variables outside the model (a
   * hint's regressor), which a checkpoint does not hold. @default true
   */
  readonly checkpoints?: boolean;
  build(): tfl.LayersModel | Promise<tfl.LayersModel>;
  train(model: tfl.LayersModel, optimizer: tf.Optimizer, loop: LoopOptions): Promise<History>;
}

/**
 * Runs teacher → distilled student → scratch student on `data`. Models are disposed afterwards.
 * @example const {runs} = await runExperiment(data, {...RECOMMENDED_SETTINGS, teacher: 'deep-teacher', student: 'keras-student', seed: 0});
 */
export async function runExperiment(data: Dataset, s: ExperimentSettings, options: ExperimentOptions = {}): Promise<ExperimentResult> {
  const {runDir, resume = false} = options;
  if (resume && runDir == null) throw new UsageError('resume needs a run directory');
  if (options.checkpointEvery !== undefined && !(Number.isInteger(options.checkpointEvery) && options.checkpointEvery >= 1)) {
    throw new UsageError(`checkpoint-every must be a positive integer, got ${options.checkpointEvery}`);
  }
  const identity = runIdentity(data, s);
  const compress = s.pruneSparsity != null;
  const members = s.teachers ?? PLAIN.teachers;
  if (!(Number.isInteger(members) && members >= 1)) throw new UsageError(`teachers must be a positive integer, got ${members}`);
  if (members > 1 && s.featureLosses?.length) throw new UsageError('feature losses need one teacher: they read its layers, an ensemble has several');
  if (members > 1 && options.teacher != null) throw new UsageError(`a trained teacher is distilled alone: teachers must be 1 with it, got ${members}`);
  const teacherAugment = parseAugment(s.teacherAugment ?? PLAIN.teacherAugment);
  const teacherSchedule = parseSchedule(s.teacherSchedule ?? PLAIN.teacherSchedule);
  const studentSchedule = parseSchedule(s.studentSchedule ?? PLAIN.studentSchedule);
  const memberPhases = teacherPhases(s);
  const wanted = new Set<PhaseName>(options.phases ?? ['teacher', 'distilled', 'scratch', ...(compress ? ['pruned', 'quantized'] as const : [])]);
  // An ensemble's members train with its first teacher.
  if (wanted.has('teacher')) for (const p of memberPhases) wanted.add(p);
  if ((wanted.has('pruned') || wanted.has('quantized')) && !compress) {
    throw new UsageError('the pruned and quantized phases need pruneSparsity in the settings');
  }
  if (compress) checkSparsity('pruneSparsity', s.pruneSparsity as number);
  if (wanted.has('pruned') && !wanted.has('distilled')) throw new UsageError('the pruned phase compresses the distilled student: run the distilled phase too');
  if (options.teacher == null && !wanted.has('teacher') && wanted.has('distilled')) {
    throw new UsageError('distilling needs a teacher: run the teacher phase or pass a trained teacher');
  }
  const modelDir = (phase: PhaseName) => options.modelDir?.(phase) ?? path.join(runDir as string, phase);
  let finished: Partial<Record<PhaseName, RunResult>> = {};
  if (resume && s.featureLosses?.length) {
    throw new UsageError('a run with feature losses cannot be resumed: the hint regressor is not checkpointed; rerun it from the start');
  }
  if (resume) {
    const dir = runDir as string;
    const state = await readRunState(dir);
    const hasCheckpoints = (await Promise.all([...memberPhases, ...PHASES.slice(1)].map(
      (p) => latestCheckpoint(path.join(dir, 'checkpoints', p), options.onWarning).then((c) => c != null)))).some(Boolean);
    if (state == null && !hasCheckpoints) throw new UsageError(`${dir} is not a hafif run directory (no ${RUN_FILE}, no checkpoints)`);
    if (state) {
      checkIdentity(state.identity, identity, `run ${dir}`);
      finished = {...state.finished};
    }
  }
  const shape = {inputShape: data.inputShape, numClasses: data.numClasses};
  const train = toTensors(data.train, data.inputShape);
  const val = data.validation ? toTensors(data.validation, data.inputShape) : null;
  const test = toTensors(data.test, data.inputShape);
  const steps = Math.ceil(data.train.count / s.batchSize);
  const runs: RunResult[] = [];
  const owned: tfl.LayersModel[] = [];
  const saveState = async () => {
    if (runDir == null) return;
    const state: RunState = {format: 'hafif-run', version: 1, identity, finished};
    await writeFileAtomic(path.join(runDir, RUN_FILE), JSON.stringify(state, null, 2) + '\n');
  };
  const loop: LoopOptions & {validationData?: readonly [tf.Tensor, tf.Tensor]} = {
    batchSize: s.batchSize,
    seed: s.seed,
    signal: options.signal,
    ...(val ? {validationData: [val.x, val.y] as const} : {}),
  };

  /** Trains (or resumes, or reloads) one phase's model; returns it. */
  const runPhase = async (phase: Phase): Promise<tfl.LayersModel> => {
    const done = finished[phase.name];
    if (done != null && runDir != null) {
      const model = await tfl.loadLayersModel(`file://${modelDir(phase.name)}`);
      owned.push(model);
      runs.push(done);
      return model;
    }
    const model = await phase.build();
    owned.push(model);
    const optimizer = kerasAdam(s.learningRate);
    const callbacks: Callback[] = [];
    let resumeAt: TrainPosition | undefined;
    try {
      if (runDir != null && phase.checkpoints !== false) {
        const dir = path.join(runDir, 'checkpoints', phase.name);
        const phaseIdentity = {...identity, phase: phase.name};
        if (resume) {
          const ckpt = await latestCheckpoint(dir, options.onWarning);
          if (ckpt != null) {
            checkIdentity(ckpt.identity, phaseIdentity, `checkpoint ${ckpt.file}`);
            resumeAt = await restoreCheckpoint(ckpt, model, optimizer);
          }
        }
        callbacks.push(checkpointCallback({
          dir, identity: phaseIdentity, everySteps: options.checkpointEvery,
          onSaved: (file, position) => options.onCheckpoint?.(file, phase.name, position),
        }));
      }
      const p = options.progress?.(phase.name, phase.epochs, steps);
      if (p) callbacks.unshift(p.callbacks);
      const t0 = performance.now();
      let history: History;
      try {
        history = await phase.train(model, optimizer, {...loop, epochs: phase.epochs, callbacks, resume: resumeAt});
      } finally {
        p?.stop();
      }
      const seconds = (performance.now() - t0) / 1000 + (resumeAt?.history.reduce((a, h) => a + (h.seconds ?? 0), 0) ?? 0);
      const result = summarize(phase.name, phase.modelName, model, data, seconds, history, test);
      if (runDir != null) await model.save(`file://${modelDir(phase.name)}`);
      finished = {...finished, [phase.name]: result};
      await saveState();
      runs.push(result);
      await options.trained?.(phase.name, model);
      return model;
    } finally {
      optimizer.dispose();
    }
  };

  /** The pruned student with its weights stored as `quantizeDtype`; no training, so no checkpoints. */
  const quantizePhase = async (source: tfl.LayersModel) => {
    const done = finished.quantized;
    if (done != null) {
      runs.push(done);
      return;
    }
    if (runDir == null) throw new UsageError('the quantized phase writes its model: it needs a run directory');
    const dtype = s.quantizeDtype ?? COMPRESS_DEFAULTS.quantizeDtype;
    const dir = modelDir('quantized');
    await saveQuantized(source, dir, {dtype});
    const model = await tfl.loadLayersModel(`file://${dir}`); // dequantized by stock tfjs
    owned.push(model);
    const {weightSpecs} = await modelFiles(dir);
    const result = summarize('quantized', `${s.student} pruned ${s.pruneSparsity} ${dtype}`, model, data, 0, [], test, {weightSpecs});
    finished = {...finished, quantized: result};
    await saveState();
    runs.push(result);
    await options.trained?.('quantized', model);
  };

  /** Schedule hooks of a phase of `epochs` epochs. */
  const scheduled = (spec: typeof studentSchedule, epochs: number) => scheduleHooks(spec, s.learningRate, steps * epochs);

  try {
    let teacher: Teacher | undefined = options.teacher;
    if (teacher == null && wanted.has('teacher')) {
      const trained: tfl.LayersModel[] = [];
      for (const [k, name] of memberPhases.entries()) {
        const seed = memberSeed(s.seed, k);
        trained.push(await runPhase({
          name,
          modelName: s.teacher,
          epochs: s.epochsTeacher,
          build: () => createModel(s.teacher, {...shape, seed}),
          train: (m, optimizer, l) => fit(m, train.x, train.y, {
            ...l, seed, optimizer, hooks: scheduled(teacherSchedule, s.epochsTeacher),
            ...labelsTrainingOptions(augmentationOf(teacherAugment)),
          }),
        }));
      }
      teacher = trained.length === 1 ? trained[0] : trained;
    } else if (teacher instanceof tfl.LayersModel && wanted.has('teacher')) {
      runs.push(summarize('teacher', s.teacher, teacher, data, 0, [], test));
    }
    const frozen = teacher as Teacher;
    // The same seed gives the distilled and the scratch student bit-identical initial weights.
    const studentSeed = s.seed + 1;
    let distilled: tfl.LayersModel | null = null;
    if (wanted.has('distilled')) distilled = await runPhase({
      name: 'distilled',
      modelName: s.student,
      epochs: s.epochsStudent,
      checkpoints: !s.featureLosses?.length,
      build: () => createModel(s.student, {...shape, seed: studentSeed}),
      train: (student, optimizer, l) => {
        const distiller = new Distiller({teacher: frozen, student});
        distiller.compile({optimizer, alpha: s.alpha, temperature: s.temperature, distillationLossFn: s.distillationLoss,
          ...(s.featureLosses?.length ? {featureLosses: s.featureLosses} : {})});
        return distiller.fit(train.x, train.y, {...l, hooks: scheduled(studentSchedule, s.epochsStudent), cacheTeacherLogits: options.cacheTeacherLogits});
      },
    });
    if (wanted.has('scratch')) await runPhase({
      name: 'scratch',
      modelName: s.student,
      epochs: s.epochsStudent,
      build: () => createModel(s.student, {...shape, seed: studentSeed}),
      train: (m, optimizer, l) => fit(m, train.x, train.y, {...l, optimizer, hooks: scheduled(studentSchedule, s.epochsStudent)}),
    });
    if (wanted.has('pruned')) {
      const source = distilled as tfl.LayersModel;
      const epochs = s.pruneEpochs ?? COMPRESS_DEFAULTS.pruneEpochs;
      const pruned = await runPhase({
        name: 'pruned',
        modelName: `${s.student} pruned ${s.pruneSparsity}`,
        epochs,
        build: () => cloneModel(source),
        train: async (student, optimizer, l) => {
          const pruner = new MagnitudePruner(student, {schedule: fineTuneSchedule(s.pruneSparsity as number, steps * epochs)});
          // Resumed between schedule steps: the masks are the zeros the checkpoint holds.
          if (l.resume != null && l.resume.step > 0) pruner.restoreMasks();
          const distiller = new Distiller({teacher: frozen, student});
          distiller.compile({optimizer, alpha: s.alpha, temperature: s.temperature, distillationLossFn: s.distillationLoss});
          const history = await distiller.fit(train.x, train.y, {...l, hooks: [pruner.hook()], cacheTeacherLogits: options.cacheTeacherLogits});
          strip(pruner);
          return history;
        },
      });
      if (wanted.has('quantized')) await quantizePhase(pruned);
    }
    return {runs};
  } finally {
    for (const m of owned) if (m !== options.teacher) m.dispose();
    tf.dispose([train.x, train.y, test.x, test.y, ...(val ? [val.x, val.y] : [])]);
  }
}
