// Timed windows: the e2e and PyTorch sections run several times, alternating hafif and PyTorch,
// and each figure is the median of its windows with their spread (min–max), so one disturbed
// window (another job, a cold first process) moves neither side's figure.
import type {E2eResult} from './e2e.js';
import {median} from './timing.js';
import type {TorchResult, TorchRow} from './torch.js';
import {INFER_BATCH} from './train.js';

/** The median of a figure's windows and their range. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** One value per window, in window order. */
  readonly windows: readonly number[];
}

export function spread(xs: readonly number[]): Spread {
  return {median: median(xs), min: Math.min(...xs), max: Math.max(...xs), windows: [...xs]};
}

/** An e2e row over windows: the medians in the row's fields, each throughput's spread beside it. */
export interface E2eWindows extends E2eResult {
  readonly windows: number;
  readonly trainSpread: Spread;
  readonly inferSpread: Spread | null;
  readonly predictorSpread: Spread | null;
}

/** A PyTorch row over windows. */
export interface TorchWindows extends TorchRow {
  readonly windows: number;
  readonly trainSpread: Spread;
  readonly inferSpread: Spread;
}

const nums = (xs: readonly (number | null)[]): number[] | null => (xs.every((x) => x != null) ? (xs as number[]) : null);

/** One row per model, backend and trainer, from the same rows of every window. */
export function combineE2e(windows: readonly (readonly E2eResult[])[]): E2eWindows[] {
  if (windows.length === 0) return [];
  return windows[0].map((first) => {
    const rows = windows.map((w) => w.find((r) => r.model === first.model && r.backend === first.backend && r.trainer === first.trainer))
      .filter((r): r is E2eResult => r != null);
    const train = spread(rows.map((r) => r.trainImgPerSec));
    const inferXs = nums(rows.map((r) => r.inferImgPerSec)), predXs = nums(rows.map((r) => r.predictorImgPerSec));
    const infer = inferXs && spread(inferXs), predictor = predXs && spread(predXs);
    const perBatch = (s: Spread | null) => (s == null ? null : (1000 * INFER_BATCH) / s.median);
    return {
      ...first,
      trainSteps: rows.reduce((a, r) => a + r.trainSteps, 0),
      trainImgPerSec: train.median,
      trainMsPerStep: median(rows.map((r) => r.trainMsPerStep)),
      inferImgPerSec: infer?.median ?? null,
      inferMsPerBatch: perBatch(infer),
      predictorImgPerSec: predictor?.median ?? null,
      predictorMsPerBatch: perBatch(predictor),
      predictorError: first.predictorError == null ? null : Math.max(...rows.map((r) => r.predictorError ?? 0)),
      trainRssBytes: Math.max(...rows.map((r) => r.trainRssBytes)),
      peakRssBytes: first.peakRssBytes == null ? null : Math.max(...rows.map((r) => r.peakRssBytes ?? 0)),
      finalLoss: rows[rows.length - 1].finalLoss,
      leakedTensors: rows.reduce((a, r) => a + r.leakedTensors, 0),
      windows: rows.length,
      trainSpread: train,
      inferSpread: infer,
      predictorSpread: predictor,
    };
  });
}

/** The PyTorch rows of every window as one result; unavailable if any window was. */
export function combineTorch(windows: readonly TorchResult[]): TorchResult<TorchWindows> | null {
  if (windows.length === 0) return null;
  const bad = windows.find((w) => !w.available);
  if (bad != null) return bad as TorchResult<TorchWindows>;
  const ok = windows as readonly Extract<TorchResult, {available: true}>[];
  const rows = ok[0].rows.map((first): TorchWindows => {
    const same = ok.map((w) => w.rows.find((r) => r.model === first.model)).filter((r): r is TorchRow => r != null);
    const train = spread(same.map((r) => r.train_img_per_s)), infer = spread(same.map((r) => r.infer_img_per_s));
    return {...first, train_img_per_s: train.median, infer_img_per_s: infer.median, windows: same.length, trainSpread: train, inferSpread: infer};
  });
  return {available: true, rows, command: ok[0].command};
}
