// --profile: where one training step's time goes, kernel by kernel (tf.profile wraps each kernel
// call with a timer; our backends are synchronous so that is the kernel's own time), and for fit's
// compiled step, which calls the addon without tfjs kernels, layer by layer (the plan's timers).
import * as tf from '@tensorflow/tfjs-core';

import {addon} from '../../dist/backend/index.js';
import {cachedPlan} from '../../dist/train/compiled/index.js';

import {isNativeKernel, setBackend, type Backend} from './env.js';
import {median, now, progress} from './timing.js';
import {makeSession, TRAINER_LABEL, type ModelName, type Trainer} from './train.js';

export interface ProfileEntry {
  readonly kernel: string;
  readonly inputShapes: string;
  readonly calls: number;
  readonly ms: number;
  readonly native: boolean;
}

export interface StepProfile {
  readonly model: ModelName;
  readonly trainer: Trainer;
  readonly backend: Backend;
  /** Steps profiled; times and calls below are per step. */
  readonly steps: number;
  /** Median wall time of an unprofiled step. */
  readonly stepMs: number;
  /** Wall time of a profiled step. */
  readonly profiledStepMs: number;
  /** Sum of the kernels' times in a profiled step. */
  readonly kernelMs: number;
  /** Per kernel and input shapes, slowest first. */
  readonly entries: ProfileEntry[];
  /** Per kernel name, slowest first. */
  readonly byKernel: ProfileEntry[];
  /** fit's compiled step: each layer's forward and backward ms per step, in model order (else absent). */
  readonly layers?: LayerEntry[];
  /** The sum of the layers' times per step (compiled step only). */
  readonly layerMs?: number;
}

export interface LayerEntry {
  /** The plan's layer: a model layer, or a fused pair such as `bn1+relu1`. */
  readonly layer: string;
  readonly forwardMs: number;
  readonly backwardMs: number;
}

const shapeStr = (shapes: (number[] | null)[]) => shapes.map((s) => (s == null ? '-' : `[${s.join(',')}]`)).join(' ');

function aggregate(kernels: {name: string; kernelTimeMs: number; inputShapes: (number[] | null)[]}[], withShapes: boolean) {
  const m = new Map<string, ProfileEntry>();
  for (const k of kernels) {
    const shapes = withShapes ? shapeStr(k.inputShapes) : '';
    const key = `${k.name} ${shapes}`;
    const e = m.get(key);
    m.set(key, {kernel: k.name, inputShapes: shapes, calls: (e?.calls ?? 0) + 1, ms: (e?.ms ?? 0) + k.kernelTimeMs,
      native: isNativeKernel(k.name)});
  }
  return [...m.values()].sort((a, b) => b.ms - a.ms);
}

/**
 * Profiles training steps of `model` on `backend` after a warm-up step: the median of up to 5
 * unprofiled steps (3 s budget), then up to 5 profiled steps (as many as the unprofiled run took),
 * reported per step.
 */
export async function profileStep(model: ModelName, trainer: Trainer, backend: Backend): Promise<StepProfile> {
  setBackend(backend);
  const s = makeSession(model, trainer);
  const what = `${model} (${TRAINER_LABEL[trainer]})`;
  try {
    progress(`profile: ${what} on ${backend}, warm-up step`);
    s.trainStep();
    const times: number[] = [];
    const t0 = now();
    while (times.length < 5 && now() - t0 < 3000) {
      const t = now();
      s.trainStep();
      times.push(now() - t);
    }
    const stepMs = median(times);
    const n = times.length;
    progress(`profile: ${what} on ${backend}, ${n} profiled step${n > 1 ? 's' : ''}`);
    // The compiled step's plan is the model's cached one: its timers see the step's layers.
    const plan = s.compiled && addon != null ? cachedPlan(s.model, addon).plan : undefined;
    plan?.startTiming();
    const t1 = now();
    const info = await tf.profile(() => {
      for (let i = 0; i < n; i++) s.trainStep();
    });
    const profiledStepMs = (now() - t1) / n;
    const layers = plan?.stopTiming().map((l) => ({layer: l.name, forwardMs: l.forwardMs / n, backwardMs: l.backwardMs / n}));
    // Ops with a custom gradient (fusedConv2d__op, ...) appear as scopes around their kernel: keep
    // registered kernels only, so no time is counted twice.
    const kernels = info.kernels.filter((k) => tf.getKernel(k.name, backend) != null).map(
      (k) => ({name: k.name, kernelTimeMs: Number(k.kernelTimeMs) / n, inputShapes: k.inputShapes}));
    const perStep = (es: ProfileEntry[]) => es.map((e) => ({...e, calls: e.calls / n}));
    return {
      model, trainer, backend, steps: n, stepMs, profiledStepMs,
      kernelMs: kernels.reduce((a, k) => a + k.kernelTimeMs, 0),
      entries: perStep(aggregate(kernels, true)),
      byKernel: perStep(aggregate(kernels, false)),
      ...(layers ? {layers, layerMs: layers.reduce((a, l) => a + l.forwardMs + l.backwardMs, 0)} : {}),
    };
  } finally {
    s.dispose();
  }
}
