// Timing helpers. Every backend here is synchronous, so wall time around a call that ends in
// dataSync() is the kernel's time.
import {performance} from 'node:perf_hooks';

/** How many times to run a measured function and for how long at most. */
export interface TimeOptions {
  /** Timed repetitions after the warm-up call. */
  readonly reps: number;
  /** Stop adding repetitions once this much time has been spent (the warm-up included). */
  readonly budgetMs: number;
}

export interface Timing {
  /** Median milliseconds per call. */
  readonly ms: number;
  /** Timed calls behind `ms`. */
  readonly reps: number;
  /** True when the only call was the first one (too slow to repeat within the budget). */
  readonly cold: boolean;
}

export function now(): number {
  return performance.now();
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times `fn`: the first call warms up (JIT, allocator) and is thrown away, unless it already took
 * more than half the budget or only one repetition is asked for, in which case it is the result.
 */
export function timeIt(fn: () => void, opts: TimeOptions): Timing {
  const t0 = now();
  fn();
  const first = now() - t0;
  if (opts.reps <= 1 || first * 2 >= opts.budgetMs) return {ms: first, reps: 1, cold: true};
  const samples: number[] = [];
  while (samples.length < opts.reps && (samples.length === 0 || now() - t0 < opts.budgetMs)) {
    const t = now();
    fn();
    samples.push(now() - t);
  }
  return {ms: median(samples), reps: samples.length, cold: false};
}

/** Formats a number with `digits` significant digits, or '-' for null. */
export function fmt(x: number | null | undefined, digits = 3): string {
  if (x == null || !Number.isFinite(x)) return '-';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 10 ** digits) return Math.round(x).toString();
  return Number(x.toPrecision(digits)).toString();
}

/** Writes a progress line to stderr (stdout may carry JSON). */
export function progress(msg: string): void {
  process.stderr.write(`  ${msg}\n`);
}
