// Flags and steps shared by the subcommands.
import {Command, Option} from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {useBackend, type BackendName} from '../backend/index.js';
import {datasetNames, loadDataset, toTensors, type Dataset} from '../data/index.js';
import {modelSize, weightsGzipBytes} from '../models/index.js';
import {confusionMatrix, evaluate, measureInference, type History} from '../train/index.js';
import {oneOf, parseNonNegativeInt, parsePositiveInt, parseUnit} from './options.js';

export interface DataFlags {
  readonly dataset: string;
  readonly dataDir?: string;
  readonly limit?: number;
  readonly validationSplit?: number;
  readonly seed: number;
  readonly backend: BackendName;
  readonly batchSize: number;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/** --dataset, --data-dir, --limit, --validation-split, --seed, --backend, --batch-size, --json, --quiet. */
export function addDataFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--dataset <name>', 'dataset').choices(datasetNames()).default('mnist'))
    .option('--data-dir <dir>', 'read the dataset files from DIR instead of the embedded set or the download cache')
    .option('--limit <n>', 'use at most N training examples', parsePositiveInt)
    .option('--validation-split <f>', 'hold out this fraction of the training set for validation (default: validate on the test set)', parseUnit)
    .option('--seed <n>', 'seed of data splits, shuffling and weight initialization', parseNonNegativeInt, 0)
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').argParser(oneOf(['native', 'cpu'] as const)).default('native'))
    .option('--batch-size <n>', 'examples per training step', parsePositiveInt, 32)
    .option('--json', 'print machine-readable JSON on stdout')
    .option('--quiet', 'no progress output');
}

/** Activates the backend and loads the dataset named by the flags. */
export async function prepare(flags: DataFlags, onProgress?: (msg: string) => void): Promise<{backend: BackendName; data: Dataset}> {
  const backend = useBackend(flags.backend);
  const data = await loadDataset(flags.dataset, {
    dataDir: flags.dataDir,
    limit: flags.limit,
    validationSplit: flags.validationSplit,
    seed: flags.seed,
    onProgress,
  });
  return {backend, data};
}

/** One trained model's line in results.json. */
export interface RunResult {
  readonly name: string;
  readonly model: string;
  readonly params: number;
  readonly bytes: number;
  readonly testAccuracy: number;
  readonly testLoss: number;
  readonly trainSeconds: number;
  readonly inferenceImagesPerSecond: number;
  readonly history: readonly Record<string, number>[];
  /** gzip size of the saved weights. */
  readonly gzipBytes: number;
  /** Test-split counts, `confusion[actual][predicted]`. */
  readonly confusion: number[][];
}

/** Test metrics, size and inference speed of a trained model. */
export function summarize(name: string, modelName: string, model: tfl.LayersModel, data: Dataset, trainSeconds: number,
  history: History): RunResult {
  const {x, y} = toTensors(data.test, data.inputShape);
  try {
    const {loss, accuracy} = evaluate(model, x, y);
    const speed = measureInference(model, x, {batchSize: 256});
    const size = modelSize(model);
    return {
      name,
      model: modelName,
      params: size.params,
      bytes: size.bytes,
      testAccuracy: accuracy,
      testLoss: loss,
      trainSeconds,
      inferenceImagesPerSecond: speed.imagesPerSecond,
      history: history.map((h) => ({
        epoch: h.epoch,
        loss: h.loss,
        accuracy: h.accuracy,
        valLoss: h.valLoss,
        valAccuracy: h.valAccuracy,
        ...(h.studentLoss != null ? {studentLoss: h.studentLoss, distillationLoss: h.distillationLoss} : {}),
      })),
      gzipBytes: weightsGzipBytes(model),
      confusion: confusionMatrix(model, x, y, {batchSize: 256}),
    };
  } finally {
    tf.dispose([x, y]);
  }
}

/**
 * The teacher and student for a dataset. For the 28×28 datasets hafif recommends the deeper
 * conv-BN teacher (the README's search); `keras` gives the Keras example's own pair.
 */
export function defaultModels(dataset: string, recipe: 'recommended' | 'keras' = 'recommended'): {teacher: string; student: string} {
  if (dataset === 'cifar10') return {teacher: 'cifar-teacher', student: 'cifar-student'};
  return {teacher: recipe === 'keras' ? 'keras-teacher' : 'deep-teacher', student: 'keras-student'};
}
