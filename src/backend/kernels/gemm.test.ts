// hafif's own GEMM (used when no BLAS is linked) against a float64 reference, through the addon's
// batchMatMul after gemmImpl('own'): odd sizes that leave partial register tiles, every transpose
// combination, K longer than one packed panel, N wider than one B panel, the split-K path for a
// tiny output with a long K, batched and broadcast products, and one thread vs two.
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
  {name: 'tiny output, long K (split K)', dims: [1, 1, 5, 7, 3001]},
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
