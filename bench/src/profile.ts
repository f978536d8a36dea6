// --profile: where one training step's time goes, kernel by kernel (tf.profile wraps each kernel
// call with a timer; our backends are synchronous so that is the kernel's own time).
import * as tf from '@tensorflow/tfjs-core';

import {isNativeKernel, setBackend, type Backend} from './env.js';
import {now, progress} from './timing.js';
import {makeSession, type ModelName} from './train.js';

export interface ProfileEntry {
  readonly kernel: string;
  readonly inputShapes: string;
  readonly calls: number;
  readonly ms: number;
  readonly native: boolean;
}

export interface StepProfile {
  readonly model: ModelName;
  readonly backend: Backend;
  /** Wall time of an unprofiled step (null when steps are so slow that it was skipped). */
  readonly stepMs: number | null;
  /** Wall time of the profiled step. */
  readonly profiledStepMs: number;
  /** Sum of the kernels' times in the profiled step. */
  readonly kernelMs: number;
  /** Per kernel and input shapes, slowest first. */
  readonly entries: ProfileEntry[];
  /** Per kernel name, slowest first. */
  readonly byKernel: ProfileEntry[];
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

/** Profiles one training step of `model` on `backend`, after one warm-up step. */
export async function profileStep(model: ModelName, backend: Backend): Promise<StepProfile> {
  setBackend(backend);
  const s = makeSession(model);
  try {
    progress(`profile: ${model} on ${backend}, warm-up step`);
    const w = now();
    s.trainStep();
    let stepMs: number | null = null;
    if (now() - w < 5000) {
      const t0 = now();
      s.trainStep();
      stepMs = now() - t0;
    }
    progress(`profile: ${model} on ${backend}, profiled step`);
    const t1 = now();
    const info = await tf.profile(() => {
      s.trainStep();
    });
    const profiledStepMs = now() - t1;
    // Ops with a custom gradient (fusedConv2d__op, ...) appear as scopes around their kernel: keep
    // registered kernels only, so no time is counted twice.
    const kernels = info.kernels.filter((k) => tf.getKernel(k.name, backend) != null).map((k) => ({name: k.name, kernelTimeMs: Number(k.kernelTimeMs), inputShapes: k.inputShapes}));
    return {
      model, backend, stepMs, profiledStepMs,
      kernelMs: kernels.reduce((a, k) => a + k.kernelTimeMs, 0),
      entries: aggregate(kernels, true),
      byKernel: aggregate(kernels, false),
    };
  } finally {
    s.dispose();
  }
}
