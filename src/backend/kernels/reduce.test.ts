// Parity of the native reduction and data-movement kernels with @tensorflow/tfjs-backend-cpu:
// forward and gradients over axes / keepDims / shapes, NaN and tie rules, dtype fallbacks,
// argument errors and leaks.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import {addon, nativeAvailable} from '../index.js';
import {countCalls, rng, size} from './test_util.js';

/** Uniform values in [lo, hi), or small integers when levels > 0 (to force ties). */
function values(n: number, seed: number, lo = -2, hi = 2, levels = 0): Float32Array {
  const r = rng(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; ++i) v[i] = levels > 0 ? Math.floor(r() * levels) : lo + r() * (hi - lo);
  return v;
}

interface OpCase {
  name: string;
  /** Input tensors as [values, shape, dtype?]. */
  inputs: Array<[Float32Array | Int32Array, number[], ('float32' | 'int32')?]>;
  f: (xs: tf.Tensor[]) => tf.Tensor;
  /** Also compare the gradients of sum(f(xs) * w) wrt the float inputs. */
  grad?: boolean;
  exact?: boolean;
  /** Addon functions that must have run (checks the native path was taken). */
  native?: string[];
}

function runCase(c: OpCase): Float32Array[] {
  const tf32 = c.inputs.map(([v, s, d]) => tf.tensor(v, s, d ?? 'float32'));
  const y = c.f(tf32);
  const out = [y];
  if (c.grad) {
    const w = tf.tensor(values(y.size, 99, 0.5, 1.5), y.shape);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(c.f(xs), w)))(tf32);
    out.push(...grads);
  }
  const vals = out.map((t) => (t.dtype === 'float32' ? (t.dataSync() as Float32Array) : Float32Array.from(t.dataSync())));
  tf.dispose([...tf32, ...out]);
  return vals;
}

function expectSame(got: Float32Array, want: Float32Array, what: string, exact: boolean): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; ++i) {
    const a = got[i], b = want[i];
    if (Number.isNaN(b)) {
      if (!Number.isNaN(a)) expect.fail(`${what}[${i}]: got ${a}, want NaN`);
    } else if (exact || !Number.isFinite(b)) {
      if (a !== b) expect.fail(`${what}[${i}]: got ${a}, want exactly ${b}`);
    } else if (!(Math.abs(a - b) <= 1e-4 * (1 + Math.abs(b)))) {
      expect.fail(`${what}[${i}]: got ${a}, want ${b}`);
    }
  }
}

function checkParity(c: OpCase): void {
  tf.setBackend('cpu');
  const cpu = tf.tidy(() => runCase(c));
  tf.setBackend('native');
  const {result: native, calls} = countCalls(c.native ?? [], () => tf.tidy(() => runCase(c)));
  for (const n of c.native ?? []) expect(calls[n], `${c.name}: native ${n} calls`).toBeGreaterThan(0);
  expect(native.length).toBe(cpu.length);
  native.forEach((v, i) => expectSame(v, cpu[i], `${c.name} ${i === 0 ? 'output' : `grad ${i - 1}`}`, c.exact ?? false));
}

// ---- case generators ----

const r = rng(2024);
const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
const randShape = (rank: number) => Array.from({length: rank}, () => pick([1, 2, 3, 4, 5, 7]));

function randomAxes(rank: number): number | number[] | undefined {
  const kind = pick(['all', 'one', 'some', 'neg']);
  if (kind === 'all' || rank === 0) return undefined;
  if (kind === 'one') return Math.floor(r() * rank);
  if (kind === 'neg') return -1 - Math.floor(r() * rank);
  const axes = Array.from({length: rank}, (_, i) => i).filter(() => r() < 0.5);
  return axes.length > 0 ? axes : [rank - 1];
}

const reduceCases: OpCase[] = [];
for (let i = 0; i < 60; ++i) {
  const op = (['sum', 'mean', 'max', 'min', 'prod'] as const)[i % 5];
  const shape = randShape(1 + (i % 4));
  const axis = randomAxes(shape.length);
  const keepDims = r() < 0.5;
  const n = size(shape);
  // prod inputs stay near 1 so products neither vanish nor overflow; max/min get ties sometimes.
  const v = op === 'prod' ? values(n, i, 0.6, 1.4) : (op === 'max' || op === 'min') && i % 2 === 0 ? values(n, i, 0, 0, 3) : values(n, i);
  reduceCases.push({
    name: `${op} shape [${shape}] axis ${JSON.stringify(axis)} keepDims ${keepDims}`,
    inputs: [[v, shape]],
    f: ([x]) => tf[op](x, axis, keepDims),
    // tfjs 4.22's own prod gradient breaks on the cpu backend too (it calls chained ops and
    // mishandles negative axes), so prod is compared forward only.
    grad: op !== 'prod',
    native: [op],
  });
}

const argCases: OpCase[] = [];
for (let i = 0; i < 24; ++i) {
  const op = i % 2 === 0 ? 'argMax' : 'argMin';
  const shape = randShape(1 + (i % 4));
  const axis = pick([0, shape.length - 1, -1, Math.floor(r() * shape.length)]);
  argCases.push({
    name: `${op} shape [${shape}] axis ${axis}`,
    inputs: [[values(size(shape), 50 + i, 0, 0, i % 3 === 0 ? 2 : 0), shape]],
    f: ([x]) => tf[op](x, axis),
    exact: true,
    native: [op],
  });
}

const moveCases: OpCase[] = [];
for (let i = 0; i < 20; ++i) {
  const rank = 1 + (i % 5);
  const shape = randShape(rank);
  const perm = Array.from({length: rank}, (_, k) => k).sort(() => r() - 0.5);
  moveCases.push({
    name: `transpose [${shape}] perm [${perm}]`,
    inputs: [[values(size(shape), 100 + i), shape]],
    f: ([x]) => tf.transpose(x, perm),
    grad: true,
    exact: true,
    native: rank > 1 && perm.some((p, k) => p !== k) ? ['transpose'] : [],
  });
}
for (let i = 0; i < 16; ++i) {
  const rank = 1 + (i % 4);
  const shape = randShape(rank);
  const paddings = shape.map(() => [pick([0, 1, 2]), pick([0, 1, 3])] as [number, number]);
  const value = pick([0, 0, -1.5, 7]);
  moveCases.push({
    name: `pad [${shape}] ${JSON.stringify(paddings)} value ${value}`,
    inputs: [[values(size(shape), 200 + i), shape]],
    f: ([x]) => tf.pad(x, paddings, value),
    grad: true,
    exact: true,
    native: ['padV2'],
  });
}
for (let i = 0; i < 16; ++i) {
  const rank = 1 + (i % 4);
  const shapes = [randShape(rank)];
  const axis = Math.floor(r() * rank) - (i % 2 === 0 ? rank : 0);
  const a = axis < 0 ? axis + rank : axis;
  const count = 2 + (i % 3);
  for (let k = 1; k < count; ++k) shapes.push(shapes[0].map((d, j) => (j === a ? pick([1, 2, 3]) : d)));
  moveCases.push({
    name: `concat ${JSON.stringify(shapes)} axis ${axis}`,
    inputs: shapes.map((s, k) => [values(size(s), 300 + 10 * i + k), s] as [Float32Array, number[]]),
    f: (xs) => tf.concat(xs, axis),
    grad: true,
    exact: true,
    native: ['concat'],
  });
}
for (let i = 0; i < 16; ++i) {
  const rank = 1 + (i % 4);
  const shape = randShape(rank).map((d) => d + 1);
  const begin = shape.map((d) => Math.floor(r() * d));
  const sz = shape.map((d, k) => (r() < 0.2 ? -1 : 1 + Math.floor(r() * (d - begin[k]))));
  moveCases.push({
    name: `slice [${shape}] begin [${begin}] size [${sz}]`,
    inputs: [[values(size(shape), 400 + i), shape]],
    f: ([x]) => tf.slice(x, begin, sz),
    grad: true,
    exact: true,
  });
}

describe.skipIf(!nativeAvailable())('native reduction and data-movement kernels', () => {
  let before = 0;
  beforeEach(() => {
    before = tf.memory().numTensors;
  });
  afterEach(() => {
    tf.setBackend('native');
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(reduceCases.map((c) => [c.name, c] as const))('%s', (_, c) => checkParity(c));
  it.each(argCases.map((c) => [c.name, c] as const))('%s', (_, c) => checkParity(c));
  it.each(moveCases.map((c) => [c.name, c] as const))('%s', (_, c) => checkParity(c));

  it('reduces a large tensor over leading axes (a bias gradient) like cpu', () => {
    checkParity({
      name: 'sum [32,7,7,512] axes [0,1,2]',
      inputs: [[values(32 * 7 * 7 * 512, 5), [32, 7, 7, 512]]],
      f: ([x]) => tf.sum(x, [0, 1, 2]),
      native: ['sum'],
    });
    checkParity({
      name: 'mean [300000]',
      inputs: [[values(300000, 6), [300000]]],
      f: ([x]) => tf.mean(x),
      native: ['mean'],
    });
  });

  it('takes a slice that is not contiguous natively', () => {
    checkParity({
      name: 'slice [4,6,5] cols',
      inputs: [[values(120, 8), [4, 6, 5]]],
      f: ([x]) => tf.slice(x, [1, 2, 1], [2, 3, 3]),
      grad: true,
      exact: true,
      native: ['slice'],
    });
  });

  it('transposes a large matrix (tiled path) exactly', () => {
    checkParity({
      name: 'transpose [3,70,130] perm [0,2,1]',
      inputs: [[values(3 * 70 * 130, 9), [3, 70, 130]]],
      f: ([x]) => tf.transpose(x, [0, 2, 1]),
      exact: true,
      native: ['transpose'],
    });
  });

  it.each([[[10]], [[4, 10]], [[2, 3, 7]], [[5, 1]]])('softmax over shape %j matches cpu, with gradient', (shape) => {
    checkParity({
      name: `softmax [${shape}]`,
      inputs: [[values(size(shape), 10, -8, 8), shape]],
      f: ([x]) => tf.softmax(x),
      grad: true,
      native: ['softmax'],
    });
  });

  it('propagates NaN and infinities like cpu (max, min, sum, argMax, softmax)', () => {
    const v = new Float32Array([1, NaN, 3, -Infinity, 2, 5, Infinity, 0, NaN, NaN, 4, 4]);
    for (const [op, f] of [
      ['max', (x: tf.Tensor) => tf.max(x, 1)],
      ['min', (x: tf.Tensor) => tf.min(x, 1)],
      ['sum', (x: tf.Tensor) => tf.sum(x, 0)],
      ['argMax', (x: tf.Tensor) => tf.argMax(x, 1)],
      ['argMin', (x: tf.Tensor) => tf.argMin(x, 0)],
      ['softmax', (x: tf.Tensor) => tf.softmax(x)],
    ] as const) {
      checkParity({name: `${op} with NaN`, inputs: [[v, [3, 4]]], f: ([x]) => f(x), exact: op !== 'softmax', native: [op]});
    }
  });

  it('defers other dtypes to the cpu kernels with the same results', () => {
    const iv = Int32Array.from(values(24, 11, 0, 0, 9));
    const cases: OpCase[] = [
      {name: 'sum int32', inputs: [[iv, [2, 3, 4], 'int32']], f: ([x]) => tf.sum(x, 1), exact: true},
      {name: 'max int32', inputs: [[iv, [2, 3, 4], 'int32']], f: ([x]) => tf.max(x, [0, 2]), exact: true},
      {name: 'mean int32', inputs: [[iv, [2, 3, 4], 'int32']], f: ([x]) => tf.mean(x, -1)},
      {name: 'transpose int32', inputs: [[iv, [2, 3, 4], 'int32']], f: ([x]) => tf.transpose(x, [2, 0, 1]), exact: true},
      {name: 'concat int32', inputs: [[iv, [2, 3, 4], 'int32'], [iv, [2, 3, 4], 'int32']], f: (xs) => tf.concat(xs, 1), exact: true},
      {name: 'pad int32', inputs: [[iv, [2, 3, 4], 'int32']], f: ([x]) => tf.pad(x, [[1, 0], [0, 2], [1, 1]], 3), exact: true},
      {name: 'slice int32', inputs: [[iv, [2, 3, 4], 'int32']], f: ([x]) => tf.slice(x, [0, 1, 1], [2, 2, 2]), exact: true},
      {name: 'argMax int32', inputs: [[iv, [2, 3, 4], 'int32']], f: ([x]) => tf.argMax(x, 1), exact: true},
    ];
    for (const c of cases) checkParity(c);
  });

  it('raises an Error naming the kernel and the shapes on bad arguments', () => {
    const a = addon!;
    const f = (n: number) => new Float32Array(n);
    expect(() => a.sum(f(5), f(2), [2, 3, 1])).toThrow(/Sum: x has 5 elements, expected 6/);
    expect(() => a.max(f(6), f(2), [2, 3])).toThrow(/Max: dims must be \[outer, reduce, inner\]/);
    expect(() => a.argMax(f(6), f(2) as unknown as Int32Array, [2, 3, 1])).toThrow(/ArgMax: out must be an Int32Array/);
    expect(() => a.softmax(f(6), f(5), [2, 3])).toThrow(/Softmax: out has 5 elements, expected 6/);
    expect(() => a.transpose(f(6), f(6), [2, 3], [0, 0])).toThrow(/Transpose: perm \[0,0\] is not a permutation for shape \[2,3\]/);
    expect(() => a.slice(f(6), f(4), [2, 3], [1, 1], [2, 2])).toThrow(/Slice: begin \[1,1\] size \[2,2\] out of bounds for shape \[2,3\]/);
    expect(() => a.padV2(f(6), f(6), [2, 3], [1, 0], 0)).toThrow(/PadV2: paddings \[1,0\] do not fit shape \[2,3\]/);
    expect(() => a.concat([f(6), f(5)], f(11), 2, [3, 3])).toThrow(/Concat: input 1 has 5 elements, expected \[2,3\]/);
    expect(() => a.transpose(f(512), f(512), [2, 2, 2, 2, 2, 2, 2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8])).toThrow(/Transpose: rank 9 > 8/);
  });
});
