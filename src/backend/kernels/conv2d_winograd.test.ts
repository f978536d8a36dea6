// Parity of the Winograd F(2x2, 3x3) convolutions (native/winograd.cc: 3x3, stride 1, undilated,
// at least 8 channels each way; the filter gradient from 3 input channels) with @tensorflow/tfjs-backend-cpu, forward and through tf.grads,
// over the padding, odd sizes, batch 1, channel counts off the 8-wide vectors and fused bias +
// activation; with the F(4x4, 3x3) tiles the forward, input gradient and filter gradient take on
// outputs of at least 7x7 on and off; and the same cases with the path switched off (the im2col paths it replaces).
import * as tf from '@tensorflow/tfjs-core';
import {backend_util} from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import {afterAll, describe, expect, it} from 'vitest';

import {addon} from '../index.js';
import {convGeometry} from './conv_util.js';
import {checkLeaks, parity, randoms, size} from './test_util.js';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

interface Case {
  name: string;
  x: Shape4;
  f: Shape4;
  pad: Pad;
}

const cases: Case[] = [
  {name: 'same, 8 channels each way', x: [4, 6, 6, 8], f: [3, 3, 8, 8], pad: 'same'},
  {name: 'same, odd sizes, channels off the vector width', x: [3, 7, 9, 13], f: [3, 3, 13, 11], pad: 'same'},
  {name: 'valid, odd sizes', x: [3, 9, 8, 16], f: [3, 3, 16, 24], pad: 'valid'},
  {name: 'batch 1', x: [1, 12, 12, 32], f: [3, 3, 32, 16], pad: 'same'},
  {name: 'explicit asymmetric pad', x: [3, 8, 7, 9], f: [3, 3, 9, 10], pad: [[0, 0], [2, 0], [0, 1], [0, 0]]},
  {name: 'explicit pad 2 (output larger than input)', x: [2, 5, 6, 8], f: [3, 3, 8, 9], pad: [[0, 0], [2, 2], [2, 1], [0, 0]]},
  {name: 'smallest output (2x2)', x: [32, 2, 2, 8], f: [3, 3, 8, 8], pad: 'same'},
  {name: '3 input channels (filter gradient only; the forward keeps im2col)', x: [3, 9, 8, 3], f: [3, 3, 3, 10],
    pad: 'same'},
  {name: 'several images per group, a partial last group', x: [9, 4, 5, 8], f: [3, 3, 8, 8], pad: 'same'},
  {name: 'deep-teacher conv5 shape', x: [2, 7, 7, 64], f: [3, 3, 64, 128], pad: 'same'},
  {name: 'a 28x28 plane (deep-teacher conv2, fewer channels)', x: [1, 28, 28, 16], f: [3, 3, 16, 16], pad: 'same'},
  // F(4x4) tiles (outputs of at least 7x7) cut at the edge, and F(2x2) input gradient / F(4x4) forward mixes.
  {name: '4x4 tiles: same, odd sizes, partial tiles, channels off the vector width', x: [2, 11, 13, 13],
    f: [3, 3, 13, 11], pad: 'same'},
  {name: '4x4 tiles: valid, odd sizes (input gradient on 4x4 tiles, forward on 2x2)', x: [3, 10, 9, 16],
    f: [3, 3, 16, 24], pad: 'valid'},
  {name: '4x4 tiles: valid, both on 4x4 tiles', x: [2, 14, 11, 8], f: [3, 3, 8, 16], pad: 'valid'},
  {name: '4x4 tiles: explicit asymmetric pad', x: [2, 9, 10, 9], f: [3, 3, 9, 10], pad: [[0, 0], [2, 0], [0, 1], [0, 0]]},
  {name: '4x4 tiles: explicit pad 2', x: [2, 8, 9, 8], f: [3, 3, 8, 9], pad: [[0, 0], [2, 2], [2, 1], [0, 0]]},
  {name: '4x4 tiles: batch 1, exactly 8x8', x: [1, 8, 8, 64], f: [3, 3, 64, 40], pad: 'same'},
  {name: '4x4 tiles: 64 channels in (forward on 4x4), 128 out (input gradient on 2x2)', x: [2, 8, 8, 64],
    f: [3, 3, 64, 128], pad: 'same'},
  {name: '4x4 tiles: 64 channels each way on 16x16', x: [2, 16, 16, 64], f: [3, 3, 64, 64], pad: 'same'},
  {name: '128 channels each way on 8x8 (2x2 tiles)', x: [2, 8, 8, 128], f: [3, 3, 128, 128], pad: 'same'},
  {name: '4x4 tiles: cifar-teacher conv2 plane', x: [1, 32, 32, 32], f: [3, 3, 32, 32], pad: 'same'},
  {name: '4x4 tiles: a filter gradient over several groups (4 images of 32x32)', x: [4, 32, 32, 32],
    f: [3, 3, 32, 32], pad: 'same'},
];

checkLeaks();

describe('Winograd 3x3 stride-1 convolutions', () => {
  const initial = addon!.convWinograd(), initial4 = addon!.convWinograd4();
  afterAll(() => {
    addon!.convWinograd(initial);
    addon!.convWinograd4(initial4);
  });

  it('is on by default and switchable', () => {
    expect(initial).toBe(true);
    expect(addon!.convWinograd(false)).toBe(false);
    expect(addon!.convWinograd(true)).toBe(true);
    expect(() => addon!.convWinograd(1 as unknown as boolean)).toThrow('convWinograd: on must be a boolean');
  });

  it('takes 4x4 tiles by default, switchable', () => {
    expect(initial4).toBe(true);
    expect(addon!.convWinograd4(false)).toBe(false);
    expect(addon!.convWinograd4(true)).toBe(true);
    expect(() => addon!.convWinograd4(1 as unknown as boolean)).toThrow('convWinograd4: on must be a boolean');
  });

  it('4x4 tiles run their own arithmetic (results differ from the 2x2 tiles in the last bits), 6x6 outputs keep 2x2', () => {
    const run = (h: number, four: boolean) => {
      const g = [4, h, h, 16, h, h, 16, 3, 3, 1, 1, 1, 1, 1, 1];
      const x = randoms(4 * h * h * 16, 1), f = randoms(9 * 16 * 16, 2);
      addon!.convWinograd4(four);
      const y = new Float32Array(x.length);
      addon!.conv2d(x, f, null, y, g);
      return y;
    };
    const differ = (a: Float32Array, b: Float32Array) => a.filter((v, i) => v !== b[i]).length;
    const a = run(12, true), b = run(12, false), c = run(6, true), d = run(6, false), e = run(7, true), f = run(7, false);
    addon!.convWinograd4(true);
    expect(differ(a, b)).toBeGreaterThan(a.length / 10);
    expect(differ(e, f)).toBeGreaterThan(e.length / 10);
    expect(differ(c, d)).toBe(0);
  });

  it('runs its own arithmetic (results differ from the im2col path in the last bits)', () => {
    const c = cases[10], g = [1, 28, 28, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1];
    const x = randoms(size(c.x), 1), f = randoms(size(c.f), 2);
    const run = (on: boolean) => {
      addon!.convWinograd(on);
      const y = new Float32Array(size(c.x));
      addon!.conv2d(x, f, null, y, g);
      return y;
    };
    const a = run(true), b = run(false);
    addon!.convWinograd(true);
    let differ = 0;
    for (let i = 0; i < a.length; ++i) if (a[i] !== b[i]) ++differ;
    expect(differ).toBeGreaterThan(a.length / 10);
  });

  it('leaves calls of fewer than 32 output tiles to the im2col path (identical results on and off)', () => {
    const g = [1, 8, 8, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1];  // 16 tiles
    const x = randoms(8 * 8 * 16, 1), f = randoms(9 * 16 * 16, 2);
    const run = (on: boolean) => {
      addon!.convWinograd(on);
      const y = new Float32Array(8 * 8 * 16);
      addon!.conv2d(x, f, null, y, g);
      return y;
    };
    const a = run(true), b = run(false);
    addon!.convWinograd(true);
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it('the filter gradient with db: the same dw, and db = dy summed over batch and positions (summed in double)', () => {
    for (const [winograd, four] of [[true, true], [true, false], [false, false]]) {
      addon!.convWinograd(winograd);
      addon!.convWinograd4(four);
      for (const c of cases) {
        const info = backend_util.computeConv2DInfo(c.x, c.f, 1, 1, c.pad as Parameters<typeof backend_util.computeConv2DInfo>[4]);
        const g = convGeometry(info), N = c.f[3];
        const x = randoms(size(c.x), 1), dy = randoms(c.x[0] * info.outHeight * info.outWidth * N, 3);
        const dw = new Float32Array(size(c.f)), dw2 = new Float32Array(size(c.f)), db = new Float32Array(N).fill(NaN);
        addon!.conv2dBackpropFilter(x, dy, dw, g);
        addon!.conv2dBackpropFilter(x, dy, dw2, g, db);
        const what = `${c.name}, winograd ${winograd}, 4x4 ${four}`;
        expect(Array.from(dw2), what).toEqual(Array.from(dw));
        const want = new Float64Array(N), abs = new Float64Array(N);
        for (let i = 0; i < dy.length; ++i) {
          want[i % N] += dy[i];
          abs[i % N] += Math.abs(dy[i]);
        }
        for (let n = 0; n < N; ++n) {
          expect(Math.abs(db[n] - want[n]), `${what} db[${n}]`).toBeLessThanOrEqual(1e-7 * Math.abs(want[n]) + 1e-12 * abs[n]);
        }
      }
    }
    addon!.convWinograd(true);
    addon!.convWinograd4(true);
    const g = [1, 4, 4, 8, 4, 4, 8, 3, 3, 1, 1, 1, 1, 1, 1];
    expect(() => addon!.conv2dBackpropFilter(new Float32Array(128), new Float32Array(128), new Float32Array(576), g,
      new Float32Array(7))).toThrow('db has 7 elements, expected 8');
  });

  describe.each([[true, true], [true, false], [false, false]])('winograd %s, 4x4 tiles %s', (winograd, four) => {
    describe.each(cases)('$name: x $x, filter $f', (c) => {
      const xv = randoms(size(c.x), 1), fv = randoms(size(c.f), 2);
      const conv = (x: tf.Tensor4D, f: tf.Tensor4D) => tf.conv2d(x, f, 1, c.pad);

      it('forward and gradients wrt x and filter match cpu', async () => {
        addon!.convWinograd(winograd);
        addon!.convWinograd4(four);
        await parity(['y', 'dx', 'dfilter'], () => {
          const x = tf.tensor4d(xv, c.x), f = tf.tensor4d(fv, c.f);
          const y = conv(x, f);
          const dy = tf.tensor(randoms(y.size, 3), y.shape);
          const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a as tf.Tensor4D, b as tf.Tensor4D))([x, f], dy);
          return [y, dx, df];
        });
      });
    });

    it.each(['linear', 'relu', 'relu6', 'leakyrelu'] as const)(
      'fused conv2d with bias and %s: forward and gradients match cpu', async (activation) => {
        addon!.convWinograd(winograd);
        addon!.convWinograd4(four);
        const shape = {x: [3, 9, 10, 12] as Shape4, f: [3, 3, 12, 20] as Shape4};
        const xv = randoms(size(shape.x), 5), fv = randoms(size(shape.f), 6), bv = randoms(20, 7);
        await parity(['y', 'dx', 'dfilter', 'dbias'], () => {
          const fused = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.fused.conv2d({
            x: tf.mul(a, 4) as tf.Tensor4D, filter: b as tf.Tensor4D, strides: 1, pad: 'same', bias: c, activation,
            leakyreluAlpha: 0.3,
          });
          const x = tf.tensor4d(xv, shape.x), f = tf.tensor4d(fv, shape.f), bias = tf.tensor1d(bv);
          const y = fused(x, f, bias);
          const dy = tf.tensor(randoms(y.size, 8), y.shape);
          const [dx, df, db] = tf.grads(fused)([x, f, bias], dy);
          return [y, dx, df, db];
        });
      });
  });
});
