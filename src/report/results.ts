// What the report reads from results.json: the fields it draws, checked; anything else kept and shown.
import {z} from 'zod';

import {parseOrThrow} from '../util/issues.js';

const finite = z.number().refine(Number.isFinite, {error: 'must be a finite number'});
const unit = z.number().min(0, {error: 'must be in [0, 1]'}).max(1, {error: 'must be in [0, 1]'});

/** One epoch of a phase: loss and accuracy on the training set, and on validation when present. */
const epochRow = z.looseObject({
  epoch: z.number().int().min(0, {error: 'must be a non-negative integer'}),
  loss: finite.optional(),
  accuracy: finite.optional(),
  valLoss: finite.nullable().optional(),
  valAccuracy: finite.nullable().optional(),
});

/** Per-layer sparsity: `{layer: fraction}` or `[{layer, sparsity}]`. */
const sparsity = z.union([
  z.record(z.string(), unit),
  z.array(z.looseObject({layer: z.string(), sparsity: unit})),
]);

const run = z.looseObject({
  name: z.string().min(1, {error: 'must be a non-empty string'}),
  model: z.string().optional(),
  params: finite.optional(),
  bytes: finite.optional(),
  /** Size of the weights as saved, gzipped: what a download costs. */
  gzipBytes: finite.optional(),
  testAccuracy: unit,
  testLoss: finite.nullable().optional(),
  trainSeconds: finite.optional(),
  inferenceImagesPerSecond: finite.optional(),
  history: z.array(epochRow).optional(),
  /** Test-split confusion matrix: `confusion[actual][predicted]` counts. */
  confusion: z.array(z.array(z.number().int().min(0, {error: 'must be a count >= 0'}))).optional(),
  sparsity: sparsity.optional(),
});

const results = z.looseObject({
  dataset: z.string().optional(),
  trainSize: z.number().optional(),
  testSize: z.number().optional(),
  backend: z.string().optional(),
  runs: z.array(run).min(1, {error: 'must list at least one run'}),
  environment: z.record(z.string(), z.unknown()).optional(),
});

export type ReportRun = z.output<typeof run>;
export type ReportResults = z.output<typeof results>;

/** Checks a parsed results.json; errors name the field, e.g. `runs.1.testAccuracy: must be in [0, 1], got 3`. */
export function parseResults(value: unknown, what = 'results.json'): ReportResults {
  return parseOrThrow(results, value, what);
}

/** `[{layer, sparsity}]` whichever way a run recorded it. */
export function sparsityRows(s: NonNullable<ReportRun['sparsity']>): {layer: string; sparsity: number}[] {
  return Array.isArray(s) ? s.map((r) => ({layer: r.layer, sparsity: r.sparsity})) : Object.entries(s).map(([layer, v]) => ({layer, sparsity: v}));
}
