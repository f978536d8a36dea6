// Parity of addon.smallConv2d (the inference conv for small filters, outC divisible by 16) with the
// cpu backend's conv2d + bias add + activation: pointwise and 3×3 filters, strides, padding,
// dilation, batch 1, pixel counts that leave a partial tile; plus argument validation.
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
