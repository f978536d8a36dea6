// The training and inference steps timed: a tfjs-layers model, Adam, softmax cross-entropy on
// logits with integer labels, either as a plain tfjs user writes it or as hafif's `fit` runs it.
import * as tf from '@tensorflow/tfjs-core';
import type {LayersModel} from '@tensorflow/tfjs-layers';

import {sparseCategoricalCrossentropy} from '../../dist/losses/index.js';
import {kerasStudent, kerasTeacher} from '../../dist/models/keras.js';
import {fitStep, kerasAdam} from '../../dist/train/trainer.js';

export type ModelName = 'teacher' | 'student';
export const MODELS: readonly ModelName[] = ['teacher', 'student'];

/**
 * Whose training step: 'hafif' = `fit`'s step (HostAdam, the host cross-entropy, loss and accuracy
 * read back each step); 'tfjs' = `tf.train.adam` + `tf.losses.softmaxCrossEntropy`, what a plain
 * tfjs user gets.
 */
export type Trainer = 'hafif' | 'tfjs';
export const TRAINERS: readonly Trainer[] = ['hafif', 'tfjs'];
/** How tables name a trainer's step. */
export const TRAINER_LABEL: Readonly<Record<Trainer, string>> = {hafif: 'hafif fit step', tfjs: 'tf.train.adam'};

export const TRAIN_BATCH = 32;
export const INFER_BATCH = 256;

/** A model with its optimizer and one batch of random data, on the active backend. */
export interface Session {
  readonly model: LayersModel;
  /** One full optimizer step; returns the loss. */
  trainStep(): number;
  /** One forward pass over INFER_BATCH images; returns the first logit. */
  inferStep(): number;
  dispose(): void;
}

export function makeSession(name: ModelName, trainer: Trainer = 'tfjs', seed = 1): Session {
  const model = (name === 'teacher' ? kerasTeacher : kerasStudent)({seed});
  const x = tf.randomUniform([TRAIN_BATCH, 28, 28, 1], 0, 1, 'float32', seed);
  const y = tf.randomUniform([TRAIN_BATCH], 0, 10, 'int32', seed + 1) as tf.Tensor1D;
  const xInfer = tf.randomUniform([INFER_BATCH, 28, 28, 1], 0, 1, 'float32', seed + 2);
  let optimizer: tf.Optimizer;
  let trainStep: () => number;
  if (trainer === 'hafif') {
    optimizer = kerasAdam();
    const step = fitStep(model, {optimizer, lossFn: sparseCategoricalCrossentropy, outputs: 'logits'});
    const batch = {x, y, indices: Int32Array.from({length: TRAIN_BATCH}, (_, i) => i)};
    trainStep = () => step(batch).loss;
  } else {
    // Keras defaults, epsilon as in Keras (1e-7) rather than tfjs's 1e-8.
    const adam = tf.train.adam(1e-3, 0.9, 0.999, 1e-7);
    optimizer = adam;
    const varList = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const loss = () => {
      const logits = model.apply(x, {training: true}) as tf.Tensor;
      return tf.losses.softmaxCrossEntropy(tf.cast(tf.oneHot(y, 10), 'float32'), logits) as tf.Scalar;
    };
    trainStep = () => {
      const cost = adam.minimize(loss, true, varList);
      if (cost == null) throw new Error(`${name}: optimizer.minimize returned no cost`);
      const v = cost.dataSync()[0];
      cost.dispose();
      return v;
    };
  }
  return {
    model,
    trainStep,
    inferStep() {
      // predict() splits its input into batches of 32 unless told otherwise.
      return tf.tidy(() => (model.predict(xInfer, {batchSize: INFER_BATCH}) as tf.Tensor).dataSync()[0]);
    },
    dispose() {
      optimizer.dispose();
      model.dispose();
      tf.dispose([x, y, xInfer]);
    },
  };
}
