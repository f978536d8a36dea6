// The compiled training step: the plan's forward pass, the fused loss terms on the host, the
// plan's backward pass and HostAdam's update on the gradient arrays, with no tensors, tape or
// tfjs-layers in between. The engine picks it when it can (see compiledStep) and keeps the tape
// step for everything else.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {addon} from '../../backend/addon.js';
import {NativeBackend} from '../../backend/native_backend.js';
import {HostAdam} from '../adam.js';
import type {Batch, Logs, LossTerm, StepContext, StepFn, TeacherSource, TrainHook} from '../engine.js';
import {fusedTerms} from '../fused_terms.js';
import {cachedPlan} from './plan.js';
import type {Plan} from './plan.js';

/** What {@link compiledStep} needs: the engine's step options, resolved. */
export interface CompiledStepOptions {
  readonly model: tfl.LayersModel;
  readonly optimizer: tf.Optimizer;
  readonly terms: readonly LossTerm[];
  readonly outputs: string;
  readonly teacher?: TeacherSource;
  readonly hooks: readonly TrainHook[];
  readonly accuracy: boolean;
  /** The tape step, for batches the compiled step cannot take (another backend, non-float inputs). */
  readonly tape: StepFn;
}

/** Why a training step cannot be compiled, or null when it can (the model is compiled separately). */
export function compiledStepProblem(o: Omit<CompiledStepOptions, 'tape'>): string | null {
  if (process.env.HAFIF_COMPILED === '0') return 'HAFIF_COMPILED=0';
  if (addon == null) return 'no native addon';
  // Exactly HostAdam (tf.Optimizer's instanceof accepts any optimizer; a subclass may change the update).
  if (Object.getPrototypeOf(o.optimizer) !== HostAdam.prototype) {
    return `optimizer ${o.optimizer.getClassName()} (only HostAdam)`;
  }
  if (o.outputs !== 'logits') return `outputs ${o.outputs}`;
  const custom = o.terms.find((t) => t.kind === 'custom');
  if (custom != null) return `custom loss term ${custom.name}`;
  if (o.hooks.some((h) => h.afterGradients != null)) return 'a hook reads the gradients';
  return null;
}

/**
 * The compiled step for these options, or null with the reason when the options or the model
 * cannot be compiled. The step hands a batch to the tape step when the backend is not `native`
 * or the inputs are not float32.
 */
export function compiledStep(o: CompiledStepOptions): {step: StepFn | null; reason: string | null} {
  const problem = compiledStepProblem(o);
  if (problem != null) return {step: null, reason: problem};
  const compiled = cachedPlan(o.model, addon as NonNullable<typeof addon>);
  if (compiled.plan == null) return {step: null, reason: compiled.reason};
  const plan: Plan = compiled.plan;
  const optimizer = o.optimizer as HostAdam;
  const {terms, teacher, hooks, accuracy, tape} = o;
  const outSize = plan.outShape.reduce((a, d) => a * d, 1);
  const step: StepFn = (batch: Batch, ctx: StepContext): Logs => {
    const backend = tf.backend();
    if (!(backend instanceof NativeBackend) || batch.x.dtype !== 'float32' || plan.outShape.length !== 1) {
      return tape(batch, ctx);
    }
    for (const h of hooks) h.beforeForward?.(ctx);
    const read = (v: tf.Variable) => backend.f32(v);
    const n = batch.x.shape[0];
    const labels = batch.y.dataSync();
    const t = teacher?.(batch);
    const x = backend.f32(batch.x);
    const {y, backward} = plan.forward(x, n, read);
    const r = fusedTerms(terms, labels, t, y, n, outSize, accuracy);
    backward(r.grad);
    optimizer.applyHostGradients(plan.params);
    for (const h of hooks) h.afterUpdate?.(ctx);
    return {...r.logs};
  };
  return {step, reason: null};
}
