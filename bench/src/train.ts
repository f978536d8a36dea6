// The training and inference steps timed: a registry model, Adam, softmax cross-entropy on logits
// with integer labels, either through hafif's `fit` or as a plain tfjs user writes the step.
import * as tf from '@tensorflow/tfjs-core';
import type {LayersModel} from '@tensorflow/tfjs-layers';

import {createPredictor, type Predictor} from '../../dist/infer/index.js';
import {createModel} from '../../dist/models/registry.js';
import {tapeReason} from '../../dist/train/engine.js';
import {fit, fitStep, kerasAdam} from '../../dist/train/trainer.js';

/** Every model of hafif's registry, with the input it is benchmarked on (the PyTorch script's). */
export const MODEL_INPUTS = {
  'keras-teacher': [28, 28, 1],
  'keras-student': [28, 28, 1],
  'deep-teacher': [28, 28, 1],
  'cifar-teacher': [32, 32, 3],
  'cifar-student': [32, 32, 3],
  'mobile-student': [32, 32, 3],
} as const satisfies Record<string, readonly [number, number, number]>;
export type ModelName = keyof typeof MODEL_INPUTS;
export const MODELS = Object.keys(MODEL_INPUTS) as ModelName[];

/**
 * Whose training step: 'hafif' = hafif's `fit` over `steps` batches (HostAdam, the host
 * cross-entropy, loss and accuracy read back each step, the training loop's batching); 'tfjs' =
 * `tf.train.adam` + `tf.losses.softmaxCrossEntropy`, what a plain tfjs user gets.
 */
export type Trainer = 'hafif' | 'tfjs';
export const TRAINERS: readonly Trainer[] = ['hafif', 'tfjs'];
/** How tables name a trainer's step. */
export const TRAINER_LABEL: Readonly<Record<Trainer, string>> = {hafif: 'hafif fit', tfjs: 'tf.train.adam'};

export const TRAIN_BATCH = 32;
export const INFER_BATCH = 256;
const NUM_CLASSES = 10;

/** A model with its optimizer and random data, on the active backend. */
export interface Session {
  readonly model: LayersModel;
  /** One optimizer step on one batch (fit's step for 'hafif'); returns the loss. */
  trainStep(): number;
  /** For 'hafif': true when fit's step runs compiled (off the tape); false for 'tfjs'. */
  readonly compiled: boolean;
  /** `steps` optimizer steps; for 'hafif' one `fit` call over `steps` batches. Returns the last loss. */
  train(steps: number): Promise<number>;
  /** Builds what `train(steps)` reads (fit's host copy of the batches), so that timing leaves it out. */
  prepare(steps: number): void;
  /** One forward pass over INFER_BATCH images with `model.predict`; returns the first logit. */
  inferStep(): number;
  /**
   * The same pass through hafif's fused predictor (createPredictor), built from the current weights
   * on the first call after training; returns the first logit.
   */
  predictorStep(): number;
  /** Largest |predictor - model.predict| over the INFER_BATCH logits, relative to the largest |logit|. */
  predictorError(): number;
  dispose(): void;
}

export function makeSession(name: ModelName, trainer: Trainer = 'tfjs', seed = 1): Session {
  const inputShape = MODEL_INPUTS[name];
  const model = createModel(name, {inputShape, numClasses: NUM_CLASSES, seed});
  const x = tf.randomUniform([TRAIN_BATCH, ...inputShape], 0, 1, 'float32', seed);
  const y = tf.randomUniform([TRAIN_BATCH], 0, NUM_CLASSES, 'int32', seed + 1) as tf.Tensor1D;
  const xInfer = tf.randomUniform([INFER_BATCH, ...inputShape], 0, 1, 'float32', seed + 2);
  let optimizer: tf.Optimizer;
  let trainStep: () => number;
  let train: (steps: number) => Promise<number>;
  let prepare: (steps: number) => void = () => {};
  let compiled = false;
  if (trainer === 'hafif') {
    optimizer = kerasAdam();
    const step = fitStep(model, {optimizer, loss: 'sparse-categorical-crossentropy', outputs: 'logits'});
    compiled = tapeReason(step) == null;
    const batch = {x, y, indices: Int32Array.from({length: TRAIN_BATCH}, (_, i) => i)};
    let stepCount = 0;
    trainStep = () => step(batch, {model, optimizer, epoch: 0, batch: 0, step: stepCount++}).loss;
    // fit() on the host copy of `steps` batches: the batch repeated, in order, one epoch. The copy
    // is made once per step count, before the call is timed: a user's data is in memory already.
    const xHost = x.dataSync() as Float32Array, yHost = y.dataSync() as Int32Array;
    const hostData = new Map<number, {data: Float32Array; labels: Int32Array}>();
    const dataFor = (steps: number) => {
      let d = hostData.get(steps);
      if (d == null) {
        d = {data: new Float32Array(steps * xHost.length), labels: new Int32Array(steps * TRAIN_BATCH)};
        for (let i = 0; i < steps; i++) {
          d.data.set(xHost, i * xHost.length);
          d.labels.set(yHost, i * TRAIN_BATCH);
        }
        hostData.set(steps, d);
      }
      return d;
    };
    prepare = (steps) => void dataFor(steps);
    train = async (steps) => {
      const {data, labels} = dataFor(steps);
      const history = await fit(model, {data, shape: [steps * TRAIN_BATCH, ...inputShape]}, labels,
        {epochs: 1, batchSize: TRAIN_BATCH, shuffle: false, optimizer});
      return history[history.length - 1].loss;
    };
  } else {
    // Keras defaults, epsilon as in Keras (1e-7) rather than tfjs's 1e-8.
    const adam = tf.train.adam(1e-3, 0.9, 0.999, 1e-7);
    optimizer = adam;
    const varList = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const loss = () => {
      const logits = model.apply(x, {training: true}) as tf.Tensor;
      return tf.losses.softmaxCrossEntropy(tf.cast(tf.oneHot(y, NUM_CLASSES), 'float32'), logits) as tf.Scalar;
    };
    trainStep = () => {
      const cost = adam.minimize(loss, true, varList);
      if (cost == null) throw new Error(`${name}: optimizer.minimize returned no cost`);
      const v = cost.dataSync()[0];
      cost.dispose();
      return v;
    };
    train = async (steps) => {
      let v = NaN;
      for (let i = 0; i < steps; i++) v = trainStep();
      return v;
    };
  }
  let predictor: Predictor | null = null;
  const fused = () => (predictor ??= createPredictor(model, {batchSize: INFER_BATCH}));
  return {
    model,
    trainStep,
    compiled,
    train,
    prepare,
    predictorStep() {
      return tf.tidy(() => fused().predict(xInfer, INFER_BATCH).dataSync()[0]);
    },
    predictorError() {
      return tf.tidy(() => {
        // Against tfjs's own layer-by-layer predict: model.predict itself runs the fused plan on
        // native unless HAFIF_PREDICT_PLAN=0 (read on every call).
        const saved = process.env.HAFIF_PREDICT_PLAN;
        process.env.HAFIF_PREDICT_PLAN = '0';
        let want: ArrayLike<number>;
        try {
          want = (model.predict(xInfer, {batchSize: INFER_BATCH}) as tf.Tensor).dataSync();
        } finally {
          if (saved === undefined) delete process.env.HAFIF_PREDICT_PLAN;
          else process.env.HAFIF_PREDICT_PLAN = saved;
        }
        const got = fused().predict(xInfer, INFER_BATCH).dataSync();
        let worst = 0, scale = 0;
        for (let i = 0; i < want.length; i++) {
          worst = Math.max(worst, Math.abs(got[i] - want[i]));
          scale = Math.max(scale, Math.abs(want[i]));
        }
        return worst / (scale || 1);
      });
    },
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
