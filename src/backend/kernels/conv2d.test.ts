// Parity of the native Conv2D family with @tensorflow/tfjs-backend-cpu: forward, gradients wrt
// x and filter (and bias for the fused op), across strides, padding, dilation, odd sizes, batch
// and channel counts; plus argument validation of the addon functions.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import {describe, expect, it} from 'vitest';

import {addon, nativeAvailable} from '../index.js';
import {conv2DConfig} from './Conv2D.js';
import {conv2DBackpropFilterConfig} from './Conv2DBackpropFilter.js';
import {conv2DBackpropInputConfig} from './Conv2DBackpropInput.js';
import {fusedConv2DConfig} from './FusedConv2D.js';
import {checkLeaks, randoms, size} from './test_util.js';

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface Case {
  name: string;
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  /** tfjs has no gradient for dilated convs, nor passes dimRoundingMode to the gradient ops. */
  forwardOnly?: boolean;
}

const cases: Case[] = [
  {name: '3x3 s1 same, 1 channel', x: [1, 5, 5, 1], f: [3, 3, 1, 2], strides: 1, pad: 'same'},
  {name: '3x3 s2 same, odd sizes', x: [2, 7, 6, 3], f: [3, 3, 3, 4], strides: 2, pad: 'same'},
  {name: '3x2 s[2,1] valid', x: [2, 7, 7, 3], f: [3, 2, 3, 5], strides: [2, 1], pad: 'valid'},
  {name: '2x3 explicit asymmetric pad', x: [3, 6, 5, 2], f: [2, 3, 2, 3], strides: 1,
    pad: [[0, 0], [1, 2], [0, 1], [0, 0]]},
  {name: '3x3 s2 explicit pad', x: [2, 9, 8, 2], f: [3, 3, 2, 3], strides: 2, pad: [[0, 0], [2, 0], [1, 1], [0, 0]]},
  {name: '4x4 s2 valid, filter larger than stride', x: [2, 10, 9, 2], f: [4, 4, 2, 3], strides: 2, pad: 'valid'},
  {name: 'numeric pad 1, s2', x: [2, 7, 7, 2], f: [3, 3, 2, 3], strides: 2, pad: 1},
  {name: 'numeric pad, ceil rounding', x: [1, 6, 6, 2], f: [3, 3, 2, 3], strides: 2, pad: 1, dimRoundingMode: 'ceil',
    forwardOnly: true},
  {name: 'numeric pad, floor rounding', x: [1, 6, 6, 2], f: [3, 3, 2, 3], strides: 2, pad: 1,
    dimRoundingMode: 'floor', forwardOnly: true},
  {name: 'dilation 2, same', x: [2, 8, 8, 3], f: [3, 3, 3, 2], strides: 1, pad: 'same', dilations: 2,
    forwardOnly: true},
  {name: 'dilation [2,1], valid', x: [1, 9, 7, 2], f: [2, 3, 2, 4], strides: 1, pad: 'valid', dilations: [2, 1],
    forwardOnly: true},
  {name: '1x1 s1 (pointwise path)', x: [2, 4, 5, 6], f: [1, 1, 6, 3], strides: 1, pad: 'valid'},
  {name: '1x1 s2 same', x: [2, 5, 5, 3], f: [1, 1, 3, 4], strides: 2, pad: 'same'},
  {name: '1x1 s1 wide (pointwise GEMM gradient path)', x: [2, 3, 3, 128], f: [1, 1, 128, 160], strides: 1,
    pad: 'valid'},
  {name: 'first layer shape: 1 channel in, s2 same', x: [4, 28, 28, 1], f: [3, 3, 1, 8], strides: 2, pad: 'same'},
  {name: 'wide channels (GEMM filter-gradient path)', x: [2, 6, 6, 32], f: [3, 3, 32, 64], strides: 2, pad: 'same'},
  {name: 'large col matrix split in image chunks', x: [2, 31, 31, 256], f: [3, 3, 256, 8], strides: 1, pad: 'same'},
  {name: 'filter as large as input, valid', x: [3, 4, 4, 2], f: [4, 4, 2, 3], strides: 1, pad: 'valid'},
  // One input channel runs the direct (non-GEMM) kernels: output counts around the 8- and 32-wide
  // vector blocks, other filters, strides, pads and dilation, and a filter too big for them.
  {name: '1 channel in, 40 filters (32 + 8 wide blocks)', x: [3, 11, 10, 1], f: [3, 3, 1, 40], strides: 2, pad: 'same'},
  {name: '1 channel in, enough work for per-thread filter-gradient partials', x: [8, 28, 28, 1], f: [3, 3, 1, 64],
    strides: 2, pad: 'same'},
  {name: '1 channel in, 5x5 s1 valid, 13 filters', x: [2, 9, 8, 1], f: [5, 5, 1, 13], strides: 1, pad: 'valid'},
  {name: '1 channel in, 2x4 explicit pad, 37 filters', x: [2, 7, 9, 1], f: [2, 4, 1, 37], strides: [1, 2],
    pad: [[0, 0], [1, 0], [2, 1], [0, 0]]},
  {name: '1 channel in, dilation 2', x: [2, 9, 9, 1], f: [3, 3, 1, 20], strides: 1, pad: 'same', dilations: 2,
    forwardOnly: true},
  // Batches of at least 2 images per thread with 4+ channels run conv_images.cc (one image's im2col
  // and GEMM per thread; the filter gradient sums per-block partials). 3x3 stride-1 convs of 8+
  // channels take the Winograd path instead (conv2d_winograd.test.ts runs them both ways).
  {name: 'per-image path: 3x3 s1 same, odd batch', x: [5, 8, 8, 8], f: [3, 3, 8, 16], strides: 1, pad: 'same'},
  {name: 'per-image path: s2 same, odd sizes', x: [4, 9, 7, 6], f: [3, 3, 6, 10], strides: 2, pad: 'same'},
  {name: 'per-image path: explicit asymmetric pad', x: [6, 7, 7, 5], f: [2, 3, 5, 9], strides: 1,
    pad: [[0, 0], [1, 2], [0, 1], [0, 0]]},
  {name: 'per-image path: dilation 2', x: [4, 10, 10, 4], f: [3, 3, 4, 8], strides: 1, pad: 'same', dilations: 2,
    forwardOnly: true},
  {name: 'per-image path: deep-teacher conv2 shape', x: [8, 14, 14, 32], f: [3, 3, 32, 64], strides: 1, pad: 'same'},
  {name: '1 channel in, 7x5 filter (more taps than the direct kernels take)', x: [1, 9, 9, 1], f: [7, 5, 1, 3],
    strides: 1, pad: 'same'},
  // First layers with outC divisible by 16 (small_conv): by images from a zero-bordered copy, by rows at batch 1.
  {name: 'small_conv: 3 channels in, 3x3 s1 same, partial tiles', x: [5, 10, 9, 3], f: [3, 3, 3, 16], strides: 1, pad: 'same'},
  {name: 'small_conv: 3 channels in, s2 same, 32 filters', x: [4, 11, 11, 3], f: [3, 3, 3, 32], strides: 2, pad: 'same'},
  {name: 'small_conv: 1 channel in, s2 same', x: [4, 28, 28, 1], f: [3, 3, 1, 16], strides: 2, pad: 'same'},
  {name: 'small_conv: 4 channels in (filter gradient in two passes), valid', x: [4, 7, 6, 4], f: [3, 3, 4, 16],
    strides: 1, pad: 'valid'},
  {name: 'small_conv: 2 channels in, 5x5, explicit asymmetric pad', x: [3, 9, 8, 2], f: [5, 5, 2, 16], strides: [1, 2],
    pad: [[0, 0], [2, 1], [0, 3], [0, 0]]},
  {name: 'small_conv: pointwise 16 -> 32 (forward, filter and input gradients)', x: [4, 5, 7, 16], f: [1, 1, 16, 32],
    strides: 1, pad: 'valid'},
  {name: 'small_conv: pointwise 32 -> 48, odd pixel count', x: [3, 3, 5, 32], f: [1, 1, 32, 48], strides: 1, pad: 'same'},
  {name: 'small_conv: pointwise 64 -> 16 (input gradient only)', x: [2, 4, 4, 64], f: [1, 1, 64, 16], strides: 1,
    pad: 'valid'},
  {name: 'small_conv: batch 1', x: [1, 9, 10, 3], f: [3, 3, 3, 16], strides: 1, pad: 'same'},
  {name: 'small_conv: dilation 2', x: [4, 9, 9, 3], f: [3, 3, 3, 16], strides: 1, pad: 'same', dilations: 2,
    forwardOnly: true},
  {name: 'small_conv: ceil rounding past the input', x: [4, 6, 6, 3], f: [3, 3, 3, 16], strides: 2, pad: 1,
    dimRoundingMode: 'ceil', forwardOnly: true},
];

function expectClose(name: string, got: Float32Array, want: Float32Array) {
  expect(got.length, `${name}: length`).toBe(want.length);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < got.length; ++i) {
    const excess = Math.abs(got[i] - want[i]) - 1e-4 * (1 + Math.abs(want[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(`${name}: element ${worst} is ${got[worst]}, cpu gives ${want[worst]}`);
  }
}

/** Runs fn on `backend`, returns the values of the tensors it returns, leaves no tensor behind. */
async function on(backend: 'cpu' | 'native', fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const ts = tf.tidy(fn);
  const values = ts.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(ts);
  return values;
}

async function parity(names: string[], fn: () => tf.Tensor[]) {
  const want = await on('cpu', fn);
  const got = await on('native', fn);
  names.forEach((n, i) => expectClose(n, got[i], want[i]));
}

checkLeaks();

describe('native Conv2D family', () => {
  it('is built and registered for the native backend', () => {
    expect(nativeAvailable()).toBe(true);
    for (const c of [conv2DConfig, conv2DBackpropInputConfig, conv2DBackpropFilterConfig, fusedConv2DConfig]) {
      expect(tf.getKernel(c.kernelName, 'native')?.kernelFunc, c.kernelName).toBe(c.kernelFunc);
    }
  });

  describe.each(cases)('$name: x $x, filter $f', (c) => {
    const xv = randoms(size(c.x), 1), fv = randoms(size(c.f), 2);
    const conv = (x: tf.Tensor4D, f: tf.Tensor4D) =>
      tf.conv2d(x, f, c.strides, c.pad, 'NHWC', c.dilations ?? 1, c.dimRoundingMode);

    it('forward matches cpu', async () => {
      await parity(['y'], () => [conv(tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.f))]);
    });

    it.skipIf(c.forwardOnly)('gradients wrt x and filter match cpu', async () => {
      await parity(['y', 'dx', 'dfilter'], () => {
        const x = tf.tensor4d(xv, c.x), f = tf.tensor4d(fv, c.f);
        const y = conv(x, f);
        const dy = tf.tensor(randoms(y.size, 3), y.shape);
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a as tf.Tensor4D, b as tf.Tensor4D))([x, f], dy);
        return [y, dx, df];
      });
    });

    it.skipIf(c.forwardOnly)('conv2dTranspose (Conv2DBackpropInput called directly) matches cpu', async () => {
      await parity(['dx'], () => {
        const f = tf.tensor4d(fv, c.f);
        const outShape = tf.tidy(() => conv(tf.zeros(c.x), f).shape) as [number, number, number, number];
        const dy = tf.tensor4d(randoms(size(outShape), 4), outShape);
        return [tf.conv2dTranspose(dy, f, c.x, c.strides, c.pad as Parameters<typeof tf.conv2dTranspose>[4])];
      });
    });
  });

  // With BLAS linked, small filter gradients go through sgemm; hafif's own GEMM uses a per-thread path.
  describe.each(['own', 'blas'] as const)('filter gradient with the %s GEMM', (impl) => {
    const small = cases.filter((c) => ['first layer shape: 1 channel in, s2 same', '3x3 s2 same, odd sizes',
      '1x1 s1 (pointwise path)', '2x3 explicit asymmetric pad'].includes(c.name));
    it.skipIf(impl === 'blas' && !addon?.hasBlas).each(small)('$name', async (c) => {
      const before = addon!.gemmImpl();
      addon!.gemmImpl(impl);
      try {
        const xv = randoms(size(c.x), 11), fv = randoms(size(c.f), 12);
        await parity(['dfilter'], () => {
          const x = tf.tensor4d(xv, c.x), f = tf.tensor4d(fv, c.f);
          const conv = (b: tf.Tensor) => tf.conv2d(x, b as tf.Tensor4D, c.strides, c.pad);
          const dy = tf.tensor(randoms(conv(f).size, 13), conv(f).shape);
          return tf.grads(conv)([f], dy);
        });
      } finally {
        addon!.gemmImpl(before);
      }
    });
  });

  describe('fused conv2d (bias + activation)', () => {
    const shape = {x: [2, 7, 6, 3] as [number, number, number, number], f: [3, 3, 3, 4] as [number, number, number, number]};
    const xv = randoms(size(shape.x), 5), fv = randoms(size(shape.f), 6), bv = randoms(4, 7);
    const activations = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const;

    it.each(activations)('%s: forward and gradients wrt x, filter, bias match cpu', async (activation) => {
      await parity(['y', 'dx', 'dfilter', 'dbias'], () => {
        const x = tf.tensor4d(xv, shape.x), f = tf.tensor4d(fv, shape.f), bias = tf.tensor1d(bv);
        // Scaled so relu6's upper clip and the negative branches are all exercised.
        const fused = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.fused.conv2d({
          x: tf.mul(a, 4) as tf.Tensor4D, filter: b as tf.Tensor4D, strides: 2, pad: 'same', bias: c, activation,
          leakyreluAlpha: 0.3,
        });
        const y = fused(x, f, bias);
        const dy = tf.tensor(randoms(y.size, 8), y.shape);
        const [dx, df, db] = tf.grads(fused)([x, f, bias], dy);
        return [y, dx, df, db];
      });
    });

    it.each(activations)('%s with one input channel (direct kernel): forward and gradients match cpu', async (activation) => {
      const x1 = randoms(2 * 7 * 6, 14), f1 = randoms(9 * 35, 15), b1 = randoms(35, 16);
      await parity(['y', 'dx', 'dfilter', 'dbias'], () => {
        const fused = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.fused.conv2d({
          x: tf.mul(a, 4) as tf.Tensor4D, filter: b as tf.Tensor4D, strides: 2, pad: 'same', bias: c, activation,
          leakyreluAlpha: 0.3,
        });
        const x = tf.tensor4d(x1, [2, 7, 6, 1]), f = tf.tensor4d(f1, [3, 3, 1, 35]), bias = tf.tensor1d(b1);
        const y = fused(x, f, bias);
        const dy = tf.tensor(randoms(y.size, 17), y.shape);
        const [dx, df, db] = tf.grads(fused)([x, f, bias], dy);
        return [y, dx, df, db];
      });
    });

    it('without bias, with a one-element bias, and prelu (cpu fallback) match cpu', async () => {
      await parity(['no bias', 'bias [1]', 'prelu'], () => {
        const x = tf.tensor4d(xv, shape.x), f = tf.tensor4d(fv, shape.f);
        return [
          tf.fused.conv2d({x, filter: f, strides: 1, pad: 'valid', activation: 'relu'}),
          tf.fused.conv2d({x, filter: f, strides: 1, pad: 'same', bias: tf.tensor1d([0.25]), activation: 'elu'}),
          tf.fused.conv2d({x, filter: f, strides: 1, pad: 'same', bias: tf.tensor1d(bv), activation: 'prelu',
            preluActivationWeights: tf.tensor1d([0.1, 0.2, 0.3, 0.4])}),
        ];
      });
    });
  });

  // tf.conv2dTranspose takes a dy larger than its outputShape implies; tfjs-core's own suite
  // has dy [1,8,8,8] for outputShape [1,4,4,8] (f 8x8, s1, same), which the addon once rejected.
  it.each([
    {name: "tfjs-core's case: dy 8x8, outputShape 4x4, f8 s1 same", dy: [1, 8, 8, 8], f: [8, 8, 8, 8], out: [1, 4, 4, 8],
      strides: 1},
    {name: 'dy 5x6, outputShape 6x6 (implies 3x3), f3 s2 same, batch 2', dy: [2, 5, 6, 2], f: [3, 3, 4, 2],
      out: [2, 6, 6, 4], strides: 2},
  ])('conv2dTranspose with a dy larger than outputShape implies matches cpu: $name', async (c) => {
    const dyv = randoms(size(c.dy), 21), fv = randoms(size(c.f), 22);
    await parity(['dx'], () => [tf.conv2dTranspose(tf.tensor4d(dyv, c.dy as [number, number, number, number]),
      tf.tensor4d(fv, c.f as [number, number, number, number]), c.out as [number, number, number, number], c.strides,
      'same')]);
  });

  it('NCHW falls back to the cpu kernel and matches it', async () => {
    const xv = randoms(2 * 3 * 5 * 5, 9), fv = randoms(3 * 3 * 3 * 2, 10);
    await parity(['y'], () => [tf.conv2d(tf.tensor4d(xv, [2, 3, 5, 5]), tf.tensor4d(fv, [3, 3, 3, 2]), 1, 'same',
      'NCHW')]);
  });

  describe('addon argument validation', () => {
    // x [1,5,5,1], filter [3,3,1,2], 'same': out [1,5,5,2]
    const geom = [1, 5, 5, 1, 5, 5, 2, 3, 3, 1, 1, 1, 1, 1, 1];
    const f32 = (n: number) => new Float32Array(n);

    it('conv2d names the kernel and the expected shape on a length mismatch', () => {
      expect(() => addon!.conv2d(f32(24), f32(18), null, f32(50), geom))
        .toThrow('Conv2D: x has 24 elements, expected 25 for shape [1,5,5,1]');
      expect(() => addon!.conv2d(f32(25), f32(17), null, f32(50), geom))
        .toThrow('Conv2D: filter has 17 elements, expected 18 for shape [3,3,1,2]');
      expect(() => addon!.conv2d(f32(25), f32(18), f32(3), f32(50), geom))
        .toThrow('Conv2D: bias has 3 elements, expected 2 for shape [2]');
      expect(() => addon!.conv2d(f32(25), f32(18), null, f32(49), geom))
        .toThrow('Conv2D: out has 49 elements, expected 50 for shape [1,5,5,2]');
      expect(() => addon!.conv2d(f32(25), f32(18), null, f32(50), geom, 'swish' as 'relu'))
        .toThrow('Conv2D: activation must be one of');
      expect(() => addon!.conv2d(f32(25), f32(18), null, f32(50), geom.slice(1)))
        .toThrow('Conv2D: geom must have 15 entries');
      expect(() => addon!.conv2d(f32(25), f32(18), null, f32(50), [...geom.slice(0, 9), 0, ...geom.slice(10)]))
        .toThrow('Conv2D: bad geom');
      expect(() => addon!.conv2d(new Int32Array(25) as unknown as Float32Array, f32(18), null, f32(50), geom))
        .toThrow('Conv2D: x must be a Float32Array');
    });

    it('the gradient kernels name themselves and the shapes', () => {
      expect(() => addon!.conv2dBackpropInput(f32(50), f32(18), f32(26), geom))
        .toThrow('Conv2DBackpropInput: dx has 26 elements, expected 25 for shape [1,5,5,1]');
      expect(() => addon!.conv2dBackpropInput(f32(5), f32(18), f32(25), geom))
        .toThrow('Conv2DBackpropInput: dy has 5 elements, expected 50 for shape [1,5,5,2]');
      expect(() => addon!.conv2dBackpropFilter(f32(25), f32(50), f32(9), geom))
        .toThrow('Conv2DBackpropFilter: dw has 9 elements, expected 18 for shape [3,3,1,2]');
      expect(() => addon!.conv2dBackpropFilter(f32(25), f32(51), f32(18), geom))
        .toThrow('Conv2DBackpropFilter: dy has 51 elements, expected 50 for shape [1,5,5,2]');
    });
  });
});
