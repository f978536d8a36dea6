// Child process of the sgemm section: OpenBLAS reads OPENBLAS_NUM_THREADS once at load, so each
// thread count runs in its own process. Prints one JSON line: SgemmRow[].
import {addon} from '../../dist/backend/addon.js';
import {timeIt} from './timing.js';

export interface SgemmRow {
  readonly impl: 'own' | 'blas';
  readonly threads: number;
  readonly n: number;
  readonly ms: number | null;
  readonly gflops: number | null;
  readonly reps: number;
  readonly note?: string;
}

function main(): void {
  const threads = Number(process.argv[2] ?? '1');
  const n = Number(process.argv[3] ?? '1024');
  const budgetMs = Number(process.argv[4] ?? '3000');
  if (addon == null) throw new Error('native addon unavailable');
  addon.numThreads(threads);
  const a = new Float32Array(n * n).map(() => Math.random() - 0.5);
  const b = new Float32Array(n * n).map(() => Math.random() - 0.5);
  const out = new Float32Array(n * n);
  const rows: SgemmRow[] = [];
  const initial = addon.gemmImpl();
  for (const impl of ['blas', 'own'] as const) {
    if (impl === 'blas' && !addon.hasBlas) {
      rows.push({impl, threads, n, ms: null, gflops: null, reps: 0, note: 'addon built without BLAS'});
      continue;
    }
    addon.gemmImpl(impl);
    const t = timeIt(() => addon!.batchMatMul(a, b, out, [1, 1, n, n, n], false, false), {reps: 10, budgetMs});
    rows.push({impl, threads, n, ms: t.ms, gflops: (2 * n ** 3) / t.ms / 1e6, reps: t.reps});
  }
  addon.gemmImpl(initial);
  process.stdout.write(JSON.stringify(rows) + '\n');
}

main();
