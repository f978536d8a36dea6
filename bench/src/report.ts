// Human-readable tables (cli-table3) for each section of the bench.
import Table from 'cli-table3';

import type {E2eResult} from './e2e.js';
import type {KernelResult} from './kernels.js';
import type {LayerEntry, StepProfile} from './profile.js';
import type {SgemmRow} from './sgemm.js';
import type {TorchResult} from './torch.js';
import {fmt} from './timing.js';
import {TRAINER_LABEL, TRAINERS, type Trainer} from './train.js';

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

export function e2eTable(rows: E2eResult[]): string {
  return table(['model', 'training step', 'backend', 'train img/s', 'ms/step', 'steps', 'model.predict img/s (b256)',
    'ms/batch', 'predictor img/s (b256)', 'ms/batch', 'predictor rel. err', 'peak RSS'],
    rows.map((r) => [r.model, TRAINER_LABEL[r.trainer], r.backend, fmt(r.trainImgPerSec), fmt(r.trainMsPerStep),
      r.trainSteps, fmt(r.inferImgPerSec), fmt(r.inferMsPerBatch), fmt(r.predictorImgPerSec), fmt(r.predictorMsPerBatch),
      r.predictorError == null ? '-' : r.predictorError.toExponential(1), mb(r.peakRssBytes)]),
    'End to end (batch 32, Adam 1e-3 ε 1e-7, softmax cross-entropy; hafif fit = one fit() call over the steps ' +
      '(HostAdam + host cross-entropy), tf.train.adam = stock tfjs optimizer and loss; peak RSS = VmHWM while training)');
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
  readonly ratio: number | null;
}

export function torchRatios(e2e: E2eResult[], t: TorchResult): TorchRatio[] {
  if (!t.available) return [];
  const out: TorchRatio[] = [];
  const push = (model: string, phase: 'train' | 'infer', trainer: Trainer | null, native: number | null, torch: number,
    inferPath?: InferPath) =>
    out.push({label: phaseLabel(model, phase, trainer ?? undefined, inferPath), model, phase, trainer, inferPath, native, torch,
      ratio: native != null ? native / torch : null});
  for (const row of t.rows) {
    const rows = e2e.filter((r) => r.model === row.model && r.backend === 'native');
    for (const trainer of TRAINERS) {
      const n = rows.find((r) => r.trainer === trainer);
      if (n) push(row.model, 'train', trainer, n.trainImgPerSec, row.train_img_per_s);
    }
    if (rows.length === 0) push(row.model, 'train', null, null, row.train_img_per_s);
    const inferRow = rows.find((r) => r.inferImgPerSec != null);
    push(row.model, 'infer', null, inferRow?.inferImgPerSec ?? null, row.infer_img_per_s, 'model.predict');
    push(row.model, 'infer', null, inferRow?.predictorImgPerSec ?? null, row.infer_img_per_s, 'predictor');
  }
  return out;
}

export function torchTable(t: TorchResult, ratios: TorchRatio[]): string {
  if (!t.available) return `PyTorch: skipped (${t.reason})`;
  return table(['what', 'native img/s', 'PyTorch img/s', 'native / PyTorch'],
    ratios.map((r) => [r.label, fmt(r.native), fmt(r.torch), r.ratio == null ? '-' : `${fmt(r.ratio)}×`]),
    `PyTorch ${t.rows[0]?.torch ?? ''}, ${t.rows[0]?.threads ?? '?'} threads (${t.command})`);
}
