// hafif's own GEMM (used when no BLAS is linked) against a float64 reference, through the addon's
// batchMatMul after gemmImpl('own'): odd sizes that leave partial register tiles, every transpose
// combination, K longer than one packed panel, N wider than one B panel, the split-K path for a
// tiny output with a long K, batched and broadcast products, and one thread vs two; and, through
// the sgemmOwn hook, strided operands with alpha and beta on the edges of each register tile.
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {addon} from '../index.js';
import {expectClose, randoms} from './test_util.js';

/** C[b] = op(A[b]) x op(B[b]) in float64; a batch of 1 broadcasts. */
function reference(a: Float32Array, b: Float32Array, dims: number[], tA: boolean, tB: boolean): Float64Array {
  const [bA, bB, M, N, K] = dims;
  const batch = Math.max(bA, bB);
  const out = new Float64Array(batch * M * N);
  for (let p = 0; p < batch; ++p) {
    const ao = (bA === 1 ? 0 : p) * M * K, bo = (bB === 1 ? 0 : p) * K * N;
    for (let i = 0; i < M; ++i) {
      for (let j = 0; j < N; ++j) {
        let s = 0;
        for (let k = 0; k < K; ++k) {
          s += a[ao + (tA ? k * M + i : i * K + k)] * b[bo + (tB ? j * K + k : k * N + j)];
        }
        out[p * M * N + i * N + j] = s;
      }
    }
  }
  return out;
}

interface Case {
  name: string;
  dims: [number, number, number, number, number];  // batchA, batchB, M, N, K
}

const cases: Case[] = [
  {name: '1x1x1', dims: [1, 1, 1, 1, 1]},
  {name: 'odd small', dims: [1, 1, 7, 13, 5]},
  {name: 'partial tiles both ways', dims: [1, 1, 29, 37, 19]},
  {name: 'K over one panel (beta accumulate)', dims: [1, 1, 25, 33, 600]},
  {name: 'M over one A block', dims: [1, 1, 401, 17, 31]},
  {name: 'N over one B panel, column split', dims: [1, 1, 9, 2100, 12]},
  // Above 2M multiply-adds with K >= 2048, so the parallel GEMM splits K over the threads.
  {name: 'tiny output, long K (split K)', dims: [1, 1, 5, 7, 60000]},
  {name: 'dense-layer shape', dims: [1, 1, 32, 10, 1570]},
  {name: 'K of 9 (first conv layer im2col)', dims: [1, 1, 300, 40, 9]},
  {name: 'batched small products', dims: [5, 5, 6, 11, 9]},
  {name: 'broadcast batch of A', dims: [1, 4, 13, 9, 17]},
  {name: 'broadcast batch of B', dims: [3, 1, 21, 18, 7]},
  // Above the 2M multiply-adds where the GEMM goes parallel with one operand packed in advance.
  {name: 'parallel rows, B packed once over two panels and several A blocks', dims: [1, 1, 400, 2100, 40]},
  {name: 'parallel columns, A packed once over two blocks', dims: [1, 1, 200, 2100, 20]},
  {name: 'parallel rows, K over several panels', dims: [1, 1, 300, 64, 600]},
];

const transposes: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

describe.skipIf(addon == null)('own GEMM vs float64 reference', () => {
  const native = addon!;
  let savedImpl: 'own' | 'blas';
  let savedThreads: number;
  beforeAll(() => {
    savedImpl = native.gemmImpl();
    savedThreads = native.numThreads();
    expect(native.gemmImpl('own')).toBe('own');
  });
  afterAll(() => {
    native.gemmImpl(savedImpl);
    native.numThreads(savedThreads);
  });

  describe.each(cases)('$name $dims', ({dims}) => {
    it.each(transposes)('transA=%s transB=%s', (tA, tB) => {
      const [bA, bB, M, N, K] = dims;
      const a = randoms(bA * M * K, 11 + M), b = randoms(bB * K * N, 23 + N);
      const out = new Float32Array(Math.max(bA, bB) * M * N).fill(Number.NaN);  // must be overwritten
      native.batchMatMul(a, b, out, dims, tA, tB);
      expectClose('C', out, reference(a, b, dims, tA, tB));
    });
  });

  it('gives the same answer on one thread as on two', () => {
    const dims = [1, 1, 97, 75, 300];
    const a = randoms(97 * 300, 5), b = randoms(300 * 75, 6);
    const two = new Float32Array(97 * 75), one = new Float32Array(97 * 75);
    native.numThreads(2);
    native.batchMatMul(a, b, two, dims, false, true);
    native.numThreads(1);
    native.batchMatMul(a, b, one, dims, false, true);
    native.numThreads(savedThreads);
    expectClose('one thread', one, reference(a, b, dims, false, true));
    expectClose('two threads', two, reference(a, b, dims, false, true));
  });

  it('writes zeros for K = 0 and accepts empty outputs', () => {
    const out = new Float32Array(12).fill(7);
    native.batchMatMul(new Float32Array(0), new Float32Array(0), out, [1, 1, 3, 4, 0], false, false);
    expect(Array.from(out)).toEqual(new Array(12).fill(0));
    native.batchMatMul(new Float32Array(0), new Float32Array(20), new Float32Array(0), [1, 1, 0, 4, 5], false, false);
  });

  it('rejects mismatched lengths and batches, naming the kernel', () => {
    const f = (n: number) => new Float32Array(n);
    expect(() => native.batchMatMul(f(5), f(6), f(4), [1, 1, 2, 2, 3], false, false))
      .toThrow('BatchMatMul: a has 5 elements, expected 6');
    expect(() => native.batchMatMul(f(12), f(12), f(8), [2, 3, 2, 2, 3], false, false))
      .toThrow('BatchMatMul: bad dims [2,3,2,2,3]');
  });

  it('sgemmBench times the requested implementation and validates its arguments', () => {
    const secs = native.sgemmBench('own', 33, 17, 9, false, true, 2);
    expect(secs).toBeGreaterThan(0);
    expect(native.gemmImpl()).toBe('own');  // restored after the benchmark
    expect(() => native.sgemmBench('own', 0, 1, 1, false, false, 1)).toThrow('sgemmBench: bad sizes M=0');
    if (!native.hasBlas) expect(() => native.sgemmBench('blas', 4, 4, 4, false, false, 1)).toThrow('no BLAS');
  });
});

/** C = alpha * op(A) x op(B) + beta * C0 in float64 on strided row-major operands (C0 unread when beta is 0). */
function stridedReference(a: Float32Array, b: Float32Array, c0: Float32Array, d: number[], tA: boolean, tB: boolean,
  alpha: number, beta: number): Float64Array {
  const [M, N, K, lda, ldb, ldc] = d;
  const out = Float64Array.from(c0);
  for (let i = 0; i < M; ++i) {
    for (let j = 0; j < N; ++j) {
      let s = 0;
      for (let k = 0; k < K; ++k) s += a[tA ? k * lda + i : i * lda + k] * b[tB ? j * ldb + k : k * ldb + j];
      out[i * ldc + j] = alpha * s + (beta === 0 ? 0 : beta * c0[i * ldc + j]);
    }
  }
  return out;
}

interface StridedCase {
  name: string;
  mnk: [number, number, number];
}

// The AVX-512 build tiles C by 8 x 32 (N > 16) or 8 x 16 (N <= 16) with K in panels of 256, A in
// blocks of 288 or 256 rows and B in panels of 4096 columns; AVX2 and the baseline by 6 x 16 and
// 3 x 16 with 2048-column panels. Sizes one either side of those edges, for every build.
const stridedCases: StridedCase[] = [
  {name: 'one element', mnk: [1, 1, 1]},
  {name: 'N = 10 logits, M one over a tile', mnk: [9, 10, 33]},
  {name: 'N = 16, the narrow tile exactly', mnk: [16, 16, 27]},
  {name: 'N = 17, one past the narrow tile', mnk: [7, 17, 5]},
  {name: 'N = 31 / 33 around the wide tile', mnk: [25, 31, 12]},
  {name: 'N = 33, K one past a panel', mnk: [13, 33, 257]},
  {name: 'N = 48, K one short of a panel', mnk: [8, 48, 255]},
  {name: 'M over one A block', mnk: [290, 40, 20]},
  {name: 'N over one B panel', mnk: [5, 4100, 6]},
  {name: 'K over two panels', mnk: [17, 70, 600]},
];

describe.skipIf(addon == null)('own GEMM with strides, alpha and beta (sgemmOwn)', () => {
  const native = addon!;
  const combos: [boolean, boolean, number, number][] = [
    [false, false, 1, 0], [true, false, 0.75, 1], [false, true, -1.5, -0.5], [true, true, 2, 0.25],
  ];
  describe.each(stridedCases)('$name $mnk', ({mnk}) => {
    it.each(combos)('transA=%s transB=%s alpha=%s beta=%s, serial and parallel', (tA, tB, alpha, beta) => {
      const [M, N, K] = mnk;
      // Row strides 3 past the stored width, so a kernel that assumes packed rows reads padding.
      const lda = (tA ? M : K) + 3, ldb = (tB ? K : N) + 3, ldc = N + 3;
      const a = randoms(((tA ? K : M) - 1) * lda + (tA ? M : K), 31 + M);
      const b = randoms(((tB ? N : K) - 1) * ldb + (tB ? K : N), 37 + N);
      const c0 = randoms((M - 1) * ldc + N, 41 + K);
      if (beta === 0) c0.fill(Number.NaN);  // must be overwritten, not scaled
      // The padding between rows of C must come back untouched.
      for (let i = 0; i < M - 1; ++i) c0.fill(123, i * ldc + N, (i + 1) * ldc);
      const dims = [M, N, K, lda, ldb, ldc];
      const want = stridedReference(a, b, c0, dims, tA, tB, alpha, beta);
      for (const serial of [true, false]) {
        const c = c0.slice();
        native.sgemmOwn(a, b, c, dims, tA, tB, alpha, beta, serial);
        expectClose(serial ? 'serial' : 'parallel', c, want);
      }
    });
  });

  it('sums a K split over the threads into a C scaled by beta', () => {
    // Tiny C, long K: the parallel GEMM splits K across the threads and adds the parts.
    const [M, N, K] = [5, 7, 60000];  // over 2M multiply-adds and K >= 2048
    const a = randoms(M * K, 3), b = randoms(K * N, 4), c0 = randoms(M * N, 5);
    const dims = [M, N, K, K, N, N];
    const saved = native.numThreads();
    native.numThreads(2);
    const c = c0.slice();
    native.sgemmOwn(a, b, c, dims, false, false, 0.5, 2, false);
    native.numThreads(saved);
    expectClose('C', c, stridedReference(a, b, c0, dims, false, false, 0.5, 2));
  });

  it('rejects short operands and strides below the width', () => {
    const f = (n: number) => new Float32Array(n);
    expect(() => native.sgemmOwn(f(6), f(6), f(4), [2, 2, 3, 2, 2, 2], false, false, 1, 0, true))
      .toThrow('sgemmOwn: bad dims [2,2,3,2,2,2]');
    expect(() => native.sgemmOwn(f(5), f(6), f(4), [2, 2, 3, 3, 2, 2], false, false, 1, 0, true))
      .toThrow('sgemmOwn: an operand is shorter than dims [2,2,3,3,2,2] need');
  });
});
