import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import {afterAll, afterEach, beforeEach, describe, expect, it, vi} from 'vitest';

import {addon} from '../backend/addon.js';
import {nativeAvailable} from '../backend/index.js';
import {HostAdam} from './adam.js';

// The C++ update on `native`, the JavaScript loop on `cpu`; both must give tf.train.adam's numbers.
const backends = nativeAvailable() ? (['native', 'cpu'] as const) : (['cpu'] as const);
const initialBackend = tf.getBackend();

afterAll(async () => {
  await tf.setBackend(initialBackend);
});

describe.each(backends)('HostAdam on %s', (backend) => {
  let before = 0;
  let counter = 0;
  /** Variable names are global to the engine: unique per test and backend. */
  const unique = (s: string) => `adam_${backend}_${s}_${counter++}`;
  beforeEach(async () => {
    await tf.setBackend(backend);
    before = tf.memory().numTensors;
  });
  afterEach(() => {
    vi.restoreAllMocks();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('first step by hand: moves each weight by lr·sign(g) (bias correction makes m̂/sqrt(v̂) = g/|g|)', () => {
    // t=1: m = 0.1·g, v = 0.001·g², m̂ = g, v̂ = g² → w − lr·g/(|g| + ε) ≈ w − lr·sign(g)
    const name = unique('hand');
    const w = tf.tidy(() => tf.variable(tf.tensor1d([1, -2, 3]), true, name));
    const opt = new HostAdam({learningRate: 0.1});
    const g = tf.tensor1d([0.5, -4, 1e-3]);
    opt.applyGradients({[name]: g});
    const got = w.dataSync();
    const want = [1 - 0.1 * (0.5 / (0.5 + 1e-7)), -2 + 0.1 * (4 / (4 + 1e-7)), 3 - 0.1 * (1e-3 / (1e-3 + 1e-7))];
    got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-6));
    expect(opt.iterations).toBe(1);
    tf.dispose([w, g]);
    opt.dispose();
  });

  it('matches tf.train.adam over several steps of random gradients', () => {
    // One large variable so the native update splits it across threads.
    const shapes = [[3, 4], [7], [2, 2, 2], [300, 200]];
    const a = shapes.map(() => unique('a'));
    const b = shapes.map(() => unique('b'));
    // tidy frees each variable's initial tensor; the variable keeps the data.
    const mine = shapes.map((s, i) => tf.tidy(() => tf.variable(tf.randomNormal(s, 0, 1, 'float32', i), true, a[i])));
    const ref = mine.map((v, i) => tf.tidy(() => tf.variable(v.clone(), true, b[i])));
    const optA = new HostAdam({learningRate: 0.01, epsilon: 1e-7});
    const optB = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
    const update = addon != null ? vi.spyOn(addon, 'adamUpdateMany') : null;
    for (let step = 0; step < 6; step++) {
      const grads = shapes.map((s, i) => tf.randomNormal(s, 0, step + 1, 'float32', 100 * step + i));
      // Passing the variables in different orders also checks moments are kept per name.
      optA.applyGradients(Object.fromEntries(grads.map((g, i) => [a[i], g]).reverse()));
      optB.applyGradients(grads.map((g, i) => ({name: b[i], tensor: g})));
      tf.dispose(grads);
    }
    // The native path is the one under test on native, and only there: one call per step.
    expect(update?.mock.calls.length ?? 0).toBe(backend === 'native' ? 6 : 0);
    mine.forEach((v, i) => {
      const x = v.dataSync();
      const y = ref[i].dataSync();
      expect(x.length).toBe(y.length);
      x.forEach((xi, j) => expect(Math.abs(xi - y[j])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(y[j]))));
    });
    optA.dispose();
    optB.dispose();
    tf.dispose([...mine, ...ref]);
  });

  it('leaves tensors and arrays taken from a variable before a step unchanged', () => {
    const name = unique('alias');
    const w = tf.tidy(() => tf.variable(tf.tensor2d([[1, 2], [3, 4]]), true, name));
    const copy = w.clone(); // shares the variable's data until assign() swaps it
    const flat = tf.reshape(w, [4]);
    const values = w.dataSync();
    const opt = new HostAdam({learningRate: 0.5});
    const g = tf.ones([2, 2]);
    opt.applyGradients({[name]: g});
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3, 4]);
    expect(Array.from(flat.dataSync())).toEqual([1, 2, 3, 4]);
    expect(Array.from(values)).toEqual([1, 2, 3, 4]);
    w.dataSync().forEach((v, i) => expect(v).toBeCloseTo(i + 1 - 0.5, 5));
    tf.dispose([w, copy, flat, g]);
    opt.dispose();
  });

  it('minimizes a quadratic through optimizer.minimize', () => {
    const w = tf.tidy(() => tf.variable(tf.tensor1d([5, -3]), true, unique('quad')));
    const target = tf.tensor1d([1, 2]);
    const opt = new HostAdam({learningRate: 0.1});
    for (let i = 0; i < 300; i++) {
      const cost = opt.minimize(() => tf.sum(tf.squaredDifference(w, target)), true);
      cost?.dispose();
    }
    const v = w.dataSync();
    expect(Math.abs(v[0] - 1)).toBeLessThan(1e-2);
    expect(Math.abs(v[1] - 2)).toBeLessThan(1e-2);
    tf.dispose([w, target]);
    opt.dispose();
  });

  it('names the variable when its gradient has the wrong size', () => {
    const name = unique('shape');
    const w = tf.tidy(() => tf.variable(tf.zeros([3]), true, name));
    const g = tf.ones([4]);
    const opt = new HostAdam();
    expect(() => opt.applyGradients({[name]: g})).toThrow(`HostAdam: gradient of ${name} has shape [4], expected float32 [3]`);
    tf.dispose([w, g]);
    opt.dispose();
  });
});

describe.runIf(addon != null)('addon.adamUpdate', () => {
  const native = addon as NonNullable<typeof addon>;
  const f32 = (n: number) => new Float32Array(n);

  it('computes one step by hand', () => {
    // β1 = 0.5, β2 = 0.75: m = 0.5·0.2 + 0.5·1 = 0.6, v = 0.75·0.04 + 0.25·1 = 0.28,
    // w = 2 − 0.1·0.6 / (sqrt(0.28)·2 + 0.01) = 2 − 0.06 / 1.068301...
    const m = new Float32Array([0.2]);
    const v = new Float32Array([0.04]);
    const out = f32(1);
    native.adamUpdate(new Float32Array([1]), m, v, new Float32Array([2]), out, 0.5, 0.75, 0.1, 2, 0.01);
    expect(m[0]).toBeCloseTo(0.6, 6);
    expect(v[0]).toBeCloseTo(0.28, 6);
    expect(out[0]).toBeCloseTo(2 - 0.06 / (Math.sqrt(0.28) * 2 + 0.01), 6);
  });

  it('rejects mismatched lengths and overlapping outputs with the kernel name', () => {
    expect(() => native.adamUpdate(f32(3), f32(3), f32(2), f32(3), f32(3), 0.9, 0.999, 1e-3, 1, 1e-7)).toThrow(
      'adamUpdate: v has 2 elements, expected 3');
    const shared = f32(6);
    const m = shared.subarray(0, 3);
    const out = shared.subarray(2, 5);
    expect(() => native.adamUpdate(f32(3), m, f32(3), f32(3), out, 0.9, 0.999, 1e-3, 1, 1e-7)).toThrow(
      'adamUpdate: m and wOut share memory');
    // The gradient may be the weights themselves (both are only read).
    const w = new Float32Array([1, 2, 3]);
    expect(() => native.adamUpdate(w, f32(3), f32(3), w, f32(3), 0.9, 0.999, 1e-3, 1, 1e-7)).not.toThrow();
    expect(() => native.adamUpdate(f32(3), f32(3), f32(3), f32(3), f32(3), 0.9, 0.999, 'x' as unknown as number, 1, 1e-7))
      .toThrow('adamUpdate: stepSize must be a number');
  });
});

describe.runIf(addon != null)('addon.adamUpdateMany', () => {
  const native = addon as NonNullable<typeof addon>;
  const f32 = (n: number) => new Float32Array(n);
  const random = (n: number, seed: number) => {
    let s = seed;
    return Float32Array.from({length: n}, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
  };

  it('gives adamUpdate\'s weights and moments bit for bit, on small variables sharing a piece and large ones split across threads', () => {
    // Sizes around the 16K-weight pieces and SIMD widths: 1, odd, 16K ± 1, and two large ones.
    const sizes = [1, 7, 17, 16383, 16385, 3, 40000, 100003];
    for (let step = 1; step <= 3; step++) {
      const vars = sizes.map((n, i) => ({g: random(n, 10 * step + i), m: random(n, 100 + i).map(Math.abs), v: random(n, 200 + i).map(Math.abs), w: random(n, 300 + i)}));
      const one = vars.map((x) => ({m: x.m.slice(), v: x.v.slice(), out: f32(x.w.length)}));
      const many = vars.map((x) => ({m: x.m.slice(), v: x.v.slice(), out: f32(x.w.length)}));
      const [b1, b2, stepSize, invSqrtBc2, eps] = [0.9, 0.999, 1e-3 / (1 - 0.9 ** step), 1 / Math.sqrt(1 - 0.999 ** step), 1e-7];
      vars.forEach((x, i) => native.adamUpdate(x.g, one[i].m, one[i].v, x.w, one[i].out, b1, b2, stepSize, invSqrtBc2, eps));
      native.adamUpdateMany(b1, b2, stepSize, invSqrtBc2, eps, ...vars.flatMap((x, i) => [x.g, many[i].m, many[i].v, x.w, many[i].out]));
      // Counted by hand: toEqual on 100K-element arrays takes seconds.
      const differ = (a: Float32Array, b: Float32Array) => a.reduce((c, x, j) => c + (Object.is(x, b[j]) ? 0 : 1), 0);
      vars.forEach((_, i) => {
        expect([differ(many[i].out, one[i].out), differ(many[i].m, one[i].m), differ(many[i].v, one[i].v)]).toEqual([0, 0, 0]);
      });
    }
  });

  it('rejects a wrong slot count, mismatched lengths and a written array shared between variables', () => {
    const k = (slots: Float32Array[]) => () => native.adamUpdateMany(0.9, 0.999, 1e-3, 1, 1e-7, ...slots);
    expect(k([f32(3), f32(3), f32(3), f32(3)])).toThrow('adamUpdateMany: needs 5 arrays (g, m, v, w, wOut) per variable, got 4');
    expect(k([f32(3), f32(3), f32(2), f32(3), f32(3)])).toThrow('adamUpdateMany: slot 0 v has 2 elements, expected 3');
    const shared = f32(3);
    expect(k([f32(3), shared, f32(3), f32(3), f32(3), f32(3), shared, f32(3), f32(3), f32(3)])).toThrow(
      'adamUpdateMany: slot 0 m and slot 1 m share memory');
    // Read-only arrays (g, w) may be shared.
    const w = f32(3);
    expect(k([w, f32(3), f32(3), w, f32(3), w, f32(3), f32(3), w, f32(3)])).not.toThrow();
    expect(k([])).not.toThrow();
  });
});

describe.each(backends)('HostAdam: a variable named twice in one update on %s', (backend) => {
  it('is updated twice, in order, as two calls would within the same step', async () => {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const name = `adam_twice_${backend}`;
    const w = tf.tidy(() => tf.variable(tf.tensor1d([1, -2, 3]), true, name));
    const opt = new HostAdam({learningRate: 0.1});
    const g1 = new Float32Array([0.5, -4, 1]), g2 = new Float32Array([-1, 2, 0.25]);
    opt.applyHostGradients([{variable: w, grad: g1}, {variable: w, grad: g2}]);
    // By hand: both updates are of step t = 1; the second starts from the first's weights and moments.
    const b1 = 0.9, b2 = 0.999, eps = 1e-7;
    const want = [1, -2, 3].map((x, i) => {
      let m = (1 - b1) * g1[i], v = (1 - b2) * g1[i] ** 2;
      x -= (0.1 / (1 - b1)) * m / (Math.sqrt(v) / Math.sqrt(1 - b2) + eps);
      m = b1 * m + (1 - b1) * g2[i];
      v = b2 * v + (1 - b2) * g2[i] ** 2;
      return x - (0.1 / (1 - b1)) * m / (Math.sqrt(v) / Math.sqrt(1 - b2) + eps);
    });
    Array.from(w.dataSync()).forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThan(1e-5));
    w.dispose();
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe.each(backends)('HostAdam weight decay (AdamW) on %s', (backend) => {
  it('matches torch.optim.AdamW on a kernel, leaves rank-1 weights undecayed, and takes a new learning rate', async () => {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    // /usr/bin/python3, torch 1.13: p = [[1, −2], [3, 4]], AdamW([p], 0.1, eps=1e-7, weight_decay=0.5),
    // two steps with grads [0.5, −1, 2, 0.1] then [1, 1, −1, 0.3] → p.flatten().tolist().
    const want = [0.7109818458557129, -1.7152631282806396, 2.5858662128448486, 3.423222064971924];
    const kernel = tf.tidy(() => tf.variable(tf.tensor2d([1, -2, 3, 4], [2, 2]), true, `adamw_${backend}_k`));
    const bias = tf.tidy(() => tf.variable(tf.tensor1d([1, -2]), true, `adamw_${backend}_b`));
    const opt = new HostAdam({learningRate: 0.1, epsilon: 1e-7, weightDecay: 0.5});
    for (const g of [[0.5, -1, 2, 0.1], [1, 1, -1, 0.3]]) {
      const gk = tf.tensor2d(g, [2, 2]);
      const gb = tf.tensor1d([g[0], g[1]]);
      opt.applyGradients({[kernel.name]: gk, [bias.name]: gb});
      tf.dispose([gk, gb]);
    }
    kernel.dataSync().forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    // The bias took plain Adam steps: the first moves by lr·sign(g) = 0.1 each, no decay.
    const b = bias.dataSync();
    expect(b[0]).toBeLessThan(1 - 0.15);
    expect(b[0]).toBeGreaterThan(1 - 0.21);
    opt.learningRate = 0;
    const g0 = tf.tensor1d([5, 5]);
    const frozen = Array.from(bias.dataSync());
    opt.applyGradients({[bias.name]: g0});
    expect(Array.from(bias.dataSync())).toEqual(frozen);
    expect(() => new HostAdam({weightDecay: -1})).toThrow('weight decay must be a finite number >= 0, got -1');
    tf.dispose([kernel, bias, g0]);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
