import * as tf from '@tensorflow/tfjs-core';
import type {NamedTensor} from '@tensorflow/tfjs-core/dist/tensor_types.js';

import {addon} from '../backend/addon.js';
import type {NativeAddon} from '../backend/addon.js';
import {tensorBuffer} from '../backend/index.js';
import {NativeBackend} from '../backend/native_backend.js';
import {UsageError} from '../util/registry.js';

/** Options of {@link HostAdam}; the defaults are Keras'. */
export interface AdamOptions {
  /** @default 1e-3 */
  readonly learningRate?: number;
  /** @default 0.9 */
  readonly beta1?: number;
  /** @default 0.999 */
  readonly beta2?: number;
  /** Keras' default; PyTorch's is 1e-8. @default 1e-7 */
  readonly epsilon?: number;
  /**
   * Decoupled weight decay (AdamW; Loshchilov & Hutter, "Decoupled Weight Decay Regularization",
   * ICLR 2019): before the Adam update `w ← w·(1 − lr·weightDecay)`, as PyTorch's `AdamW`.
   * Applied to kernels only (variables of rank ≥ 2), not to biases or batch-norm scales. @default 0
   */
  readonly weightDecay?: number;
}

/** True when the C++ update can run: the addon is loaded and `native` holds the tensors. */
function nativeAdam(): boolean {
  return addon != null && tf.backend() instanceof NativeBackend;
}

/**
 * A Float32Array without zero-filling: a fresh multi-megabyte `new Float32Array` costs a page
 * fault per 4 KiB on first write, recycled malloc memory does not. Every element gets written.
 */
function uninitializedF32(n: number): Float32Array {
  const b = Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(b.buffer, b.byteOffset, n);
}

/**
 * Adam (Kingma & Ba, 2015) with the update of `tf.train.adam` and PyTorch:
 * `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²`,
 * `w ← w − lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + ε)`,
 * fused into one pass per variable over host memory instead of ~15 tfjs ops per variable
 * (on the cpu and native backends tensor data already lives in host memory). On `native` the
 * pass is C++ on all cores (native/optim.cc), elsewhere a JavaScript loop. Moments are
 * float32 arrays keyed by variable name, so they take no tensors.
 *
 * Keras: Keras adds ε to sqrt(v) before bias correction (ε·sqrt(1−β2^t) here); the two agree
 * except for |g| near ε.
 * @example const optimizer = new HostAdam({learningRate: 1e-3});
 */
export class HostAdam extends tf.Optimizer {
  static get className(): string {
    return 'HostAdam';
  }

  /** Settable between steps (learning-rate schedules do). */
  learningRate: number;
  /** Settable between steps (one-cycle cycles it). */
  beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  private readonly moments = new Map<string, {m: Float32Array; v: Float32Array}>();
  private step = 0;

  constructor(options: AdamOptions = {}) {
    super();
    const {learningRate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, weightDecay = 0} = options;
    if (!(weightDecay >= 0) || !Number.isFinite(weightDecay)) {
      throw new UsageError(`weight decay must be a finite number >= 0, got ${weightDecay}`);
    }
    this.weightDecay = weightDecay;
    this.learningRate = learningRate;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | {name: string; tensor: tf.Tensor}[]): void {
    const entries: [string, tf.Tensor][] = Array.isArray(variableGradients)
      ? variableGradients.map(({name, tensor}) => [name, tensor])
      : Object.entries(variableGradients);
    const updates: {variable: tf.Variable; grad: Float32Array}[] = [];
    for (const [name, grad] of entries) {
      if (grad == null) continue;
      const variable = tf.engine().registeredVariables[name];
      if (variable == null) throw new Error(`HostAdam: no variable named ${name}`);
      const g = grad.dataSync();
      if (!(g instanceof Float32Array) || g.length !== variable.size) {
        throw new Error(`HostAdam: gradient of ${name} has shape [${grad.shape}], expected float32 [${variable.shape}]`);
      }
      updates.push({variable, grad: g});
    }
    this.applyHostGradients(updates);
  }

  /**
   * One update from gradients held in host arrays (the compiled training step's), in the order
   * given; the same update as {@link applyGradients}. The arrays are only read.
   */
  applyHostGradients(updates: readonly {readonly variable: tf.Variable; readonly grad: Float32Array}[]): void {
    this.step++;
    const {learningRate: lr, beta1: b1, beta2: b2, epsilon: eps} = this;
    // lr·m̂/(sqrt(v̂) + ε) with m̂ = m/bc1, v̂ = v/bc2, rearranged to one division per weight.
    const stepSize = lr / (1 - Math.pow(b1, this.step));
    const invSqrtBc2 = 1 / Math.sqrt(1 - Math.pow(b2, this.step));
    const c1 = 1 - b1;
    const c2 = 1 - b2;
    const native = nativeAdam();
    // On native every variable's update is one C++ call (one pass, one thread hand-off); the
    // variables take their new values after it. A variable named twice is updated twice, in order.
    const pending: {variable: tf.Variable; out: Float32Array}[] = [];
    const slots: Float32Array[] = [];
    const flush = () => {
      if (pending.length === 0) return;
      if (native) (addon as NativeAddon).adamUpdateMany(b1, b2, stepSize, invSqrtBc2, eps, ...slots);
      for (const {variable, out} of pending) {
        const next = tf.tensor(out, variable.shape, 'float32');
        variable.assign(next);
        next.dispose();
      }
      pending.length = 0;
      slots.length = 0;
    };
    for (const {variable, grad: g} of updates) {
      const name = variable.name;
      if (variable.dtype !== 'float32') throw new Error(`HostAdam: variable ${name} is ${variable.dtype}, expected float32`);
      if (pending.some((p) => p.variable === variable)) flush();
      // On native read in place (dataSync would mark the buffer as seen outside, never to be reused).
      let w = native ? (tf.backend() as NativeBackend).f32(variable) : variable.dataSync();
      if (!(w instanceof Float32Array) || g.length !== w.length) {
        throw new Error(`HostAdam: gradient of ${name} has ${g.length} values, expected float32 [${variable.shape}]`);
      }
      let state = this.moments.get(name);
      if (state == null) {
        state = {m: new Float32Array(w.length), v: new Float32Array(w.length)};
        this.moments.set(name, state);
      } else if (state.m.length !== w.length) {
        throw new Error(`HostAdam: variable ${name} has ${w.length} weights, its moments ${state.m.length}`);
      }
      const {m, v} = state;
      if (this.weightDecay > 0 && variable.rank >= 2) {
        const keep = 1 - lr * this.weightDecay;
        w = (w as Float32Array).map((x) => x * keep);
      }
      // A new array, never an update in place: the variable's current buffer may be shared with
      // tensors made from it (clone, reshape) and with arrays dataSync() returned. On native it
      // comes from the backend's pool (a replaced weight array nothing else sees goes back there).
      const out = native ? tensorBuffer(w.length) : uninitializedF32(w.length);
      if (native) {
        slots.push(g, m, v, w as Float32Array, out);
      } else {
        for (let i = 0; i < w.length; i++) {
          const gi = g[i];
          const mi = b1 * m[i] + c1 * gi;
          const vi = b2 * v[i] + c2 * gi * gi;
          m[i] = mi;
          v[i] = vi;
          out[i] = w[i] - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
        }
      }
      pending.push({variable, out});
    }
    flush();
    this.incrementIterations();
  }

  /** Updates done so far (the t of the bias correction). */
  get iterationCount(): number {
    return this.step;
  }

  /** The moments of variable `name` (live arrays, updated in place by each step), or undefined before its first update. */
  momentsOf(name: string): {readonly m: Float32Array; readonly v: Float32Array} | undefined {
    return this.moments.get(name);
  }

  /**
   * The state as tf.train.adam names it: `iter` first, then every variable's `NAME/m`, then
   * every `NAME/v`, in the order the variables were first updated.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    const names = [...this.moments.keys()];
    return [
      {name: 'iter', tensor: tf.scalar(this.step, 'int32')},
      ...names.map((n) => ({name: `${n}/m`, tensor: tf.tensor1d((this.moments.get(n) as {m: Float32Array}).m.slice())})),
      ...names.map((n) => ({name: `${n}/v`, tensor: tf.tensor1d((this.moments.get(n) as {v: Float32Array}).v.slice())})),
    ];
  }

  /** Restores what {@link getWeights} returned (moments of any shape, flattened). */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const iter = weightValues.find((w) => w.name === 'iter');
    if (iter == null) throw new Error('HostAdam.setWeights: no iter entry');
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const {name, tensor} of weightValues) {
      if (name === 'iter') continue;
      const slot = name.endsWith('/m') ? m : name.endsWith('/v') ? v : null;
      if (slot == null) throw new Error(`HostAdam.setWeights: unexpected entry ${name}`);
      slot.set(name.slice(0, -2), Float32Array.from(tensor.dataSync()));
    }
    this.moments.clear();
    for (const [name, mv] of m) {
      const vv = v.get(name);
      if (vv == null || vv.length !== mv.length) throw new Error(`HostAdam.setWeights: ${name}/v missing or of another size`);
      this.moments.set(name, {m: mv, v: vv});
    }
    this.step = iter.tensor.dataSync()[0];
    this.iterations_ = this.step;
  }

  override dispose(): void {
    this.moments.clear();
    super.dispose();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, weightDecay: this.weightDecay};
  }
}
