// Parity of the native depthwise conv kernels with @tensorflow/tfjs-backend-cpu: forward and
// gradients wrt x and filter across channel multipliers, strides, dilation, padding modes, odd
// sizes and batch 1; plus argument validation of the addon functions.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import {describe, expect, it} from 'vitest';

import {addon, nativeAvailable} from '../index.js';
import {depthwiseConv2dNativeConfig} from './DepthwiseConv2dNative.js';
import {depthwiseConv2dNativeBackpropFilterConfig} from './DepthwiseConv2dNativeBackpropFilter.js';
import {depthwiseConv2dNativeBackpropInputConfig} from './DepthwiseConv2dNativeBackpropInput.js';
import {checkLeaks, expectClose, on, parity, randoms, size} from './test_util.js';

checkLeaks();

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface Case {
  name: string;
  x: [number, number, number, number];
  f: [number, number, number, number];  // [filterH, filterW, inC, channelMultiplier]
  strides: number | [number, number];
  pad: Pad;
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  /** tfjs has no gradient for dilated depthwise convs, nor passes dimRoundingMode to the gradient ops. */
  forwardOnly?: boolean;
}

const cases: Case[] = [
  {name: 'batch 1, 1 channel, 3x3 s1 same', x: [1, 5, 5, 1], f: [3, 3, 1, 1], strides: 1, pad: 'same'},
  {name: '3x3 s2 same, odd sizes', x: [2, 7, 6, 3], f: [3, 3, 3, 1], strides: 2, pad: 'same'},
  {name: 'channel multiplier 2, s1 valid', x: [2, 6, 7, 3], f: [3, 3, 3, 2], strides: 1, pad: 'valid'},
  {name: 'channel multiplier 3, s2 same', x: [3, 9, 8, 2], f: [3, 3, 2, 3], strides: 2, pad: 'same'},
  {name: '3x2 s[2,1] valid', x: [2, 7, 7, 4], f: [3, 2, 4, 1], strides: [2, 1], pad: 'valid'},
  {name: 'explicit asymmetric pad', x: [2, 6, 5, 3], f: [2, 3, 3, 2], strides: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]]},
  {name: 'explicit pad, s2', x: [1, 9, 8, 2], f: [3, 3, 2, 1], strides: 2, pad: [[0, 0], [2, 0], [1, 1], [0, 0]]},
  {name: 'numeric pad 1, s2', x: [2, 7, 7, 2], f: [3, 3, 2, 2], strides: 2, pad: 1},
  {name: 'numeric pad, ceil rounding', x: [1, 6, 6, 2], f: [3, 3, 2, 1], strides: 2, pad: 1, dimRoundingMode: 'ceil',
    forwardOnly: true},
  {name: '4x4 s2 valid, filter larger than stride', x: [2, 10, 9, 3], f: [4, 4, 3, 1], strides: 2, pad: 'valid'},
  {name: 'filter as large as input', x: [2, 4, 4, 5], f: [4, 4, 5, 2], strides: 1, pad: 'valid'},
  {name: 'wide channels (vector path)', x: [2, 8, 8, 37], f: [3, 3, 37, 1], strides: 1, pad: 'same'},
  {name: 'dilation 2, same', x: [2, 9, 8, 3], f: [3, 3, 3, 1], strides: 1, pad: 'same', dilations: 2,
    forwardOnly: true},
  {name: 'dilation [2,3], valid, multiplier 2', x: [1, 10, 11, 2], f: [2, 3, 2, 2], strides: 1, pad: 'valid',
    dilations: [2, 3], forwardOnly: true},
];

describe('native depthwise conv kernels', () => {
  it('are built and registered for the native backend', () => {
    expect(nativeAvailable()).toBe(true);
    for (const c of [depthwiseConv2dNativeConfig, depthwiseConv2dNativeBackpropInputConfig,
      depthwiseConv2dNativeBackpropFilterConfig]) {
      expect(tf.getKernel(c.kernelName, 'native')?.kernelFunc, c.kernelName).toBe(c.kernelFunc);
    }
  });

  describe.each(cases)('$name: x $x, filter $f', (c) => {
    const xv = randoms(size(c.x), 1), fv = randoms(size(c.f), 2);
    const conv = (x: tf.Tensor4D, f: tf.Tensor4D) =>
      tf.depthwiseConv2d(x, f, c.strides, c.pad, 'NHWC', c.dilations ?? 1, c.dimRoundingMode);

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
  });

  // 3×3 filters with multiplier 1 and channels divisible by 4 take the register-blocked kernels
  // (blocks of 16, 8 or 4 channels); each case runs on both implementations.
  const blockedCases: Case[] = [
    {name: 'blocked 16ch s1 same, batch 1', x: [1, 6, 7, 16], f: [3, 3, 16, 1], strides: 1, pad: 'same'},
    {name: 'blocked 32ch s2 same, even size', x: [2, 8, 8, 32], f: [3, 3, 32, 1], strides: 2, pad: 'same'},
    {name: 'blocked 64ch s2 same, odd size', x: [2, 7, 9, 64], f: [3, 3, 64, 1], strides: 2, pad: 'same'},
    {name: 'blocked 8ch s1 valid', x: [3, 6, 5, 8], f: [3, 3, 8, 1], strides: 1, pad: 'valid'},
    {name: 'blocked 24ch s2 valid', x: [2, 9, 8, 24], f: [3, 3, 24, 1], strides: 2, pad: 'valid'},
    {name: 'blocked 12ch s[1,2] explicit pad', x: [2, 7, 8, 12], f: [3, 3, 12, 1], strides: [1, 2],
      pad: [[0, 0], [2, 0], [1, 2], [0, 0]]},
    {name: 'blocked 4ch s2 numeric pad 1', x: [2, 5, 5, 4], f: [3, 3, 4, 1], strides: 2, pad: 1},
    {name: 'blocked 16ch, input smaller than filter', x: [2, 2, 1, 16], f: [3, 3, 16, 1], strides: 1, pad: 'same'},
    {name: 'blocked 16ch dilation 2 same', x: [2, 9, 8, 16], f: [3, 3, 16, 1], strides: 1, pad: 'same', dilations: 2,
      forwardOnly: true},
    {name: 'blocked 8ch dilation [2,3] valid', x: [1, 10, 11, 8], f: [3, 3, 8, 1], strides: 1, pad: 'valid',
      dilations: [2, 3], forwardOnly: true},
  ];
  describe.each(['blocked', 'general'] as const)('%s 3x3 kernels', (impl) => {
    const withImpl = async (fn: () => Promise<void>) => {
      const saved = addon!.depthwiseImpl();
      addon!.depthwiseImpl(impl);
      try {
        await fn();
      } finally {
        addon!.depthwiseImpl(saved);
      }
    };
    describe.each(blockedCases)('$name: x $x', (c) => {
      const xv = randoms(size(c.x), 7), fv = randoms(size(c.f), 8);
      const conv = (x: tf.Tensor4D, f: tf.Tensor4D) =>
        tf.depthwiseConv2d(x, f, c.strides, c.pad, 'NHWC', c.dilations ?? 1, c.dimRoundingMode);

      it('forward matches cpu', () => withImpl(() => parity(['y'], () => [conv(tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.f))])));

      it.skipIf(c.forwardOnly)('gradients wrt x and filter match cpu', () => withImpl(() =>
        parity(['y', 'dx', 'dfilter'], () => {
          const x = tf.tensor4d(xv, c.x), f = tf.tensor4d(fv, c.f);
          const y = conv(x, f);
          const dy = tf.tensor(randoms(y.size, 9), y.shape);
          const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a as tf.Tensor4D, b as tf.Tensor4D))([x, f], dy);
          return [y, dx, df];
        })));
    });

    it.each([
      ['relu', [2, 6, 6, 16], 1], ['relu6', [2, 7, 7, 32], 2], ['leakyrelu', [1, 5, 6, 8], 1],
      ['elu', [2, 6, 5, 4], 2], ['sigmoid', [1, 6, 6, 16], 1], ['linear', [2, 5, 5, 12], 2],
      ['relu6', [2, 6, 6, 3], 1],
    ] as const)('bias + %s epilogue on x %j, stride %d matches cpu', (act, shape, stride) => withImpl(async () => {
      const channels = shape[3];
      const xv = randoms(size(shape), 10).map((v) => v * 4), fv = randoms(9 * channels, 11), bv = randoms(channels, 12);
      const cpu = await on('cpu', () => {
        const y = tf.add(tf.depthwiseConv2d(tf.tensor4d(xv, [...shape]), tf.tensor4d(fv, [3, 3, channels, 1]), stride, 'same'),
          tf.tensor1d(bv));
        const a = {relu: tf.relu, relu6: tf.relu6, elu: tf.elu, sigmoid: tf.sigmoid, linear: (t: tf.Tensor) => t,
          leakyrelu: (t: tf.Tensor) => tf.leakyRelu(t, 0.3)}[act];
        return [a(y)];
      });
      const outH = Math.ceil(shape[1] / stride), outW = Math.ceil(shape[2] / stride);
      const padTop = Math.floor(Math.max((outH - 1) * stride + 3 - shape[1], 0) / 2);
      const padLeft = Math.floor(Math.max((outW - 1) * stride + 3 - shape[2], 0) / 2);
      const out = new Float32Array(shape[0] * outH * outW * channels);
      addon!.depthwiseConv2d(Float32Array.from(xv), fv, out,
        [shape[0], shape[1], shape[2], channels, outH, outW, 1, 3, 3, stride, stride, 1, 1, padTop, padLeft], bv, act, 0.3);
      expect([shape[0], outH, outW, channels]).toEqual(cpu[0].shape);
      expectClose(`${act} y`, out, cpu[0].values);
    }));
  });

  it('the gradient kernels called directly with dilation keep the cpu kernels\' answers', async () => {
    // tf.grads rejects dilated depthwise convs, but the kernels accept a dilations attribute; the
    // cpu kernels ignore it, and the native backend defers to them for that case.
    const x = [1, 7, 7, 2], f = [3, 3, 2, 1], dyShape = [1, 7, 7, 2];
    const xv = randoms(size(x), 4), fv = randoms(size(f), 5), dyv = randoms(size(dyShape), 6);
    const attrs = {strides: [1, 1] as [number, number], pad: 'same' as const, dilations: [2, 2] as [number, number]};
    await parity(['dx', 'dfilter'], () => [
      tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput',
        {dy: tf.tensor4d(dyv, dyShape as [number, number, number, number]), filter: tf.tensor4d(fv, f as [number, number, number, number])},
        {...attrs, inputShape: x}) as tf.Tensor,
      tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter',
        {x: tf.tensor4d(xv, x as [number, number, number, number]), dy: tf.tensor4d(dyv, dyShape as [number, number, number, number])},
        {...attrs, filterShape: f}) as tf.Tensor,
    ]);
  });

  describe('addon argument validation', () => {
    // x [1,5,5,2], filter [3,3,2,1], 'same': out [1,5,5,2]
    const geom = [1, 5, 5, 2, 5, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1];
    const f32 = (n: number) => new Float32Array(n);

    it('names the kernel and the bad length', () => {
      expect(() => addon!.depthwiseConv2d(f32(49), f32(18), f32(50), geom))
        .toThrow('DepthwiseConv2dNative: x has 49 elements, expected 50');
      expect(() => addon!.depthwiseConv2d(f32(50), f32(17), f32(50), geom))
        .toThrow('DepthwiseConv2dNative: filter has 17 elements, expected 18');
      expect(() => addon!.depthwiseConv2dBackpropInput(f32(50), f32(18), f32(51), geom))
        .toThrow('DepthwiseConv2dNativeBackpropInput: dx has 51 elements, expected 50');
      expect(() => addon!.depthwiseConv2dBackpropFilter(f32(50), f32(49), f32(18), geom))
        .toThrow('DepthwiseConv2dNativeBackpropFilter: dy has 49 elements, expected 50');
    });

    it('checks the bias, the activation and the implementation name', () => {
      expect(() => addon!.depthwiseConv2d(f32(50), f32(18), f32(50), geom, f32(3)))
        .toThrow('DepthwiseConv2dNative: bias has 3 elements, expected 2');
      expect(() => addon!.depthwiseConv2d(f32(50), f32(18), f32(50), geom, null, 'tanh' as 'relu'))
        .toThrow('DepthwiseConv2dNative: activation must be one of linear, relu, relu6, elu, sigmoid, leakyrelu, got tanh');
      expect(() => addon!.depthwiseImpl('fast' as 'blocked')).toThrow("depthwiseImpl: expected 'blocked' or 'general', got fast");
      expect(addon!.depthwiseImpl()).toBe('blocked');
    });

    it('rejects a malformed geometry', () => {
      expect(() => addon!.depthwiseConv2d(f32(50), f32(18), f32(50), geom.slice(1)))
        .toThrow('DepthwiseConv2dNative: geom must have 15 integers');
      const zeroStride = [...geom];
      zeroStride[9] = 0;
      expect(() => addon!.depthwiseConv2d(f32(50), f32(18), f32(50), zeroStride))
        .toThrow('DepthwiseConv2dNative: bad geom');
    });
  });
});
