// Parity of addon.smallConv2d (the inference conv for small filters, outC divisible by 16) with the
// cpu backend's conv2d + bias add + activation: pointwise and 3×3 filters, strides, padding,
// dilation, batch 1, pixel counts that leave a partial tile; plus argument validation. The filter
// gradient of few-input-channel convs (addon.smallConv2dBackpropFilter, with Relu's gradient and the
// bias sum) against the cpu backend's conv2d gradient.
import * as tf from '@tensorflow/tfjs-core';
import {describe, expect, it} from 'vitest';

import {addon} from '../index.js';
import {convGeometry} from './conv_util.js';
import {checkLeaks, expectClose, on, randoms, size} from './test_util.js';

checkLeaks();

type Act = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu';

interface Case {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number;
  pad: 'same' | 'valid';
  dilations?: number;
  act: Act;
  bias?: boolean;
}

const cases: Case[] = [
  {x: [2, 16, 16, 16], f: [1, 1, 16, 32], strides: 1, pad: 'valid', act: 'relu6'},
  {x: [1, 5, 3, 64], f: [1, 1, 64, 128], strides: 1, pad: 'same', act: 'relu'},  // 15 pixels: one full tile and a tail
  {x: [3, 7, 7, 8], f: [1, 1, 8, 48], strides: 2, pad: 'valid', act: 'linear', bias: false},  // strided 1×1
  {x: [2, 9, 9, 3], f: [3, 3, 3, 16], strides: 2, pad: 'same', act: 'relu6'},
  {x: [2, 8, 7, 1], f: [3, 3, 1, 16], strides: 1, pad: 'same', act: 'leakyrelu'},
  {x: [1, 10, 9, 4], f: [3, 3, 4, 32], strides: 1, pad: 'valid', act: 'elu'},
  {x: [2, 6, 6, 5], f: [2, 3, 5, 16], strides: 1, pad: 'same', act: 'sigmoid'},
  {x: [1, 9, 10, 2], f: [3, 3, 2, 16], strides: 1, pad: 'same', dilations: 2, act: 'relu'},
  {x: [2, 28, 28, 1], f: [3, 3, 1, 16], strides: 2, pad: 'same', act: 'leakyrelu'},
];

const activations: Record<Act, (t: tf.Tensor) => tf.Tensor> = {
  linear: (t) => t, relu: tf.relu, relu6: tf.relu6, elu: tf.elu, sigmoid: tf.sigmoid, leakyrelu: (t) => tf.leakyRelu(t, 0.2),
};

describe('addon.smallConv2d', () => {
  it.each(cases)('x $x filter $f stride $strides $pad dilation $dilations $act matches cpu', async (c) => {
    const xv = randoms(size(c.x), 1).map((v) => v * 3), fv = randoms(size(c.f), 2), bv = randoms(c.f[3], 3);
    const useBias = c.bias ?? true;
    const [want] = await on('cpu', () => {
      const y = tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.f), c.strides, c.pad, 'NHWC', c.dilations ?? 1);
      return [activations[c.act](useBias ? tf.add(y, tf.tensor1d(bv)) : y)];
    });
    const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.strides, c.dilations ?? 1, c.pad);
    const out = new Float32Array(size(info.outShape));
    addon!.smallConv2d(Float32Array.from(xv), fv, useBias ? bv : null, out, convGeometry(info), c.act, 0.2);
    expect(info.outShape).toEqual(want.shape);
    expectClose('y', out, want.values);
  });

  it('rejects filters it is not for, and bad lengths, naming the value', () => {
    const geom = (outC: number) => [1, 4, 4, 8, 4, 4, outC, 1, 1, 1, 1, 1, 1, 0, 0];
    const f32 = (n: number) => new Float32Array(n);
    expect(() => addon!.smallConv2d(f32(128), f32(8 * 24), null, f32(16 * 24), geom(24)))
      .toThrow('smallConv2d: needs outC divisible by 16 and at most 32768 filter values, got geom [1,4,4,8,4,4,24,1,1,1,1,1,1,0,0]');
    expect(() => addon!.smallConv2d(f32(127), f32(8 * 16), null, f32(16 * 16), geom(16)))
      .toThrow('smallConv2d: x has 127 elements, expected 128');
    expect(() => addon!.smallConv2d(f32(128), f32(8 * 16), f32(15), f32(16 * 16), geom(16)))
      .toThrow('smallConv2d: bias has 15 elements, expected 16');
  });
});

interface FilterCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number;
  pad: 'same' | 'valid';
  relu: boolean;
  bias: boolean;
}

const filterCases: FilterCase[] = [
  {x: [4, 12, 11, 3], f: [3, 3, 3, 16], strides: 1, pad: 'same', relu: true, bias: true},  // cifar-student conv1
  {x: [3, 11, 12, 3], f: [3, 3, 3, 16], strides: 2, pad: 'same', relu: false, bias: false},  // mobile-student conv1
  {x: [2, 9, 9, 3], f: [3, 3, 3, 32], strides: 1, pad: 'same', relu: false, bias: true},  // two channel blocks
  {x: [5, 14, 14, 1], f: [3, 3, 1, 16], strides: 2, pad: 'same', relu: true, bias: false},
  {x: [2, 8, 7, 4], f: [3, 3, 4, 16], strides: 1, pad: 'valid', relu: true, bias: true},  // 36 taps: two passes
  {x: [1, 9, 9, 2], f: [5, 5, 2, 16], strides: 1, pad: 'same', relu: true, bias: true},  // 50 taps, batch 1
  {x: [3, 5, 6, 32], f: [1, 1, 32, 16], strides: 1, pad: 'valid', relu: true, bias: true},  // pointwise, x in place
];

describe('addon.smallConv2dBackpropFilter', () => {
  it.each(filterCases)('x $x filter $f stride $strides $pad relu $relu bias $bias matches cpu', async (c) => {
    const xv = randoms(size(c.x), 4), fv = randoms(size(c.f), 5);
    const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.strides, 1, c.pad);
    const yv = randoms(size(info.outShape), 7), dyv = randoms(size(info.outShape), 8);
    // A NaN output at an interior pixel (channel 5): Relu's gradient is NaN there, and so are the
    // sums it enters. (At a border pixel the sums over the zero border would turn NaN too, where
    // cpu skips those taps, as conv.cc's im2col paths do.)
    const [, oH, oW, N] = info.outShape;
    if (c.relu) yv[(Math.floor(oH / 2) * oW + Math.floor(oW / 2)) * N + 5] = NaN;
    const [wantW, wantB] = await on('cpu', () => {
      const x = tf.tensor4d(xv, c.x), dy = tf.tensor4d(dyv, info.outShape);
      const d = c.relu ? tf.mul(dy, tf.step(tf.tensor4d(yv, info.outShape))) : dy;
      const conv = (f: tf.Tensor) => tf.conv2d(x, f as tf.Tensor4D, c.strides, c.pad);
      const [dw] = tf.grads(conv)([tf.tensor4d(fv, c.f)], d);
      return [dw, tf.sum(d, [0, 1, 2])];
    });
    const geom = convGeometry(info);
    expect(addon!.smallConvFilterApplies(geom)).toBe(true);
    const dw = new Float32Array(size(c.f)).fill(7), db = new Float32Array(c.f[3]).fill(7);
    addon!.smallConv2dBackpropFilter(Float32Array.from(xv), c.relu ? yv : null, dyv, dw, c.bias ? db : null, geom);
    expectClose('dw', dw, wantW.values);
    if (c.bias) expectClose('db', db, wantB.values);
    if (c.relu) expect([Number.isNaN(dw[5]), Number.isNaN(db[5])]).toEqual([true, c.bias]);
  });

  it('applies only to few input channels (or pointwise) and outC divisible by 16, and rejects bad lengths', () => {
    const geom = (inC: number, outC: number) => [2, 6, 6, inC, 6, 6, outC, 3, 3, 1, 1, 1, 1, 1, 1];
    const pointwise = (inC: number) => [2, 6, 6, inC, 6, 6, 16, 1, 1, 1, 1, 1, 1, 0, 0];
    expect(addon!.smallConvFilterApplies(geom(3, 16))).toBe(true);
    expect(addon!.smallConvFilterApplies(geom(3, 24))).toBe(false);
    expect(addon!.smallConvFilterApplies(geom(8, 16))).toBe(false);
    expect(addon!.smallConvFilterApplies(pointwise(32))).toBe(true);
    expect(addon!.smallConvFilterApplies(pointwise(48))).toBe(false);
    const f32 = (n: number) => new Float32Array(n);
    expect(() => addon!.smallConv2dBackpropFilter(f32(2 * 36 * 8), null, f32(2 * 36 * 16), f32(9 * 8 * 16), null, geom(8, 16)))
      .toThrow('smallConv2dBackpropFilter: needs outC divisible by 16 and at most 4 input channels and 64 filter values per output channel (or a pointwise conv of at most 32), got geom [2,6,6,8,6,6,16,3,3,1,1,1,1,1,1]');
    expect(() => addon!.smallConv2dBackpropFilter(f32(2 * 36 * 3), f32(5), f32(2 * 36 * 16), f32(27 * 16), null, geom(3, 16)))
      .toThrow('smallConv2dBackpropFilter: y has 5 elements, expected 1152');
    expect(() => addon!.smallConv2dBackpropFilter(f32(2 * 36 * 3), null, f32(2 * 36 * 16), f32(27 * 16), f32(15), geom(3, 16)))
      .toThrow('smallConv2dBackpropFilter: db has 15 elements, expected 16');
  });
});
