// Human-readable tables (cli-table3) for each section of the bench.
import Table from 'cli-table3';

import type {E2eResult} from './e2e.js';
import type {KernelResult} from './kernels.js';
import type {LayerEntry, StepProfile} from './profile.js';
import type {SgemmRow} from './sgemm.js';
import type {TorchResult, TorchRow} from './torch.js';
import {fmt} from './timing.js';
import {TRAINER_LABEL, TRAINERS, type Trainer} from './train.js';
import {spread, type E2eWindows, type Spread, type TorchWindows} from './windows.js';

export function table(head: string[], rows: (string | number)[][], title?: string): string {
  const t = new Table({head, style: {head: [], border: []}});
  for (const r of rows) t.push(r.map(String));
  return (title ? `${title}\n` : '') + t.toString();
}

/**
 * The top `n` kernels of a profiled step, by kernel and input shapes; for fit's compiled step
 * (which runs no tfjs kernels) its layers instead, with the time outside them.
 */
export function profileTable(p: StepProfile, n = 15): string {
  if (p.layers != null && p.layerMs != null) return layerTable(p, p.layers, p.layerMs);
  const calls = p.entries.reduce((a, e) => a + e.calls, 0);
  const rows = p.entries.slice(0, n).map((e) => [
    e.kernel + (e.native ? '' : ' (cpu)'), e.inputShapes, fmt(e.calls), fmt(e.ms), fmt((100 * e.ms) / p.kernelMs, 2) + '%',
  ]);
  const byKernel = p.byKernel.slice(0, 12).map((e) => `${e.kernel}${e.native ? '' : '(cpu)'} ${fmt(e.ms)}`).join(', ');
  // Profiling slows the JS around kernels, so the time outside them is estimated from an unprofiled step.
  const outside = `; outside kernels (JS, tape, allocation) ≈ ${fmt(p.stepMs - p.kernelMs)} ms`;
  return table(['kernel', 'input shapes', 'calls', 'ms', '% of kernel time'], rows,
    `${p.model} training step (${TRAINER_LABEL[p.trainer]}) on ${p.backend} (per step, ${p.steps} profiled): ${fmt(p.stepMs)} ms unprofiled, ` +
      `${fmt(p.profiledStepMs)} ms profiled, ${fmt(p.kernelMs)} ms in ${calls} kernel calls${outside}`) +
    `\nby kernel (ms): ${byKernel}`;
}

/** The compiled step's layers in model order, each forward and backward, and what is outside them. */
function layerTable(p: StepProfile, layers: readonly LayerEntry[], layerMs: number): string {
  const rows = layers.map((l) => [l.layer, fmt(l.forwardMs), fmt(l.backwardMs), fmt(l.forwardMs + l.backwardMs),
    fmt((100 * (l.forwardMs + l.backwardMs)) / layerMs, 2) + '%']);
  const top = [...layers].sort((a, b) => b.forwardMs + b.backwardMs - (a.forwardMs + a.backwardMs)).slice(0, 5)
    .map((l) => `${l.layer} ${fmt(l.forwardMs + l.backwardMs)}`).join(', ');
  // The layer timers cost little, so the time outside the layers comes from the same (timed) steps.
  const outside = p.profiledStepMs - layerMs;
  const kernels = p.kernelMs > 0 ? `; tfjs kernels ${fmt(p.kernelMs)} ms` : '';
  return table(['layer', 'forward ms', 'backward ms', 'ms', '% of layer time'], rows,
    `${p.model} training step (${TRAINER_LABEL[p.trainer]}, compiled) on ${p.backend} (per step, ${p.steps} timed): ` +
      `${fmt(p.stepMs)} ms untimed, ${fmt(p.profiledStepMs)} ms timed, ${fmt(layerMs)} ms in ${layers.length} layers; ` +
      `outside the layers (loss, Adam, batch, JS) ≈ ${fmt(outside)} ms${kernels}`) +
    `\nslowest layers (ms): ${top}`;
}

const ms = (t: {ms: number; reps: number; cold: boolean} | null) => (t ? `${fmt(t.ms)}${t.cold ? '*' : ''}` : '-');

export function kernelsTable(rows: KernelResult[]): string {
  return table(['kernel', 'where', 'shapes', 'native ms', 'cpu ms', 'speedup', 'native GFLOP/s', 'native GB/s'],
    rows.map((r) => [r.kernel + (r.nativeKernel ? '' : ' (cpu)'), r.where, r.shapes, ms(r.native),
      r.cpu ? ms(r.cpu) : r.cpuCost === 'minutes' ? 'minutes' : 'skipped',
      r.speedup ? `${fmt(r.speedup)}×` : '-', fmt(r.nativeGflops), fmt(r.nativeGBps)]),
    'Kernels (median ms; * = one cold call; "(cpu)" = native runs the cpu kernel; fwd+bias = what tfjs-layers calls)');
}

export function sgemmTable(rows: SgemmRow[]): string {
  return table(['impl', 'threads', 'n', 'ms', 'GFLOP/s'],
    rows.map((r) => [r.impl, r.threads, `${r.n}³`, r.ms == null ? r.note ?? '-' : fmt(r.ms), fmt(r.gflops)]),
    'sgemm ceiling (addon.batchMatMul, one child process per thread count)');
}

const mb = (b: number | null) => (b == null ? '-' : `${fmt(b / 2 ** 20)} MB`);

/** "teacher train (hafif fit step)": a model, a phase and, for training, whose step. */
function phaseLabel(model: string, phase: 'train' | 'infer', trainer?: Trainer, how?: InferPath): string {
  if (phase === 'train') return trainer ? `${model} train (${TRAINER_LABEL[trainer]})` : `${model} train`;
  return how ? `${model} infer (${how})` : `${model} infer`;
}

/** How an inference row ran: tfjs-layers' own predict, or hafif's fused createPredictor. */
export type InferPath = 'model.predict' | 'predictor';

/** "1,234 (1,100–1,300)": a median and, over more than one window, its windows' range. */
function withSpread(value: number | null, s: Spread | null | undefined, unit = ''): string {
  if (value == null) return '-';
  if (s == null || s.windows.length < 2) return fmt(value) + unit;
  return `${fmt(value)}${unit} (${fmt(s.min)}–${fmt(s.max)})`;
}

const spreads = (r: E2eResult): Partial<E2eWindows> => ('trainSpread' in r ? (r as E2eWindows) : {});

export function e2eTable(rows: E2eResult[]): string {
  const windows = Math.max(1, ...rows.map((r) => spreads(r).windows ?? 1));
  return table(['model', 'training step', 'backend', 'train img/s', 'ms/step', 'steps', 'model.predict img/s (b256)',
    'ms/batch', 'predictor img/s (b256)', 'ms/batch', 'predictor rel. err', 'peak RSS'],
    rows.map((r) => [r.model, TRAINER_LABEL[r.trainer], r.backend, withSpread(r.trainImgPerSec, spreads(r).trainSpread),
      fmt(r.trainMsPerStep), r.trainSteps, withSpread(r.inferImgPerSec, spreads(r).inferSpread), fmt(r.inferMsPerBatch),
      withSpread(r.predictorImgPerSec, spreads(r).predictorSpread), fmt(r.predictorMsPerBatch),
      r.predictorError == null ? '-' : r.predictorError.toExponential(1), mb(r.peakRssBytes)]),
    'End to end (batch 32, Adam 1e-3 ε 1e-7, softmax cross-entropy; hafif fit = one fit() call over the steps ' +
      '(HostAdam + host cross-entropy), tf.train.adam = stock tfjs optimizer and loss; peak RSS = VmHWM while training' +
      (windows > 1 ? `; img/s = median of ${windows} windows (min–max), steps = all windows'` : '') + ')');
}

export interface TorchRatio {
  /** e.g. "teacher train (hafif fit step)" or "student infer". */
  readonly label: string;
  readonly model: string;
  readonly phase: 'train' | 'infer';
  readonly trainer: Trainer | null;
  /** For inference rows: model.predict or the fused predictor. */
  readonly inferPath?: InferPath;
  readonly native: number | null;
  readonly torch: number | null;
  /** The median over windows of native / PyTorch in the same window. */
  readonly ratio: number | null;
  readonly nativeSpread?: Spread | null;
  readonly torchSpread?: Spread | null;
  /** Of the per-window ratios. */
  readonly ratioSpread?: Spread | null;
}

/**
 * hafif against PyTorch per model and phase. With windows, the ratio is the median of the ratios
 * of the same window (hafif and PyTorch timed next to each other), with their range.
 */
export function torchRatios(e2e: E2eResult[], t: TorchResult<TorchRow | TorchWindows>): TorchRatio[] {
  if (!t.available) return [];
  const out: TorchRatio[] = [];
  const push = (model: string, phase: 'train' | 'infer', trainer: Trainer | null, native: number | null, torch: number,
    nativeSpread: Spread | null | undefined, torchSpread: Spread | undefined, inferPath?: InferPath) => {
    const paired = nativeSpread != null && torchSpread != null && nativeSpread.windows.length === torchSpread.windows.length
      ? spread(nativeSpread.windows.map((v, i) => v / torchSpread.windows[i])) : null;
    out.push({label: phaseLabel(model, phase, trainer ?? undefined, inferPath), model, phase, trainer, inferPath, native, torch,
      ratio: native == null ? null : paired?.median ?? native / torch, nativeSpread, torchSpread, ratioSpread: paired});
  };
  for (const row of t.rows) {
    const tw: Partial<TorchWindows> = 'trainSpread' in row ? row : {};
    const rows = e2e.filter((r) => r.model === row.model && r.backend === 'native');
    for (const trainer of TRAINERS) {
      const n = rows.find((r) => r.trainer === trainer);
      if (n) push(row.model, 'train', trainer, n.trainImgPerSec, row.train_img_per_s, spreads(n).trainSpread, tw.trainSpread);
    }
    if (rows.length === 0) push(row.model, 'train', null, null, row.train_img_per_s, null, tw.trainSpread);
    const inferRow = rows.find((r) => r.inferImgPerSec != null);
    const iw = inferRow ? spreads(inferRow) : {};
    push(row.model, 'infer', null, inferRow?.inferImgPerSec ?? null, row.infer_img_per_s, iw.inferSpread, tw.inferSpread, 'model.predict');
    push(row.model, 'infer', null, inferRow?.predictorImgPerSec ?? null, row.infer_img_per_s, iw.predictorSpread, tw.inferSpread, 'predictor');
  }
  return out;
}

export function torchTable(t: TorchResult<TorchRow | TorchWindows>, ratios: TorchRatio[]): string {
  if (!t.available) return `PyTorch: skipped (${t.reason})`;
  const first = t.rows[0];
  const windows = first != null && 'windows' in first ? first.windows : 1;
  return table(['what', 'native img/s', 'PyTorch img/s', 'native / PyTorch'],
    ratios.map((r) => [r.label, withSpread(r.native, r.nativeSpread), withSpread(r.torch, r.torchSpread),
      withSpread(r.ratio, r.ratioSpread, '×')]),
    `PyTorch ${first?.torch ?? ''}, ${first?.threads ?? '?'} threads (${t.command})` +
      (windows > 1 ? `; median of ${windows} windows, hafif and PyTorch alternating (min–max; ratio: of the same window's pair)` : ''));
}
