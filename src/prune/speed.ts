// Speed of a model against its pruned version, measured side by side in one run.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {fit, HostAdam, measureInference, type Inputs, type Labels} from '../train/index.js';

/** A copy of a model with its own variables (the topology and weights round-trip through memory). */
export async function cloneModel(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return {modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts)};
    }),
  );
  return tfl.loadLayersModel(tf.io.fromMemory(saved as unknown as tf.io.ModelArtifacts));
}

/** Images per second of each model, inference and training. */
export interface SpeedComparison {
  readonly inferenceImagesPerSecond: readonly number[];
  readonly trainImagesPerSecond: readonly number[];
  /** Rounds run; each value is the best of them. */
  readonly rounds: number;
}

/** Options of {@link compareSpeed}. */
export interface CompareSpeedOptions {
  /** Inference batch size. @default 256 */
  readonly batchSize?: number;
  /** Training batch size. @default 32 */
  readonly trainBatchSize?: number;
  /** Alternating rounds (A B A B ...); the best of each model is kept, which damps a shared machine's noise. @default 2 */
  readonly rounds?: number;
}

/**
 * Inference (over all of `x`) and training (one epoch of Adam steps over `train`, on a copy, so
 * the models are not changed) speed of several models, measured alternately in the same run so
 * that their ratio is fair.
 */
export async function compareSpeed(
  models: readonly tfl.LayersModel[],
  x: Inputs,
  train: readonly [Inputs, Labels],
  options: CompareSpeedOptions = {},
): Promise<SpeedComparison> {
  const {batchSize = 256, trainBatchSize = 32, rounds = 2} = options;
  const inference = models.map(() => 0);
  const training = models.map(() => 0);
  const copies = await Promise.all(models.map((m) => cloneModel(m)));
  try {
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < models.length; i++) {
        inference[i] = Math.max(inference[i], measureInference(models[i], x, {batchSize}).imagesPerSecond);
        const optimizer = new HostAdam();
        try {
          const [h] = await fit(copies[i], train[0], train[1], {epochs: 1, batchSize: trainBatchSize, optimizer});
          training[i] = Math.max(training[i], h.imagesPerSecond);
        } finally {
          optimizer.dispose();
        }
      }
    }
  } finally {
    for (const c of copies) c.dispose();
  }
  return {inferenceImagesPerSecond: inference, trainImagesPerSecond: training, rounds};
}
