// The addon's maxPoolPositions / maxPoolGradPositions against tf.maxPool and its gradient through
// tf.grad on the cpu backend (the reference), over window sizes, strides and paddings, with ties,
// NaN and -Infinity in the input.
import * as tf from '@tensorflow/tfjs-core';
import {describe, expect, it} from 'vitest';

import './index.js';
import {addon} from './addon.js';
import {poolGeometry} from './kernels/pool_geometry.js';
import {checkLeaks, expectClose, on} from './kernels/test_util.js';

/** expectClose, with infinities required to match exactly. */
function expectSame(name: string, got: Float32Array, want: Float32Array): void {
  const finite = (v: Float32Array) => v.map((e, i) => (Number.isFinite(want[i]) ? e : 0));
  want.forEach((w, i) => {
    if (w === Infinity || w === -Infinity) expect(got[i], `${name} [${i}]`).toBe(w);
  });
  expectClose(name, finite(got), finite(want));
}

const CASES: {shape: [number, number, number, number]; f: number; s: number; pad: 'same' | 'valid'}[] = [
  {shape: [2, 8, 8, 3], f: 2, s: 2, pad: 'valid'},
  {shape: [2, 7, 7, 5], f: 2, s: 1, pad: 'same'},
  {shape: [3, 9, 6, 4], f: 3, s: 2, pad: 'same'},
  {shape: [1, 5, 7, 2], f: 3, s: 1, pad: 'valid'},
  {shape: [2, 6, 6, 17], f: 2, s: 3, pad: 'same'},
  // Windows that tile the input (the gradient written window by window): odd sizes clipped at
  // the bottom and right border, batch 1, channels not a multiple of 8.
  {shape: [2, 7, 9, 5], f: 2, s: 2, pad: 'same'},
  {shape: [1, 9, 8, 16], f: 3, s: 3, pad: 'same'},
  {shape: [1, 6, 6, 1], f: 3, s: 3, pad: 'valid'},
  // Not tiled: a row and column left out of every window.
  {shape: [2, 7, 7, 3], f: 2, s: 2, pad: 'valid'},
  // The 2×2 stride-2 kernel: 16 channels a vector, a channel tail, rows and columns left out.
  {shape: [3, 8, 6, 16], f: 2, s: 2, pad: 'same'},
  {shape: [1, 9, 7, 35], f: 2, s: 2, pad: 'valid'},
  {shape: [2, 4, 5, 32], f: 2, s: 2, pad: 'valid'},
  // The 2×2 stride-1 kernel (keras-student's pool): 'same' clips the last row and column, 'valid'
  // drops them; a vector of channels, a tail, a single row or column.
  {shape: [2, 14, 14, 16], f: 2, s: 1, pad: 'same'},
  {shape: [1, 6, 9, 35], f: 2, s: 1, pad: 'same'},
  {shape: [2, 7, 5, 19], f: 2, s: 1, pad: 'valid'},
  {shape: [1, 1, 6, 16], f: 2, s: 1, pad: 'same'},
  {shape: [2, 5, 2, 3], f: 2, s: 1, pad: 'valid'},
];

describe.skipIf(addon == null)('max pooling with positions (native)', () => {
  checkLeaks();
  const a = addon as NonNullable<typeof addon>;

  for (const {shape, f, s, pad} of CASES) {
    it(`forward and gradient on [${shape}], ${f}×${f} stride ${s} ${pad}`, async () => {
      const size = shape.reduce((p, d) => p * d, 1);
      // Few distinct values, so windows have ties; some NaN and -Infinity.
      const x = Float32Array.from({length: size}, (_, i) => (i % 37 === 5 ? NaN : i % 29 === 3 ? -Infinity : ((i * 7919) % 13) - 6));
      const g = poolGeometry({dataId: {}, shape, dtype: 'float32'}, {filterSize: f, strides: s, pad});
      if (g == null) throw new Error('no geometry');
      const outShape = g.info.outShape;
      const outSize = outShape.reduce((p, d) => p * d, 1);
      const dy = Float32Array.from({length: outSize}, (_, i) => ((i * 104729) % 17) / 7 - 1.1);
      const [wantY, wantDx] = await on('cpu', () => {
        const xt = tf.tensor4d(x, shape);
        const pool = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, f, s, pad);
        return [pool(xt), tf.grad(pool)(xt, tf.tensor4d(dy, outShape as [number, number, number, number]))];
      });
      // dx starts as NaN: every element must be written.
      const y = new Float32Array(outSize), pos = new Int32Array(outSize), dx = new Float32Array(size).fill(NaN);
      a.maxPoolPositions(x, y, pos, g.geom);
      a.maxPoolGradPositions(pos, dy, dx, g.geom);
      expectSame('y', y, wantY.values);
      expectSame('dx', dx, wantDx.values);
    });
  }

  for (const [s, pad] of [[2, 'valid'], [1, 'same'], [1, 'valid']] as const) {
    it(`the 2×2 stride-${s} ${pad} kernel gives the general kernel's bits (HAFIF_POOL_2X2=0)`, () => {
      const shape: [number, number, number, number] = [2, 10, 9, 24];
      const size = shape.reduce((p, d) => p * d, 1);
      // Overlapping windows (stride 1) sum up to four dy of mixed magnitude in float64.
      const x = Float32Array.from({length: size}, (_, i) => (i % 41 === 7 ? NaN : ((i * 7919) % 11) - 5 + (i % 3) * 0.25));
      const g = poolGeometry({dataId: {}, shape, dtype: 'float32'}, {filterSize: 2, strides: s, pad});
      if (g == null) throw new Error('no geometry');
      const outSize = g.info.outShape.reduce((p, d) => p * d, 1);
      const dy = Float32Array.from({length: outSize}, (_, i) => Math.sin(i) * 3 * 10 ** ((i % 7) - 3));
      const run = () => {
        const y = new Float32Array(outSize), pos = new Int32Array(outSize), dx = new Float32Array(size).fill(NaN);
        a.maxPoolPositions(x, y, pos, g.geom);
        a.maxPoolGradPositions(pos, dy, dx, g.geom);
        return {y, pos, dx};
      };
      const fast = run();
      const saved = process.env.HAFIF_POOL_2X2;
      process.env.HAFIF_POOL_2X2 = '0';
      let general;
      try {
        general = run();
      } finally {
        if (saved === undefined) delete process.env.HAFIF_POOL_2X2;
        else process.env.HAFIF_POOL_2X2 = saved;
      }
      expect(Array.from(fast.pos)).toEqual(Array.from(general.pos));
      expect(Array.from(fast.y)).toEqual(Array.from(general.y));
      expect(Array.from(fast.dx)).toEqual(Array.from(general.dx));
    });
  }

  it('with reluOf, the gradient is reluGrad(reluOf, dx) bit for bit (2×2 stride 2 and 1, other windows)', () => {
    const cases: [[number, number, number, number], number, number][] = [[[2, 9, 7, 19], 2, 2], [[1, 8, 8, 16], 2, 2], [[2, 7, 6, 5], 3, 2], [[2, 6, 7, 21], 2, 1]];
    for (const [shape, f, s] of cases) {
      const size = shape.reduce((p, d) => p * d, 1);
      // A Relu's output: zeros (ties), positives, a NaN now and then.
      const r = Float32Array.from({length: size}, (_, i) => (i % 53 === 9 ? NaN : Math.max(0, ((i * 7919) % 13) - 6)));
      const g = poolGeometry({dataId: {}, shape, dtype: 'float32'}, {filterSize: f, strides: s, pad: 'valid'});
      if (g == null) throw new Error('no geometry');
      const outSize = g.info.outShape.reduce((p, d) => p * d, 1);
      const dy = Float32Array.from({length: outSize}, (_, i) => (i % 11 === 4 ? -Infinity : Math.sin(i) * 2));
      const y = new Float32Array(outSize), pos = new Int32Array(outSize);
      a.maxPoolPositions(r, y, pos, g.geom);
      const want = new Float32Array(size).fill(NaN), got = new Float32Array(size).fill(NaN);
      a.maxPoolGradPositions(pos, dy, want, g.geom);
      a.reluGrad(r, want, want);
      a.maxPoolGradPositions(pos, dy, got, g.geom, r);
      expect(Array.from(got, (v) => Object.is(v, -0) ? '-0' : v), `[${shape}] ${f}x${f}`)
        .toEqual(Array.from(want, (v) => Object.is(v, -0) ? '-0' : v));
    }
    const g = poolGeometry({dataId: {}, shape: [1, 4, 4, 1], dtype: 'float32'}, {filterSize: 2, strides: 2, pad: 'valid'});
    expect(() => a.maxPoolGradPositions(new Int32Array(4), new Float32Array(4), new Float32Array(16), (g as {geom: number[]}).geom, new Float32Array(15)))
      .toThrow('maxPoolGradPositions: reluOf has 15 elements, expected input size 16');
  });

  it('rejects positions outside the image and arrays of the wrong size', () => {
    const g = poolGeometry({dataId: {}, shape: [1, 4, 4, 1], dtype: 'float32'}, {filterSize: 2, strides: 2, pad: 'valid'});
    const geom = (g as {geom: number[]}).geom;
    const pos = new Int32Array([0, 1, 16, 3]);
    expect(() => a.maxPoolGradPositions(pos, new Float32Array(4), new Float32Array(16), geom))
      .toThrow('maxPoolGradPositions: pos[2] = 16 is outside [-1, 16)');
    expect(() => a.maxPoolPositions(new Float32Array(16), new Float32Array(4), new Int32Array(3), geom))
      .toThrow('maxPoolPositions: pos has 3 elements, expected output size 4');
  });

  it('rejects a window of 2^30 or more elements, as the other pool kernels do', () => {
    const huge = [1, 1, 1, 1, 1, 1, 32768, 32768, 1, 1, 0, 0];
    expect(() => a.maxPoolPositions(new Float32Array(1), new Float32Array(1), new Int32Array(1), huge)).toThrow(/maxPoolPositions: bad geom/);
    expect(() => a.maxPoolGradPositions(new Int32Array(1), new Float32Array(1), new Float32Array(1), huge)).toThrow(/maxPoolGradPositions: bad geom/);
    expect(() => a.maxPool(new Float32Array(1), new Float32Array(1), huge)).toThrow(/MaxPool: bad geom/);
  });
});
