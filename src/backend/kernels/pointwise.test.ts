// Parity of addon.pointwiseBackward (both gradients of a pointwise 1×1 conv from one pass over dy)
// with the cpu backend's conv2d gradients: channel counts from 16 to 128, pixel counts that leave
// partial tiles and a partial last block, batch 1, with and without dx; plus argument validation.
import * as tf from '@tensorflow/tfjs-core';
import {describe, expect, it} from 'vitest';

import {addon} from '../index.js';
import {convGeometry} from './conv_util.js';
import {checkLeaks, expectClose, on, randoms, size} from './test_util.js';

checkLeaks();

const cases: {x: [number, number, number, number]; outC: number; dx: boolean}[] = [
  {x: [4, 14, 14, 16], outC: 32, dx: true},  // mobile-student pw1: 784 pixels, 6 full blocks and a partial one
  {x: [2, 7, 7, 32], outC: 64, dx: true},
  {x: [1, 3, 5, 64], outC: 64, dx: true},  // 15 pixels: one tile and a tail, one block
  {x: [3, 4, 4, 64], outC: 128, dx: false},
  {x: [1, 1, 1, 48], outC: 16, dx: true},  // one pixel; 48 input channels (not a multiple of 32)
  {x: [2, 9, 1, 16], outC: 80, dx: true},  // outC a multiple of 16, not of 32
];

describe.skipIf(addon?.pointwiseBackward == null)('addon.pointwiseBackward', () => {
  it.each(cases)('x $x to $outC channels (dx $dx) matches cpu', async (c) => {
    const f: [number, number, number, number] = [1, 1, c.x[3], c.outC];
    const info = tf.backend_util.computeConv2DInfo(c.x, f, 1, 1, 'valid');
    const xv = randoms(size(c.x), 11).map((v) => v * 3), fv = randoms(size(f), 12), dyv = randoms(size(info.outShape), 13);
    const [wantDx, wantDw] = await on('cpu', () => {
      const x = tf.tensor4d(xv, c.x), w = tf.tensor4d(fv, f), dy = tf.tensor4d(dyv, info.outShape);
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid'))([x, w], dy);
    });
    const geom = convGeometry(info);
    expect(addon!.pointwiseBackwardApplies!(geom)).toBe(true);
    const dx = c.dx ? new Float32Array(size(c.x)).fill(NaN) : null, dw = new Float32Array(size(f)).fill(NaN);
    addon!.pointwiseBackward!(xv, dyv, fv, dx, dw, geom);
    expectClose('dw', dw, wantDw.values);
    if (dx) expectClose('dx', dx, wantDx.values);
  });

  it('gives the same dw on one thread as on two', () => {
    const info = tf.backend_util.computeConv2DInfo([4, 14, 14, 16], [1, 1, 16, 32], 1, 1, 'valid');
    const xv = randoms(size(info.inShape), 21), fv = randoms(16 * 32, 22), dyv = randoms(size(info.outShape), 23);
    const run = (threads: number) => {
      const before = addon!.numThreads();
      addon!.numThreads(threads);
      const dw = new Float32Array(16 * 32), dx = new Float32Array(xv.length);
      addon!.pointwiseBackward!(xv, dyv, fv, dx, dw, convGeometry(info));
      addon!.numThreads(before);
      return [dw, dx];
    };
    expect(run(1)).toEqual(run(2));
  });

  it('rejects convs it is not for and bad lengths, naming the value', () => {
    const geom = (inC: number, outC: number, k = 1) => [1, 4, 4, inC, 4, 4, outC, k, k, 1, 1, 1, 1, 0, 0];
    const f32 = (n: number) => new Float32Array(n);
    expect(addon!.pointwiseBackwardApplies!(geom(16, 24))).toBe(false);
    expect(addon!.pointwiseBackwardApplies!(geom(8, 16))).toBe(false);
    expect(addon!.pointwiseBackwardApplies!([1, 4, 4, 16, 4, 4, 16, 3, 3, 1, 1, 1, 1, 1, 1])).toBe(false);
    expect(() => addon!.pointwiseBackward!(f32(16 * 8), f32(16 * 24), f32(8 * 24), null, f32(8 * 24), geom(8, 24)))
      .toThrow('pointwiseBackward: needs a 1x1 stride-1 unpadded conv with inC and outC divisible by 16 and at most 16384 filter values, got geom [1,4,4,8,4,4,24,1,1,1,1,1,1,0,0]');
    expect(() => addon!.pointwiseBackward!(f32(255), f32(256), f32(256), null, f32(256), geom(16, 16)))
      .toThrow('pointwiseBackward: x has 255 elements, expected 256');
    expect(() => addon!.pointwiseBackward!(f32(256), f32(256), f32(256), f32(250), f32(256), geom(16, 16)))
      .toThrow('pointwiseBackward: dx has 250 elements, expected 256');
    const x = f32(256);
    expect(() => addon!.pointwiseBackward!(x, f32(256), f32(256), x, f32(256), geom(16, 16)))
      .toThrow('pointwiseBackward: dx shares memory with x, dy or filter');
  });
});
