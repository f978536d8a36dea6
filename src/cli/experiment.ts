// The seed article's experiment: train a teacher, distill it into a student, train the same student
// from scratch (same initial weights), and compare the three.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {toTensors, type Dataset} from '../data/index.js';
import {Distiller, type DistillationLossName} from '../distill/index.js';
import {createModel} from '../models/index.js';
import {fit, kerasAdam, type History, type Callback} from '../train/index.js';
import {summarize, type RunResult} from './common.js';

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
}

/** The Keras example's settings ("Knowledge Distillation", keras.io). */
export const KERAS_SETTINGS = {
  epochsTeacher: 5,
  epochsStudent: 3,
  batchSize: 32,
  learningRate: 1e-3,
  alpha: 0.1,
  temperature: 10,
  distillationLoss: 'kl',
} as const;

export interface ExperimentHooks {
  /** Progress callbacks for one phase; `steps` is the number of steps per epoch. */
  progress?(phase: 'teacher' | 'distilled' | 'scratch', epochs: number, steps: number): {callbacks: Callback; stop(): void};
  /** Called with each trained model, e.g. to save it. */
  trained?(name: 'teacher' | 'distilled' | 'scratch', model: tfl.LayersModel): Promise<void>;
  readonly signal?: AbortSignal;
  /** An already trained teacher: skips the teacher phase. */
  readonly teacher?: tfl.LayersModel;
  /** Reuse the teacher's logits of each example across epochs (same result, faster). @default true */
  readonly cacheTeacherLogits?: boolean;
}

export interface ExperimentResult {
  readonly runs: RunResult[];
}

/** Runs teacher → distilled student → scratch student on `data`. Models are disposed afterwards. */
export async function runExperiment(data: Dataset, s: ExperimentSettings, hooks: ExperimentHooks = {}): Promise<ExperimentResult> {
  const shape = {inputShape: data.inputShape, numClasses: data.numClasses};
  const train = toTensors(data.train, data.inputShape);
  const val = toTensors(data.validation ?? data.test, data.inputShape);
  const steps = Math.ceil(data.train.count / s.batchSize);
  const runs: RunResult[] = [];
  const owned: tfl.LayersModel[] = [];
  // Each phase trains one model with an Adam of its own, disposed with the phase.
  type Body = (callbacks: Callback, optimizer: tf.Optimizer) => Promise<History>;
  const phase = async (name: 'teacher' | 'distilled' | 'scratch', epochs: number, body: Body,
    model: tfl.LayersModel, modelName: string) => {
    const p = hooks.progress?.(name, epochs, steps);
    const optimizer = kerasAdam(s.learningRate);
    const t0 = performance.now();
    let history: History;
    try {
      history = await body(p?.callbacks ?? {}, optimizer);
    } finally {
      p?.stop();
      optimizer.dispose();
    }
    const seconds = (performance.now() - t0) / 1000;
    runs.push(summarize(name, modelName, model, data, seconds, history));
    await hooks.trained?.(name, model);
  };
  const loop = {batchSize: s.batchSize, seed: s.seed, validationData: [val.x, val.y] as const, signal: hooks.signal};
  try {
    let teacher = hooks.teacher;
    if (teacher == null) {
      const t = createModel(s.teacher, {...shape, seed: s.seed});
      owned.push(t);
      teacher = t;
      await phase('teacher', s.epochsTeacher,
        (callbacks, optimizer) => fit(t, train.x, train.y, {...loop, epochs: s.epochsTeacher, optimizer, callbacks}),
        t, s.teacher);
    } else {
      runs.push(summarize('teacher', s.teacher, teacher, data, 0, []));
    }
    // The same seed gives the distilled and the scratch student bit-identical initial weights.
    const studentSeed = s.seed + 1;
    const student = createModel(s.student, {...shape, seed: studentSeed});
    owned.push(student);
    const distiller = new Distiller({teacher, student});
    await phase('distilled', s.epochsStudent, (callbacks, optimizer) => {
      distiller.compile({optimizer, alpha: s.alpha, temperature: s.temperature, distillationLossFn: s.distillationLoss});
      return distiller.fit(train.x, train.y,
        {...loop, epochs: s.epochsStudent, callbacks, cacheTeacherLogits: hooks.cacheTeacherLogits});
    }, student, s.student);
    const scratch = createModel(s.student, {...shape, seed: studentSeed});
    owned.push(scratch);
    await phase('scratch', s.epochsStudent,
      (callbacks, optimizer) => fit(scratch, train.x, train.y, {...loop, epochs: s.epochsStudent, optimizer, callbacks}),
      scratch, s.student);
    return {runs};
  } finally {
    for (const m of owned) m.dispose();
    tf.dispose([train.x, train.y, val.x, val.y]);
  }
}
