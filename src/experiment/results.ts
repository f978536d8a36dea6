// What a phase's model scored, and the comparison table of a run.
import Table from 'cli-table3';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {toTensors, type Dataset} from '../data/index.js';
import {formatBytes, formatCount, modelSize, type ModelSizeOptions} from '../models/index.js';
import {confusionMatrix, evaluate, measureInference, type History} from '../train/index.js';
import type {ExperimentSettings} from './settings.js';

/** One trained model's line in results.json. */
export interface RunResult {
  readonly name: string;
  readonly model: string;
  readonly params: number;
  /** Weights that are not exactly zero. */
  readonly nonZeroParams: number;
  readonly bytes: number;
  /** On-disk size gzipped (model.json + weights), where the model was read from files. */
  readonly gzipBytes?: number;
  readonly testAccuracy: number;
  readonly testLoss: number;
  readonly trainSeconds: number;
  readonly inferenceImagesPerSecond: number;
  readonly history: readonly Record<string, number>[];
  /** Test-split counts, `confusion[actual][predicted]`. */
  readonly confusion?: number[][];
}

/** The test set as tensors, made once per run and shared by every phase's summary. */
export interface TestTensors {
  readonly x: tf.Tensor;
  readonly y: tf.Tensor;
}

/** Test metrics, size and inference speed of a trained model (the only place the test set is read). */
export function summarize(name: string, modelName: string, model: tfl.LayersModel, data: Dataset, trainSeconds: number,
  history: History, test?: TestTensors, sizeOptions: ModelSizeOptions = {}): RunResult {
  const {x, y} = test ?? toTensors(data.test, data.inputShape);
  try {
    const {loss, accuracy} = evaluate(model, x, y);
    const speed = measureInference(model, x, {batchSize: 256});
    const size = modelSize(model, sizeOptions);
    return {
      name,
      model: modelName,
      params: size.params,
      nonZeroParams: size.nonZeroParams,
      bytes: size.bytes,
      testAccuracy: accuracy,
      testLoss: loss,
      trainSeconds,
      inferenceImagesPerSecond: speed.imagesPerSecond,
      history: history.map((h) => {
        const row: Record<string, number> = {};
        for (const k of ['epoch', 'loss', 'accuracy', 'valLoss', 'valAccuracy', 'studentLoss', 'distillationLoss']) {
          if (h[k] != null) row[k] = h[k];
        }
        return row;
      }),
      confusion: confusionMatrix(model, x, y, {batchSize: 256}),
    };
  } finally {
    if (test == null) tf.dispose([x, y]);
  }
}

/** What a run's results.json holds. */
export interface ExperimentReport {
  readonly dataset: string;
  readonly trainSize: number;
  readonly testSize: number;
  /** Examples held out of the training data for the per-epoch validation figures (0: none). */
  readonly validationSize: number;
  readonly backend: string;
  readonly settings: ExperimentSettings;
  readonly runs: readonly RunResult[];
  /** Backend, versions, machine, threads, command line (see the CLI's `environment`). */
  readonly environment?: Readonly<Record<string, string | number>>;
}

/**
 * The comparison table: params (and non-zero params when a model is pruned), bytes (and gzip
 * bytes where measured), test accuracy and loss, train time, inference speed.
 */
export function comparisonTable(r: ExperimentReport, options: {readonly style?: 'plain' | 'color'} = {}): string {
  const plain = options.style !== 'color';
  const sparse = r.runs.some((run) => run.nonZeroParams != null && run.nonZeroParams < run.params);
  const gzip = r.runs.some((run) => run.gzipBytes != null);
  const head = ['model', 'params', ...(sparse ? ['non-zero'] : []), 'bytes', ...(gzip ? ['gzip'] : []),
    'test accuracy', 'test loss', 'train time', 'inference img/s'];
  const t = new Table({
    head,
    colAligns: head.map((_, i) => (i === 0 ? 'left' : 'right')),
    ...(plain ? {style: {head: [], border: []}} : {}),
  });
  for (const run of r.runs) {
    t.push([
      `${run.name} (${run.model})`,
      formatCount(run.params),
      ...(sparse ? [formatCount(run.nonZeroParams ?? run.params)] : []),
      formatBytes(run.bytes),
      ...(gzip ? [run.gzipBytes != null ? formatBytes(run.gzipBytes) : '–'] : []),
      `${(run.testAccuracy * 100).toFixed(2)}%`,
      run.testLoss.toFixed(4),
      `${run.trainSeconds.toFixed(1)} s`,
      formatCount(Math.round(run.inferenceImagesPerSecond)),
    ]);
  }
  const s = r.settings;
  const validation = r.validationSize > 0 ? `validation ${r.validationSize} held out of train` : 'no validation split';
  const compress = s.pruneSparsity != null
    ? `; pruned to ${s.pruneSparsity} over ${s.pruneEpochs} epochs, weights ${s.quantizeDtype}` : '';
  const title = `${r.dataset}: ${r.trainSize} train / ${r.testSize} test (${validation}), backend ${r.backend}; ` +
    `alpha ${s.alpha}, ${s.distillationLoss === 'kl' ? `kl, T ${s.temperature}` : 'mse'}, ` +
    `${(s.teachers ?? 1) > 1 ? `${s.teachers} teachers` : 'teacher'} ${s.epochsTeacher} epochs${recipeNote(s.teacherAugment, s.teacherSchedule)}, ` +
    `students ${s.epochsStudent}${recipeNote(undefined, s.studentSchedule)}, batch ${s.batchSize}${compress}`;
  return `${title}\n${t.toString()}`;
}

/** ` (shift2, one-cycle:3)`: what a phase's augmentation and schedule add to plain training; '' for none. */
function recipeNote(augment: string | undefined, schedule: string | undefined): string {
  const parts = [augment && augment !== 'none' ? augment : '', schedule && schedule !== 'constant' ? schedule : ''].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}
