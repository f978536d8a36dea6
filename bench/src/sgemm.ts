// The sgemm ceiling: 1024³ through the addon's batchMatMul with BLAS and hafif's own GEMM, on 1
// and 2 threads, each thread count in a child process started with OPENBLAS_NUM_THREADS set.
import {spawnSync} from 'node:child_process';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {hasNative} from './env.js';
import type {SgemmRow} from './sgemm_child.js';
import {progress} from './timing.js';

export type {SgemmRow};

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sgemm_child.js');

export function benchSgemm(opts: {quick: boolean}): SgemmRow[] {
  if (!hasNative) return [];
  const rows: SgemmRow[] = [];
  for (const threads of [1, 2]) {
    progress(`sgemm: 1024³ on ${threads} thread${threads > 1 ? 's' : ''}`);
    const env = {...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads)};
    const r = spawnSync(process.execPath, [child, String(threads), '1024', opts.quick ? '1000' : '3000'],
      {env, encoding: 'utf8'});
    if (r.status !== 0) throw new Error(`sgemm child (${threads} threads) failed: ${r.stderr || r.error?.message}`);
    rows.push(...(JSON.parse(r.stdout.trim().split('\n').pop()!) as SgemmRow[]));
  }
  return rows;
}
