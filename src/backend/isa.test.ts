// HAFIF_ISA forces the baseline, AVX2 or AVX-512 kernels; each path this CPU has must agree with a
// plain JavaScript reference (GEMM in several shapes and transposes, element-wise ops, Adam).
// The full kernel suites run under each forced path in CI (.ci/run).
import {spawnSync} from 'node:child_process';
import {readFileSync} from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {describe, expect, it} from 'vitest';

import {addon} from './addon.js';

const addonUrl = pathToFileURL(path.resolve(import.meta.dirname, '..', '..', 'dist', 'backend', 'addon.js')).href;
const flags = process.arch === 'x64' ? (/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].split(/\s+/) ?? []) : [];
const has = (f: string[]) => f.every((x) => flags.includes(x));
const available: Record<string, boolean> = {
  baseline: true,
  avx2: process.arch === 'x64' && has(['avx2', 'fma']),
  avx512: process.arch === 'x64' && has(['avx512f', 'avx512vl', 'avx512bw', 'avx512dq', 'avx2', 'fma']),
};

// Runs in a child process with HAFIF_ISA set; prints the ISA and the kernels' outputs as JSON.
const child = `
const {addon: a} = await import(process.argv[1]);
let s = 1;
const rnd = (n) => Float32Array.from({length: n}, () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1);
const out = {isa: a.isa(), note: a.isaNote(), gemm: [], ew: [], adam: null};
for (const [M, N, K, tA, tB] of [[37, 53, 29, false, false], [64, 10, 300, true, false], [5, 130, 70, false, true], [200, 33, 17, true, true]]) {
  const A = rnd(M * K), B = rnd(K * N), C = new Float32Array(M * N);
  a.batchMatMul(A, B, C, [1, 1, M, N, K], tA, tB);
  out.gemm.push({M, N, K, tA, tB, A: [...A], B: [...B], C: [...C]});
}
const x = rnd(1003), y = rnd(1003), z = new Float32Array(1003), e = new Float32Array(1003), r = new Float32Array(1003);
a.binary(a.binaryOps.Add, x, y, z, [1003], [1003]);
a.unary(a.unaryOps.Exp, x, e);
a.unary(a.unaryOps.Rsqrt, y.map(Math.abs), r);
out.ew = {x: [...x], y: [...y], add: [...z], exp: [...e], rsqrt: [...r]};
const g = rnd(777), m = rnd(777).map(Math.abs), v = rnd(777).map(Math.abs), w = rnd(777), wo = new Float32Array(777);
const m0 = [...m], v0 = [...v];
a.adamUpdate(g, m, v, w, wo, 0.9, 0.999, 1e-3, 1.2, 1e-7);
out.adam = {g: [...g], m0, v0, w: [...w], m: [...m], v: [...v], wo: [...wo]};
process.stdout.write(JSON.stringify(out));
`;

function run(isa: string) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', child, addonUrl], {
    encoding: 'utf8', env: {...process.env, HAFIF_ISA: isa}, maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`HAFIF_ISA=${isa}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const close = (got: number[], want: number[], tol: number) => {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  expect(worst).toBeLessThan(tol);
};

describe('run-time ISA dispatch', () => {
  it('the loaded addon reports the best ISA this CPU has', () => {
    const best = available.avx512 ? 'avx512' : available.avx2 ? 'avx2' : 'baseline';
    if (process.env.HAFIF_ISA === undefined) expect(addon!.isa()).toBe(best);
  });

  for (const isa of ['baseline', 'avx2', 'avx512']) {
    it.runIf(available[isa])(`HAFIF_ISA=${isa} runs that path, in agreement with a JS reference`, () => {
      const o = run(isa);
      expect(o.isa).toBe(isa);
      expect(o.note).toBe('');
      for (const {M, N, K, tA, tB, A, B, C} of o.gemm) {
        const want = new Array(M * N).fill(0);
        for (let i = 0; i < M; i++)
          for (let j = 0; j < N; j++) {
            let acc = 0;
            for (let k = 0; k < K; k++) acc += (tA ? A[k * M + i] : A[i * K + k]) * (tB ? B[j * K + k] : B[k * N + j]);
            want[i * N + j] = acc;
          }
        close(C, want, 1e-4);
      }
      const {x, y} = o.ew;
      close(o.ew.add, x.map((v: number, i: number) => v + y[i]), 1e-6);
      close(o.ew.exp, x.map(Math.exp), 1e-6);
      close(o.ew.rsqrt, y.map((v: number) => 1 / Math.sqrt(Math.abs(v))), 1e-5);
      const {g, m0, v0, w, m, v, wo} = o.adam;
      const mw = m0.map((mi: number, i: number) => 0.9 * mi + 0.1 * g[i]);
      const vw = v0.map((vi: number, i: number) => 0.999 * vi + 0.001 * g[i] * g[i]);
      close(m, mw, 1e-6);
      close(v, vw, 1e-6);
      close(wo, w.map((wi: number, i: number) => wi - (1e-3 * mw[i]) / (Math.sqrt(vw[i]) * 1.2 + 1e-7)), 1e-6);
    });
  }

  it('an unknown HAFIF_ISA falls back to the best path and says why', () => {
    const o = run('sse9');
    expect(o.note).toMatch(/HAFIF_ISA must be baseline, avx2 or avx512/);
    expect(o.isa).toBe(available.avx512 ? 'avx512' : available.avx2 ? 'avx2' : 'baseline');
  });
});
