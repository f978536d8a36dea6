// tfjs-layers' `model.predict` and `model.predictOnBatch` through the fused plan (predictor.ts) on
// the native backend: a chain of known layers runs as one addon call per fused layer on
// preallocated buffers instead of ~50 tfjs kernels per batch, each with its own tensor. The plan
// is compiled once per model and refolded when a weight's variable holds new data: every writer
// of weights (variable.assign, setWeights / loadWeights, HostAdam, the compiled training step,
// pruning masks, QAT's kernel swap) gives the variable a new dataId, and the plan compares the
// dataIds it folded with the current ones on each call.
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import type {LayersModel} from '@tensorflow/tfjs-layers';

import {addon, NativeBackend, tensorBuffer} from '../backend/index.js';
import {chainOf, FusedPlan, Unsupported} from './predictor.js';

type Layer = LayersModel['layers'][number];

/** A model's plan (or why it has none) and what it was built from. */
interface Cached {
  /** The chain of layers the plan was compiled from. */
  readonly layers: readonly Layer[];
  readonly plan: FusedPlan | null;
  /** The dataId of every weight of `layers` when the plan last folded them. */
  dataIds: object[];
}

const cache = new WeakMap<LayersModel, Cached>();

/** The current dataId of every weight of `layers`, in order. */
function dataIdsOf(layers: readonly Layer[]): object[] {
  const ids: object[] = [];
  for (const l of layers) for (const w of l.weights) ids.push(w.read().dataId);
  return ids;
}

const sameList = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** The model's plan with its current weights folded in, or null when the model does not compile. */
function planOf(model: LayersModel): FusedPlan | null {
  let layers: Layer[];
  try {
    layers = chainOf(model);
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
  // A layer whose call was replaced on the instance (QAT's fake quantization) does something the plan does not.
  if (layers.some((l) => l.call !== (Object.getPrototypeOf(l) as Layer).call)) return null;
  const native = addon!;
  let hit = cache.get(model);
  if (hit == null || !sameList(hit.layers, layers)) {
    let plan: FusedPlan | null = null;
    try {
      plan = FusedPlan.compile(model, native);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
    }
    hit = {layers, plan, dataIds: dataIdsOf(layers)};
    cache.set(model, hit);
    return plan;
  }
  if (hit.plan == null) return null;
  const ids = dataIdsOf(layers);
  if (!sameList(ids, hit.dataIds)) {
    hit.plan.refold(model, native);
    hit.dataIds = ids;
  }
  return hit.plan;
}

/** Images per pass of the plan: results are per image, the batch size only bounds the buffers. */
const PLAN_BATCH = 256;

/**
 * The model's outputs for `x` through its plan, or null when the stock method has to run: the
 * switch is off, the backend is not native, a tape is recording (the result must be
 * differentiable), the input is not one float32 tensor of the model's input shape, or the model
 * does not compile.
 */
function planPredict(model: LayersModel, x: tf.Tensor | tf.Tensor[]): tf.Tensor | null {
  if (process.env.HAFIF_PREDICT_PLAN === '0' || addon == null) return null;
  const backend = tf.backend();
  if (!(backend instanceof NativeBackend)) return null;
  if ((tf.engine().state as unknown as {gradientDepth: number}).gradientDepth > 0) return null;
  const input = Array.isArray(x) ? (x.length === 1 ? x[0] : null) : x;
  if (!(input instanceof tf.Tensor) || input.isDisposed || input.dtype !== 'float32' || input.rank < 2 || input.shape[0] === 0) {
    return null;
  }
  if (!backend.data.has(input.dataId)) return null;  // held by another backend
  const plan = planOf(model);
  if (plan == null) return null;
  const inShape = plan.inShape;
  if (input.rank !== inShape.length + 1 || input.shape.some((d, i) => i > 0 && d !== inShape[i - 1])) return null;
  const n = input.shape[0];
  const out = tensorBuffer(n * plan.outShape.reduce((a, d) => a * d, 1));
  plan.run(addon, backend.f32(input), n, Math.min(n, PLAN_BATCH), out);
  return tf.tensor(out, [n, ...plan.outShape], 'float32');
}

/** The parts of tfjs-layers' LayersModel the patch replaces. */
interface PredictMethods {
  predict(this: LayersModel, x: tf.Tensor | tf.Tensor[], args?: {batchSize?: number; verbose?: boolean}): tf.Tensor | tf.Tensor[];
  predictOnBatch(this: LayersModel, x: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[];
}

let patched = false;

/**
 * Makes tfjs-layers' `LayersModel.predict` and `predictOnBatch` (and so Sequential's, which call
 * its inner model's) run the model's fused plan on the native backend when the model is a chain
 * of layers the plan handles; anything else goes to the stock method. `batchSize` is checked as
 * the stock method checks it and otherwise only bounds memory, as there (the plan takes up to 256
 * images per pass); `verbose` is ignored, as there. Idempotent; HAFIF_PREDICT_PLAN=0 (read per
 * call, for A/B benchmarks) runs the stock method.
 */
export function installPredictPlan(): void {
  if (patched) return;
  const entry = tf.serialization.SerializationMap.getMap().classNameMap.Model;
  if (entry == null) throw new Error('tfjs-layers LayersModel is not registered');
  const proto = (entry[0] as unknown as {prototype: PredictMethods}).prototype;
  const {predict, predictOnBatch} = proto;
  proto.predict = function (x, args = {}) {
    const b = args.batchSize;
    // Invalid batch sizes get the stock method's error.
    if (b != null && !(Number.isInteger(b) && b > 0)) return predict.call(this, x, args);
    return planPredict(this, x) ?? predict.call(this, x, args);
  };
  proto.predictOnBatch = function (x) {
    return planPredict(this, x) ?? predictOnBatch.call(this, x);
  };
  patched = true;
}
