// Parity of the native BatchMatMul and _FusedMatMul kernels with @tensorflow/tfjs-backend-cpu:
// forward and gradients, every transpose combination, rank 2 and 3, a broadcast batch of one,
// bias + each activation, on both the linked BLAS and hafif's own GEMM.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import {afterAll, describe, expect, it} from 'vitest';

import {addon, nativeAvailable} from '../index.js';
import {batchMatMulConfig} from './BatchMatMul.js';
import {fusedMatMulConfig} from './_FusedMatMul.js';
import {checkLeaks, parity, randoms, size} from './test_util.js';

checkLeaks();

interface Case {
  name: string;
  a: number[];  // shapes before transposition: a is [..., M, K], b is [..., K, N]
  b: number[];
  /** tfjs 4.22's BatchMatMul gradient does not sum over broadcast batch dims (it throws on cpu too). */
  forwardOnly?: boolean;
}

const cases: Case[] = [
  {name: 'rank 2, odd sizes', a: [7, 13], b: [13, 5]},
  {name: 'rank 2, partial tiles and a long K', a: [29, 300], b: [300, 37]},
  {name: 'rank 3, equal batches', a: [3, 6, 11], b: [3, 11, 9]},
  {name: 'rank 3, a batch of 1 broadcast', a: [1, 5, 8], b: [4, 8, 7], forwardOnly: true},
  {name: 'rank 3 x rank 2', a: [2, 9, 4], b: [4, 6], forwardOnly: true},
  {name: 'rank 2 x rank 3 broadcast', a: [5, 3], b: [2, 3, 4], forwardOnly: true},
  {name: 'dense layer of the student', a: [32, 200], b: [200, 10]},
];

const transposes: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

/** Stores x as the operand of a matmul with the given transpose flag: swaps the last two dims. */
function operand(values: Float32Array, shape: number[], transposed: boolean): tf.Tensor {
  const t = tf.tensor(values, shape);
  if (!transposed) return t;
  const perm = shape.map((_, i) => i);
  [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
  return tf.transpose(t, perm);
}

const impls = (addon?.hasBlas ? ['blas', 'own'] : ['own']) as ('blas' | 'own')[];
const savedImpl = addon?.gemmImpl();
afterAll(() => {
  if (savedImpl != null) addon!.gemmImpl(savedImpl);
});

describe('native matmul kernels', () => {
  it('are built and registered for the native backend', () => {
    expect(nativeAvailable()).toBe(true);
    for (const c of [batchMatMulConfig, fusedMatMulConfig]) {
      expect(tf.getKernel(c.kernelName, 'native')?.kernelFunc, c.kernelName).toBe(c.kernelFunc);
    }
  });

  describe.each(impls)('gemm %s', (impl) => {
    describe.each(cases)('$name: a $a, b $b', (c) => {
      const av = randoms(size(c.a), 1), bv = randoms(size(c.b), 2);
      it.each(transposes)('transposeA=%s transposeB=%s: forward and gradients match cpu', async (tA, tB) => {
        addon!.gemmImpl(impl);
        const names = c.forwardOnly ? ['y'] : ['y', 'da', 'db'];
        await parity(names, () => {
          // The stored operands are the transposes, so tf.matMul's result is the same product.
          const a = operand(av, c.a, tA), b = operand(bv, c.b, tB);
          const f = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, tA, tB);
          const y = f(a, b);
          if (c.forwardOnly) return [y];
          const dy = tf.tensor(randoms(y.size, 3), y.shape);
          const [da, db] = tf.grads(f)([a, b], dy);
          return [y, da, db];
        });
      });
    });

    describe('fused matMul (bias + activation)', () => {
      const activations = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const;
      const shapes = {a: [2, 9, 14], b: [2, 14, 11]};
      const av = randoms(size(shapes.a), 4), bv = randoms(size(shapes.b), 5), biasv = randoms(11, 6);

      it.each(activations)('%s: forward and gradients wrt a, b, bias match cpu', async (activation) => {
        addon!.gemmImpl(impl);
        await parity(['y', 'da', 'db', 'dbias'], () => {
          const a = tf.tensor(av, shapes.a), b = tf.tensor(bv, shapes.b), bias = tf.tensor1d(biasv);
          // Scaled so relu6's upper clip and the negative branches are all exercised.
          const fused = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.fused.matMul({
            a: tf.mul(x, 4), b: y, bias: z, activation, leakyreluAlpha: 0.3,
          });
          const y = fused(a, b, bias);
          const dy = tf.tensor(randoms(y.size, 7), y.shape);
          const [da, db, dbias] = tf.grads(fused)([a, b, bias], dy);
          return [y, da, db, dbias];
        });
      });

      it.each(transposes)('transposeA=%s transposeB=%s, rank 2, relu: forward and gradients match cpu',
        async (tA, tB) => {
          addon!.gemmImpl(impl);
          await parity(['y', 'da', 'db', 'dbias'], () => {
            const a = operand(randoms(8 * 13, 8), [8, 13], tA), b = operand(randoms(13 * 6, 9), [13, 6], tB);
            const bias = tf.tensor1d(randoms(6, 10));
            const fused = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.fused.matMul({
              a: x, b: y, bias: z, transposeA: tA, transposeB: tB, activation: 'relu',
            });
            const y = fused(a, b, bias);
            const dy = tf.tensor(randoms(y.size, 11), y.shape);
            const [da, db, dbias] = tf.grads(fused)([a, b, bias], dy);
            return [y, da, db, dbias];
          });
        });

      it('without bias, with a scalar bias, with a [1, N] bias, with prelu and a full-shape bias (cpu fallback)',
        async () => {
          addon!.gemmImpl(impl);
          await parity(['no bias', 'scalar bias', '[1,N] bias', 'prelu', '[M,N] bias'], () => {
            const a = tf.tensor(randoms(6 * 5, 12), [6, 5]), b = tf.tensor(randoms(5 * 4, 13), [5, 4]);
            return [
              tf.fused.matMul({a, b, activation: 'elu'}),
              tf.fused.matMul({a, b, bias: tf.scalar(0.5), activation: 'sigmoid'}),
              tf.fused.matMul({a, b, bias: tf.tensor2d([[0.1, -0.2, 0.3, -0.4]]), activation: 'leakyrelu'}),
              tf.fused.matMul({a, b, bias: tf.tensor1d([0.1, -0.2, 0.3, -0.4]), activation: 'prelu',
                preluActivationWeights: tf.tensor1d([0.1, 0.2, 0.3, 0.4])}),
              tf.fused.matMul({a, b, bias: tf.tensor(randoms(24, 14), [6, 4]), activation: 'relu'}),
            ];
          });
        });
    });
  });

  it('int32 operands fall back to the cpu kernel and match it', async () => {
    await parity(['y'], () => [tf.cast(tf.matMul(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'),
      tf.tensor2d([[5, 6], [7, 8]], [2, 2], 'int32')), 'float32')]);
  });

  it('fusedMatMul rejects a bias of the wrong length, naming the kernel', () => {
    const f = (n: number) => new Float32Array(n);
    expect(() => addon!.fusedMatMul(f(6), f(6), f(5), f(4), [1, 1, 2, 2, 3], false, false, 'relu', 0.2))
      .toThrow('_FusedMatMul: bias has 5 elements, expected 1 or N=2');
    expect(() => addon!.fusedMatMul(f(6), f(6), null, f(4), [1, 1, 2, 2, 3], false, false, 'swish' as 'relu', 0.2))
      .toThrow('_FusedMatMul: activation must be one of');
  });
});
