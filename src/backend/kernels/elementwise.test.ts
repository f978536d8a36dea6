// Parity of the native element-wise kernels with @tensorflow/tfjs-backend-cpu: forward and
// gradients over broadcast shapes, special values (0, -0, NaN, +-Inf), argument errors and leaks.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';

import {addon, nativeAvailable} from '../index.js';
import type {NativeAddon} from '../addon.js';
import {clipByValueConfig} from './ClipByValue.js';
import {hafifClipByValueGradConfig} from './HafifClipByValueGrad.js';
import {hafifReluGradConfig} from './HafifReluGrad.js';
import {logicalAndConfig} from './LogicalAnd.js';
import {rng} from './test_util.js';

/** n values uniform in [lo, hi). */
function uniform(n: number, seed: number, lo = -3, hi = 3): Float32Array {
  const r = rng(seed);
  return Float32Array.from({length: n}, () => lo + (hi - lo) * r());
}

const SPECIAL = [0, -0, 1, -1, 0.5, -2.5, 6, 7, NaN, Infinity, -Infinity, 1e-30, -1e-30, 3e9];

interface Out {
  shape: number[];
  dtype: string;
  values: number[];
}

/** Runs fn on one backend and returns its outputs' shapes, dtypes and values. */
function on(backend: 'cpu' | 'native', fn: () => tf.Tensor | tf.Tensor[]): Out[] {
  tf.setBackend(backend);
  try {
    const r = tf.tidy(fn);
    const outs = Array.isArray(r) ? r : [r];
    const res = outs.map((t) => ({shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync())}));
    tf.dispose(outs);
    return res;
  } finally {
    tf.setBackend('native');
  }
}

function expectClose(got: Out[], want: Out[], what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let k = 0; k < want.length; ++k) {
    const g = got[k], w = want[k], tag = `${what} output ${k}`;
    expect(g.shape, tag).toEqual(w.shape);
    expect(g.dtype, tag).toBe(w.dtype);
    expect(g.values.length, tag).toBe(w.values.length);
    for (let i = 0; i < w.values.length; ++i) {
      const a = g.values[i], b = w.values[i];
      const ok = Number.isNaN(b) ? Number.isNaN(a) : a === b || Math.abs(a - b) <= 1e-4 * (1 + Math.abs(b));
      if (!ok) expect.fail(`${tag}[${i}]: native ${a}, cpu ${b}`);
    }
  }
}

/** Asserts fn gives the same outputs on both backends, and that the native run called `fnName`. */
type ElementwiseFn = 'binary' | 'unary' | 'select' | 'addN' | 'batchNorm' | 'cast';

function parity(what: string, fn: () => tf.Tensor | tf.Tensor[], fnName?: ElementwiseFn): void {
  const want = on('cpu', fn);
  const spy = fnName ? vi.spyOn(addon as NativeAddon, fnName) : null;
  const got = on('native', fn);
  if (spy) {
    expect(spy, `${what} did not reach the native ${fnName}`).toHaveBeenCalled();
    spy.mockRestore();
  }
  expectClose(got, want, what);
}

type BinaryFn = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
const arithmetic: Record<string, BinaryFn> = {
  add: tf.add,
  sub: tf.sub,
  mul: tf.mul,
  div: tf.div,
  maximum: tf.maximum,
  minimum: tf.minimum,
  squaredDifference: tf.squaredDifference,
  prelu: (a, b) => tf.prelu(a, b),
};
const noBroadcastGrad = new Set(['maximum', 'minimum', 'squaredDifference']);
const comparisons: Record<string, BinaryFn> = {
  greater: tf.greater,
  greaterEqual: tf.greaterEqual,
  less: tf.less,
  lessEqual: tf.lessEqual,
  equal: tf.equal,
  notEqual: tf.notEqual,
};

const shapePairs: Array<[number[], number[]]> = [
  [[2, 3, 4], [2, 3, 4]],
  [[2, 3, 4], [3, 1]],
  [[3, 1], [2, 3, 4]],
  [[2, 3, 4], [1]],
  [[2, 3, 4], []],
  [[], [2, 3, 4]],
  [[2, 3, 4], [4]],
  [[2, 1, 4], [1, 3, 1]],
  [[2, 1, 3, 1, 4], [1, 5, 1, 2, 1]],
  [[2, 3, 1, 2, 2, 3], [3, 4, 1, 1, 3]],
  [[1, 1, 1], [1]],
  [[0, 3], [3]],
  // Large enough to split across threads, with runs that straddle the split.
  [[301, 517], [517]],
  [[301, 517], [301, 1]],
  [[301, 517], [301, 517]],
  [[7, 1, 9001], [1, 3, 1]],
];

let before = 0;
beforeEach(() => {
  tf.setBackend('native');
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors, 'tensors leaked').toBe(before);
});

describe.runIf(nativeAvailable())('native element-wise kernels', () => {
  it('registers the native backend', () => {
    expect(tf.getBackend()).toBe('native');
  });

  describe('binary arithmetic with broadcasting, forward and gradients', () => {
    for (const [name, f] of Object.entries(arithmetic)) {
      it(name, () => {
        shapePairs.forEach(([sa, sb], k) => {
          // prelu's alpha broadcasts into x, never the other way.
          if (name === 'prelu' && tf.backend_util.assertAndGetBroadcastShape(sa, sb).join() !== sa.join()) return;
          const na = sa.reduce((p, d) => p * d, 1), nb = sb.reduce((p, d) => p * d, 1);
          const av = uniform(na, 11 + k);
          // A divisor away from zero keeps div's gradient finite.
          const bv = name === 'div' ? uniform(nb, 23 + k, 0.5, 2).map((v, i) => (i % 2 ? -v : v)) : uniform(nb, 23 + k);
          // tfjs's gradients of these ops do not sum over broadcast dims (on any backend).
          const gradOk = !noBroadcastGrad.has(name) || JSON.stringify(sa) === JSON.stringify(sb);
          parity(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, () => {
            const a = tf.tensor(av, sa), b = tf.tensor(bv, sb);
            const y = f(a, b);
            if (!gradOk) return y;
            const dy = tf.tensor(uniform(y.size, 5 + k), y.shape);
            const [da, db] = tf.grads((x1: tf.Tensor, x2: tf.Tensor) => f(x1, x2))([a, b], dy);
            return [y, da, db];
          }, 'binary');
        });
      });
    }

    it('pow (positive bases for the gradient, integer exponents for negative bases)', () => {
      shapePairs.slice(0, 12).forEach(([sa, sb], k) => {
        const av = uniform(sa.reduce((p, d) => p * d, 1), 31 + k, 0.2, 3);
        const bv = uniform(sb.reduce((p, d) => p * d, 1), 37 + k, -2, 3);
        parity(`pow ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, () => {
          const a = tf.tensor(av, sa), b = tf.tensor(bv, sb);
          const y = tf.pow(a, b);
          const [da, db] = tf.grads((x1: tf.Tensor, x2: tf.Tensor) => tf.pow(x1, x2))([a, b]);
          return [y, da, db];
        }, 'binary');
        parity('pow negative base', () => tf.pow(tf.neg(tf.tensor(av, sa)), tf.round(tf.tensor(bv, sb))), 'binary');
      });
    });
  });

  describe('comparisons give bool tensors', () => {
    for (const [name, f] of Object.entries(comparisons)) {
      it(name, () => {
        shapePairs.forEach(([sa, sb], k) => {
          const na = sa.reduce((p, d) => p * d, 1), nb = sb.reduce((p, d) => p * d, 1);
          // Few distinct values so equal pairs occur.
          const av = uniform(na, 41 + k).map(Math.round), bv = uniform(nb, 43 + k).map(Math.round);
          parity(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, () => f(tf.tensor(av, sa), tf.tensor(bv, sb)), 'binary');
        });
      });
    }
  });

  it('binary ops on special values follow JavaScript Math (NaN, -0, Inf, pow(1, NaN))', () => {
    const n = SPECIAL.length;
    const a = new Float32Array(n * n), b = new Float32Array(n * n);
    for (let i = 0; i < n; ++i) {
      for (let j = 0; j < n; ++j) {
        a[i * n + j] = SPECIAL[i];
        b[i * n + j] = SPECIAL[j];
      }
    }
    for (const [name, f] of Object.entries({...arithmetic, ...comparisons, pow: tf.pow as BinaryFn})) {
      parity(`${name} special`, () => f(tf.tensor(a, [n, n]), tf.tensor(b, [n, n])), 'binary');
    }
  });

  describe('unary ops, forward and gradients', () => {
    type UnaryFn = (x: tf.Tensor) => tf.Tensor;
    const unary: Record<string, [UnaryFn, number, number]> = {
      neg: [tf.neg, -3, 3],
      square: [tf.square, -3, 3],
      sqrt: [tf.sqrt, 0.1, 4],
      rsqrt: [tf.rsqrt, 0.1, 4],
      exp: [tf.exp, -5, 5],
      log: [tf.log, 0.1, 4],
      log1p: [tf.log1p, -0.9, 4],
      abs: [tf.abs, -3, 3],
      reciprocal: [tf.reciprocal, 0.2, 3],
      relu: [tf.relu, -3, 3],
      relu6: [tf.relu6, -3, 9],
      leakyRelu: [(x) => tf.leakyRelu(x, 0.2), -3, 3],
      leakyReluNegAlpha: [(x) => tf.leakyRelu(x, -1.5), -3, 3],
      elu: [tf.elu, -3, 3],
      sigmoid: [tf.sigmoid, -8, 8],
      tanh: [tf.tanh, -4, 4],
      softplus: [tf.softplus, -20, 20],
      step: [(x) => tf.step(x), -3, 3],
      stepAlpha: [(x) => tf.step(x, 0.3), -3, 3],
    };
    for (const [name, [f, lo, hi]] of Object.entries(unary)) {
      it(name, () => {
        for (const shape of [[2, 3, 4], [], [0, 2], [257, 300]]) {
          const n = shape.reduce((p, d) => p * d, 1);
          const xv = uniform(n, 51, lo, hi);
          parity(`${name} ${JSON.stringify(shape)}`, () => {
            const x = tf.tensor(xv, shape);
            const y = f(x);
            const dy = tf.tensor(uniform(n, 53), shape);
            const dx = tf.grad((t: tf.Tensor) => f(t))(x, dy);
            return [y, dx];
          }, 'unary');
        }
        const special = Float32Array.from([...SPECIAL, ...SPECIAL.map((v) => -v), 88, -88, 100, -104]);
        parity(`${name} special`, () => f(tf.tensor(special)), 'unary');
      });
    }
  });

  it('elu gradient uses the EluGrad kernel', () => {
    const xv = uniform(24, 61);
    // EluGrad takes dy and Elu's output y; grads of elu route through it.
    parity('eluGrad', () => tf.grad((t: tf.Tensor) => tf.elu(t))(tf.tensor(xv, [2, 3, 4])), 'binary');
  });

  it('select (tf.where) with broadcast condition, forward and gradients', () => {
    const cases: Array<[number[], number[], number[]]> = [
      [[2, 3, 4], [2, 3, 4], [2, 3, 4]],
      [[3, 4], [2, 3, 4], [4]],
      [[], [5], [5]],
      // Large enough to split across threads. (A broadcast t or e here would time tfjs's Tile gradient.)
      [[300, 400], [300, 400], [300, 400]],
      [[2, 3], [2, 3], [1]],
    ];
    cases.forEach(([sc, st, se], k) => {
      const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
      const cv = uniform(size(sc), 71 + k), tv = uniform(size(st), 73 + k), ev = uniform(size(se), 79 + k);
      parity(`where ${JSON.stringify([sc, st, se])}`, () => {
        const c = tf.greater(tf.tensor(cv, sc), 0), t = tf.tensor(tv, st), e = tf.tensor(ev, se);
        const y = tf.where(c, t, e);
        const [dt, de] = tf.grads((x1: tf.Tensor, x2: tf.Tensor) => tf.where(c, x1, x2))([t, e]);
        return [y, dt, de];
      }, 'select');
    });
  });

  it('clipByValue (ReLU6) and logicalAnd, forward and the clip gradient, on the native kernels', () => {
    const clipSpy = vi.spyOn(clipByValueConfig, 'kernelFunc');
    const andSpy = vi.spyOn(logicalAndConfig, 'kernelFunc');
    const xv = Float32Array.from([...SPECIAL, ...uniform(3000, 91, -8, 8)]);
    parity('clipByValue [0, 6] and its gradient', () => {
      const x = tf.tensor(xv), dy = tf.tensor(uniform(xv.length, 92));
      const [dx] = tf.grads((t: tf.Tensor) => tf.mul(tf.clipByValue(t, 0, 6), dy))([x]);
      return [tf.clipByValue(x, 0, 6), tf.clipByValue(x, -1.5, 2.25), tf.clipByValue(x, 0, 0), dx];
    }, 'unary');
    // Odd sizes, one below and one above the size the native loop splits over threads at.
    for (const n of [1, 7, 131073]) {
      const big = Float32Array.from({length: n}, (_, i) => (i < SPECIAL.length ? SPECIAL[i] : xv[i % xv.length] * 1.3));
      parity(`clipByValue of ${n} values`, () => [tf.clipByValue(tf.tensor(big), -0.5, 6), tf.clipByValue(tf.tensor(big, [1, n]), 1, 1.5)], 'unary');
    }
    const a = uniform(64, 93), b = uniform(64, 94);
    parity('logicalAnd, same shapes and broadcast', () => [
      tf.logicalAnd(tf.greater(tf.tensor(a, [8, 8]), 0), tf.greater(tf.tensor(b, [8, 8]), 0)),
      tf.logicalAnd(tf.greater(tf.tensor(a, [8, 8]), 0), tf.greater(tf.tensor(b.slice(0, 8), [8]), 0)),
    ]);
    expect(clipSpy).toHaveBeenCalled();
    expect(andSpy).toHaveBeenCalled();
    clipSpy.mockRestore();
    andSpy.mockRestore();
  });

  it('Relu and ClipByValue gradients run one native kernel each, equal to tfjs\' own on cpu (NaN, ±Inf, ±0)', () => {
    const spies = [hafifReluGradConfig, hafifClipByValueGradConfig].map((c) => vi.spyOn(c, 'kernelFunc'));
    const xs = Float32Array.from([...SPECIAL, ...SPECIAL.map((v) => -v), ...uniform(500, 95, -8, 8)]);
    const dys = Float32Array.from(xs, (_, i) => SPECIAL[(i * 7) % SPECIAL.length] * (i % 2 ? -1 : 1));
    parity('relu / clipByValue gradients', () => {
      const x = tf.tensor(xs), dy = tf.tensor(dys);
      return [tf.grad((t: tf.Tensor) => tf.relu(t))(x, dy), tf.grad((t: tf.Tensor) => tf.clipByValue(t, 0, 6))(x, dy),
        tf.grad((t: tf.Tensor) => tf.clipByValue(t, -1, 0.5))(x, dy)];
    });
    for (const s of spies) {
      expect(s).toHaveBeenCalled();
      s.mockRestore();
    }
  });

  it('cast between float32, int32 and bool', () => {
    const f = Float32Array.from([...SPECIAL, 1.7, -2.9, 2147483648, -2147483648, 4294967296 + 256, -3e9, 1e20]);
    parity('float32 -> int32', () => tf.cast(tf.tensor(f), 'int32'), 'cast');
    parity('float32 -> bool', () => tf.cast(tf.tensor(f), 'bool'), 'cast');
    const i = Int32Array.from([0, 1, -1, 2147483647, -2147483648, 16777217, 5]);
    parity('int32 -> float32', () => tf.cast(tf.tensor(i, [7], 'int32'), 'float32'), 'cast');
    parity('int32 -> bool', () => tf.cast(tf.tensor(i, [7], 'int32'), 'bool'), 'cast');
    const b = [true, false, true, true];
    parity('bool -> float32', () => tf.cast(tf.tensor(b, [4], 'bool'), 'float32'), 'cast');
    parity('bool -> int32', () => tf.cast(tf.tensor(b, [4], 'bool'), 'int32'), 'cast');
    // A cast to float32 yields a Float32Array, so the next native kernel takes it.
    parity('int32 -> float32 -> add', () => tf.add(tf.cast(tf.tensor(i, [7], 'int32'), 'float32'), 1), 'binary');
    const xv = uniform(24, 83);
    parity('cast gradient', () => tf.grad((t: tf.Tensor) => tf.mul(tf.cast(t, 'float32'), t))(tf.tensor(xv)), 'binary');
  });

  it('addN, forward and gradients', () => {
    for (const count of [1, 2, 3, 5]) {
      const vals = Array.from({length: count}, (_, k) => uniform(24, 91 + k));
      parity(`addN x${count}`, () => {
        const xs = vals.map((v) => tf.tensor(v, [2, 3, 4]));
        const y = tf.addN(xs);
        const dy = tf.tensor(uniform(24, 97), [2, 3, 4]);
        const gs = tf.grads((...ts: tf.Tensor[]) => tf.addN(ts))(xs, dy);
        return [y, ...gs];
      }, 'addN');
    }
  });

  it('batchNorm over the last axis and with full-shape parameters, forward and gradients', () => {
    const xShape = [2, 3, 5, 4];
    const xv = uniform(120, 101);
    for (const [pShape, withOffset, withScale, eps] of [
      [[4], true, true, 0.001],
      [[4], false, false, 1e-5],
      [[4], true, false, 0.1],
      [[2, 3, 5, 4], true, true, 0.001],
    ] as Array<[number[], boolean, boolean, number]>) {
      const np = pShape.reduce((p, d) => p * d, 1);
      const m = uniform(np, 103), v = uniform(np, 107, 0.1, 2), o = uniform(np, 109), s = uniform(np, 113);
      parity(`batchNorm ${JSON.stringify([pShape, withOffset, withScale, eps])}`, () => {
        const x = tf.tensor(xv, xShape), mt = tf.tensor(m, pShape), vt = tf.tensor(v, pShape);
        const ot = withOffset ? tf.tensor(o, pShape) : undefined, st = withScale ? tf.tensor(s, pShape) : undefined;
        const f = (xx: tf.Tensor, mm: tf.Tensor, vv: tf.Tensor) => tf.batchNorm(xx, mm, vv, ot, st, eps);
        const y = f(x, mt, vt);
        // tfjs's batchNorm gradient needs a scale (it saves it for backprop on any backend).
        if (!withScale) return y;
        const gs = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => f(a, b, c))([x, mt, vt]);
        return [y, ...gs];
      }, 'batchNorm');
    }
  });

  it('batchNorm with parameters of different lengths reads each cyclically', () => {
    const xv = uniform(120, 139);
    parity('batchNorm cyclic', () =>
      tf.batchNorm(tf.tensor(xv, [2, 3, 5, 4]), tf.tensor(uniform(4, 149)), tf.tensor(uniform(2, 151, 0.1, 2)),
        tf.tensor(uniform(1, 157)), tf.tensor(uniform(8, 163)), 0.01), 'batchNorm');
  });

  it('an Adam step matches the cpu backend', () => {
    const init = uniform(3000, 127), grad = uniform(3000, 131);
    parity('adam', () => {
      const v = tf.variable(tf.tensor(init, [30, 100]));
      const opt = tf.train.adam(0.01);
      for (let i = 0; i < 3; ++i) opt.applyGradients([{name: v.name, tensor: tf.tensor(grad, [30, 100])}]);
      const out = v.clone();
      opt.dispose();
      v.dispose();
      return out;
    }, 'binary');
  });

  describe('bad input raises an Error naming the kernel', () => {
    it('from tfjs ops', () => {
      expect(() => tf.tidy(() => tf.add(tf.ones([2, 3]), tf.ones([4])))).toThrow(/Add: .*broadcast/);
      expect(() => tf.tidy(() => tf.prelu(tf.ones([2, 3]), tf.ones([2])))).toThrow(/Prelu/);
    });

    it('from the addon', () => {
      const a = addon as NativeAddon;
      const f = (n: number) => new Float32Array(n);
      const add = a.binaryOps.Add, relu = a.unaryOps.Relu;
      expect(() => a.binary(add, f(6), f(4), f(6), [2, 3], [4])).toThrow(/^Add: shapes \[2,3\] and \[4\] do not broadcast/);
      expect(() => a.binary(add, f(5), f(3), f(6), [2, 3], [3])).toThrow(/^Add: a has 5 elements/);
      expect(() => a.binary(add, f(6), f(3), f(5), [2, 3], [3])).toThrow(/^Add: out has 5 elements, expected 6/);
      expect(() => a.binary(a.binaryOps.Greater, f(6), f(3), f(6), [2, 3], [3])).toThrow(/^Greater: out must be a Uint8Array/);
      expect(() => a.binary(99, f(1), f(1), f(1), [1], [1])).toThrow(/unknown op code 99/);
      expect(() => a.binary(add, f(1), [1] as unknown as Float32Array, f(1), [1], [1])).toThrow(/^Add: b must be a Float32Array/);
      expect(() => a.unary(relu, f(4), f(3))).toThrow(/^Relu: out has 3 elements, expected 4/);
      expect(() => a.select(new Uint8Array(3), f(3), f(2), f(3))).toThrow(/^Select: e has 2 elements/);
      expect(() => a.addN([f(3), f(4)], f(3))).toThrow(/^AddN: input 1 has 4 elements/);
      expect(() => a.batchNorm(f(4), f(0), f(2), null, null, f(4), 0.001)).toThrow(/^FusedBatchNorm: .*must not be empty/);
      expect(() => a.cast(f(3), new Float64Array(3) as unknown as Float32Array)).toThrow(/^Cast: unsupported/);
    });
  });
});
