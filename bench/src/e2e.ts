// End-to-end images/s: training steps at batch 32 and inference at batch 256, per model and backend.
import * as tf from '@tensorflow/tfjs-core';

import {peakRss, resetPeakRss, setBackend, type Backend} from './env.js';
import {now, progress} from './timing.js';
import {INFER_BATCH, makeSession, TRAIN_BATCH, TRAINER_LABEL, type ModelName, type Trainer} from './train.js';

export interface E2eResult {
  readonly model: ModelName;
  readonly backend: Backend;
  /** Whose training step was timed (see train.ts). */
  readonly trainer: Trainer;
  readonly trainSteps: number;
  readonly trainMsPerStep: number;
  readonly trainImgPerSec: number;
  /** Inference does not depend on the trainer: null when this row did not time it. */
  readonly inferBatches: number | null;
  readonly inferMsPerBatch: number | null;
  readonly inferImgPerSec: number | null;
  /** The same inference through createPredictor (fused batch norm and activations), timed alternately with model.predict. */
  readonly predictorMsPerBatch: number | null;
  readonly predictorImgPerSec: number | null;
  /** Largest |predictor - model.predict| logit difference relative to the largest |logit|. */
  readonly predictorError: number | null;
  /** Largest RSS seen while training (sampled after each step), bytes. */
  readonly trainRssBytes: number;
  /** VmHWM after training, reset just before it when the kernel allows (`peakRssReset`). */
  readonly peakRssBytes: number | null;
  readonly peakRssReset: boolean;
  readonly finalLoss: number;
  readonly leakedTensors: number;
}

export interface StepBudget {
  /** Timed steps at most. */
  readonly steps: number;
  /** Stop timing more steps after this many milliseconds. */
  readonly budgetMs: number;
}

/** Runs `fn` `steps` times (fewer if the budget runs out, at least once) after warm-up; ms per call. */
function measure(fn: () => void, b: StepBudget): {n: number; ms: number} {
  const w = now();
  fn();
  if (now() - w < b.budgetMs / 20) fn(); // a second warm-up when cheap: Adam's slots appear on step 1
  const t0 = now();
  let n = 0;
  do {
    fn();
    n++;
  } while (n < b.steps && now() - t0 < b.budgetMs);
  return {n, ms: (now() - t0) / n};
}

/**
 * Times training with `trainer`'s step, then inference unless `infer` is null. 'hafif' rows time one
 * `fit` call over `train.steps` batches (after 2-batch warm-up fits, >= 3 and >= 300 ms); 'tfjs' rows time single steps.
 */
export async function benchModel(model: ModelName, backend: Backend, trainer: Trainer, train: StepBudget,
  infer: StepBudget | null): Promise<E2eResult> {
  setBackend(backend);
  const before = tf.memory().numTensors;
  const s = makeSession(model, trainer);
  const what = `${model} (${TRAINER_LABEL[trainer]})`;
  let finalLoss = NaN, trainRss = 0, peakRssReset = false, peakRssBytes: number | null = null;
  let result: Omit<E2eResult, 'leakedTensors'>;
  try {
    progress(`e2e: ${what} training on ${backend}`);
    peakRssReset = resetPeakRss();
    let t: {n: number; ms: number};
    if (trainer === 'hafif') {
      // Warm-up fits of 2 steps, at least 3 and for at least 300 ms (JIT, pool, page faults, clocks).
      const w0 = now();
      for (let k = 0; k < 3 || (now() - w0 < 300 && k < 20); k++) await s.train(2);
      s.prepare(train.steps);
      const t0 = now();
      finalLoss = await s.train(train.steps);
      t = {n: train.steps, ms: (now() - t0) / train.steps};
      trainRss = process.memoryUsage().rss;
    } else {
      t = measure(() => {
        finalLoss = s.trainStep();
        trainRss = Math.max(trainRss, process.memoryUsage().rss);
      }, train);
    }
    peakRssBytes = peakRss();
    let i: {n: number; ms: number} | null = null, p: {n: number; ms: number} | null = null;
    let predictorError: number | null = null;
    if (infer) {
      progress(`e2e: ${model} inference on ${backend} (model.predict and predictor, alternating)`);
      predictorError = s.predictorError();
      // Two rounds each, alternating, half the budget per round; the faster round of each counts.
      const half: StepBudget = {steps: infer.steps, budgetMs: infer.budgetMs / 2};
      for (let round = 0; round < 2; round++) {
        const a = measure(() => s.inferStep(), half), b = measure(() => s.predictorStep(), half);
        if (i == null || a.ms < i.ms) i = a;
        if (p == null || b.ms < p.ms) p = b;
      }
    }
    result = {
      model, backend, trainer,
      trainSteps: t.n, trainMsPerStep: t.ms, trainImgPerSec: (1000 * TRAIN_BATCH) / t.ms,
      inferBatches: i?.n ?? null, inferMsPerBatch: i?.ms ?? null, inferImgPerSec: i ? (1000 * INFER_BATCH) / i.ms : null,
      predictorMsPerBatch: p?.ms ?? null, predictorImgPerSec: p ? (1000 * INFER_BATCH) / p.ms : null, predictorError,
      trainRssBytes: trainRss, peakRssBytes, peakRssReset, finalLoss,
    };
  } finally {
    s.dispose();
  }
  const leakedTensors = tf.memory().numTensors - before;
  if (leakedTensors !== 0) progress(`e2e: warning: ${leakedTensors} tensors left after ${what} on ${backend}`);
  return {...result, leakedTensors};
}
