// Direct addon calls with random geometry — mostly small and self-consistent, with huge, negative,
// fractional or NaN entries and wrong buffer lengths mixed in — either run or throw a JS error that
// names the kernel. They never crash the process, and never write outside their output buffers
// (every buffer sits between guard bands that are checked after each call).
import {writeFileSync} from 'node:fs';
import {describe, expect, it} from 'vitest';

import {addon} from './addon.js';
import {mulberry32} from '../util/random.js';

const SPECIAL = [-1, -7, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 40, 2 ** 53, 2 ** 62, 1.5, -0.5, NaN, Infinity, -Infinity, 1e300];
const GUARD = 16;
const SENTINEL = -12345.5;

describe('addon fuzz', () => {
  it('a few thousand random calls never crash or write out of bounds', () => {
    const real = addon!;
    const trace = process.env.FUZZ_TRACE;
    const a = (trace ? new Proxy(real, {get: (t, k) => {
      const v = (t as unknown as Record<string | symbol, unknown>)[k];
      if (typeof v !== 'function') return v;
      return (...x: unknown[]) => {
        writeFileSync(trace, `${String(k)} ${JSON.stringify(x.map((y) => (ArrayBuffer.isView(y) ? `len${(y as Float32Array).length}` : y)))}\n`);
        return (v as (...z: unknown[]) => unknown).apply(t, x);
      };
    }}) : real) as typeof real;
    const rng = mulberry32(7);
    const int = (lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
    const guarded: {whole: Float32Array | Int32Array | Uint8Array; n: number}[] = [];
    function buf<T extends Float32Array | Int32Array | Uint8Array>(Ctor: {new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number}, n: number): T {
      // A wrong length now and then: one off, or empty.
      if (!Number.isInteger(n) || n < 0 || n > 1e6) throw new Error(`test harness made a bad buffer length ${n}`);
      const r = rng();
      const len = r < 0.05 ? Math.max(0, n - 1) : r < 0.1 ? n + 1 : r < 0.12 ? 0 : n;
      const bytes = Ctor.BYTES_PER_ELEMENT;
      const ab = new ArrayBuffer((len + 2 * GUARD) * bytes);
      const whole = new Ctor(ab, 0, len + 2 * GUARD);
      const float = whole instanceof Float32Array;
      whole.fill(float ? SENTINEL : 77);
      const inner = new Ctor(ab, GUARD * bytes, len);
      if (float) for (let i = 0; i < len; i++) inner[i] = rng() * 2 - 1;
      guarded.push({whole, n: len});
      return inner;
    }
    const f32 = (n: number) => buf(Float32Array, n);
    // A small entry, or (rarely) a special one.
    const geom = (v: number[]): number[] => v.map((d) => (rng() < 0.04 ? SPECIAL[int(0, SPECIAL.length - 1)] : d));
    const prod = (v: number[]) => v.reduce((p, d) => p * (Number.isInteger(d) && d >= 0 && d < 1e6 ? d : 1), 1);
    const calls: Record<string, () => void> = {
      conv: () => {
        const [b, h, w, c, oh, ow, oc, fh, fw] = [int(0, 2), int(0, 6), int(0, 6), int(0, 3), int(0, 6), int(0, 6), int(0, 3), int(1, 3), int(1, 3)];
        const g = geom([b, h, w, c, oh, ow, oc, fh, fw, int(1, 3), int(1, 3), int(1, 2), int(1, 2), int(-1, 2), int(-1, 2)]);
        const x = f32(prod([g[0], g[1], g[2], g[3]])), y = f32(prod([g[0], g[4], g[5], g[6]])), f = f32(prod([g[7], g[8], g[3], g[6]]));
        const which = int(0, 2);
        if (which === 0) a.conv2d(x, f, rng() < 0.5 ? null : f32(prod([g[6]])), y, g, 'relu');
        else if (which === 1) a.conv2dBackpropInput(y, f, x, g);
        else a.conv2dBackpropFilter(x, y, f, g);
      },
      depthwise: () => {
        const [b, h, w, c, oh, ow, m, fh, fw] = [int(0, 2), int(0, 6), int(0, 6), int(0, 3), int(0, 6), int(0, 6), int(1, 2), int(1, 3), int(1, 3)];
        const g = geom([b, h, w, c, oh, ow, m, fh, fw, int(1, 3), int(1, 3), int(1, 2), int(1, 2), int(-1, 2), int(-1, 2)]);
        const x = f32(prod([g[0], g[1], g[2], g[3]])), y = f32(prod([g[0], g[4], g[5], g[3], g[6]])), f = f32(prod([g[7], g[8], g[3], g[6]]));
        const which = int(0, 2);
        if (which === 0) a.depthwiseConv2d(x, f, y, g);
        else if (which === 1) a.depthwiseConv2dBackpropInput(y, f, x, g);
        else a.depthwiseConv2dBackpropFilter(x, y, f, g);
      },
      pool: () => {
        const g = geom([int(0, 2), int(0, 6), int(0, 6), int(0, 3), int(0, 6), int(0, 6), int(1, 3), int(1, 3), int(1, 3), int(1, 3), int(-1, 2), int(-1, 2)]);
        const x = f32(prod([g[0], g[1], g[2], g[3]])), y = f32(prod([g[0], g[4], g[5], g[3]]));
        const which = int(0, 3);
        if (which === 0) a.maxPool(x, y, g);
        else if (which === 1) a.avgPool(x, y, g);
        else if (which === 2) a.maxPoolGrad(x, y, f32(x.length), g);
        else a.avgPoolGrad(y, x, g);
      },
      matmul: () => {
        const d = geom([int(1, 2), int(1, 2), int(0, 9), int(0, 9), int(0, 9)]);
        const bA = d[0], bB = d[1], M = d[2], N = d[3], K = d[4];
        const A = f32(prod([bA, M, K])), B = f32(prod([bB, K, N])), out = f32(prod([Math.max(bA, bB), M, N]));
        if (rng() < 0.5) a.batchMatMul(A, B, out, d, rng() < 0.5, rng() < 0.5);
        else a.fusedMatMul(A, B, rng() < 0.5 ? null : f32(prod([N])), out, d, rng() < 0.5, rng() < 0.5, 'relu', 0.2);
      },
      reduce: () => {
        const d = geom([int(0, 5), int(0, 5), int(0, 5)]);
        const x = f32(prod(d));
        const op = ['sum', 'mean', 'prod', 'max', 'min', 'argMax', 'softmax'][int(0, 6)];
        if (op === 'argMax') a.argMax(x, buf(Int32Array, prod([d[0], d[2]])), d);
        else if (op === 'softmax') a.softmax(x, f32(prod(d.slice(0, 2))), d.slice(0, 2));
        else (a[op] as (x: Float32Array, o: Float32Array, d: number[]) => void)(x, f32(prod([d[0], d[2]])), d);
      },
      copy: () => {
        const shape = geom(Array.from({length: int(0, 4)}, () => int(0, 4)));
        const x = f32(prod(shape));
        const which = int(0, 2);
        if (which === 0) {
          const perm = shape.map((_, i) => i).sort(() => rng() - 0.5);
          a.transpose(x, f32(x.length), shape, geom(perm));
        } else if (which === 1) {
          const begin = geom(shape.map((s) => int(0, Math.max(0, Number.isFinite(s) ? Math.min(s, 4) : 0))));
          const size = geom(shape.map((s, i) => Math.max(0, (Number.isInteger(s) ? Math.min(s, 4) : 0) - begin[i])));
          a.slice(x, f32(prod(size)), shape, begin, size);
        } else {
          const pads = geom(shape.flatMap(() => [int(0, 2), int(0, 2)]));
          const outShape = shape.map((s, i) => pads[2 * i] + s + pads[2 * i + 1]);
          a.padV2(x, f32(prod(outShape)), shape, pads, 0);
        }
      },
      concat: () => {
        const outer = geom([int(0, 4)])[0];
        const cols = geom(Array.from({length: int(1, 3)}, () => int(0, 4)));
        const xs = cols.map((c) => f32(prod([outer, c])));
        a.concat(xs, f32(prod([outer, cols.reduce((s, c) => s + (Number.isInteger(c) && c > 0 && c < 1e6 ? c : 0), 0)])), outer, cols);
      },
      binary: () => {
        const as = geom(Array.from({length: int(0, 3)}, () => int(0, 3)));
        const bs = geom(as.map((d) => (rng() < 0.3 ? 1 : d)));
        const os = as.map((d, i) => (d === 1 ? bs[i] : d));
        a.binary(int(0, 6), f32(prod(as)), f32(prod(bs)), f32(prod(os)), as, bs);
      },
      unary: () => {
        const n = int(0, 20);
        a.unary(int(0, 16), f32(n), f32(n), 0.2);
      },
    };
    const names = Object.keys(calls);
    let errors = 0;
    for (let i = 0; i < 10000; i++) {
      const name = names[i % names.length];
      guarded.length = 0;
      try {
        calls[name]();
      } catch (e) {
        // A JS error naming a kernel, not a crash.
        expect(e).toBeInstanceOf(Error);
        expect((e as Error).message).toMatch(/^[A-Za-z_0-9]+: \S/);
        errors++;
      }
      for (const {whole, n} of guarded) {
        const fill = whole instanceof Float32Array ? SENTINEL : 77;
        for (let j = 0; j < GUARD; j++) {
          if (whole[j] !== fill || whole[GUARD + n + j] !== fill) throw new Error(`call ${i} (${name}) wrote outside a buffer`);
        }
      }
    }
    // Both paths ran: some calls threw, most ran.
    expect(errors).toBeGreaterThan(200);
    expect(errors).toBeLessThan(9000);
  });
});
