// The `isa` section: the same end-to-end training and inference, and the 1024³ own GEMM, with the
// addon's kernels on each path — the run-time dispatched build (the best ISA this CPU has, then
// HAFIF_ISA=avx2 and baseline forced) and, with --compare-addon FILE, a second addon binary (for
// example one built with HAFIF_MARCH_NATIVE=1, i.e. -march=native for this CPU). Each
// configuration runs in its own child process, in turns (A B C ..., --rounds times), and keeps its
// best time per measurement (the machine may be shared).
import {spawnSync} from 'node:child_process';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import type {E2eResult} from './e2e.js';
import type {SgemmRow} from './sgemm_child.js';
import {progress} from './timing.js';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cli.js');

export interface IsaRow {
  readonly label: string;
  readonly isa: string;
  readonly e2e: E2eResult[];
  readonly sgemm: SgemmRow[];
}

interface Config {
  readonly label: string;
  readonly env: Record<string, string>;
}

function runChild(c: Config, steps: number, round: number): IsaRow {
  progress(`isa: ${c.label} (round ${round + 1})`);
  const env = {...process.env, ...c.env};
  const out = path.join(path.dirname(cli), `isa-${process.pid}.json`);
  // One window per child: the isa section has its own alternating rounds.
  const res = spawnSync(process.execPath, [cli, '--only', 'e2e', '--steps', String(steps), '--windows', '1', '--json', '--out', out, '--native-only'],
    {env, encoding: 'utf8', maxBuffer: 64 << 20});
  if (res.status !== 0) throw new Error(`isa child ${c.label} failed: ${res.stderr}`);
  const j = JSON.parse(res.stdout.trim().split('\n').pop()!) as {e2e: E2eResult[]; machine: {isa: string}};
  const sg = spawnSync(process.execPath, [path.join(path.dirname(cli), 'sgemm_child.js'), '2', '1024', '2000'], {env, encoding: 'utf8'});
  if (sg.status !== 0) throw new Error(`isa sgemm child ${c.label} failed: ${sg.stderr}`);
  return {label: c.label, isa: j.machine.isa, e2e: j.e2e, sgemm: JSON.parse(sg.stdout.trim().split('\n').pop()!) as SgemmRow[]};
}

export function benchIsa(opts: {steps: number; compareAddon?: string; rounds: number}): IsaRow[] {
  const configs: Config[] = [
    {label: 'dispatched', env: {}},
    {label: 'dispatched, HAFIF_ISA=avx2', env: {HAFIF_ISA: 'avx2'}},
    {label: 'dispatched, HAFIF_ISA=baseline', env: {HAFIF_ISA: 'baseline'}},
  ];
  if (opts.compareAddon) configs.push({label: path.basename(opts.compareAddon), env: {HAFIF_ADDON: path.resolve(opts.compareAddon)}});
  const rows = configs.map((c) => ({c, rows: [] as IsaRow[]}));
  for (let r = 0; r < opts.rounds; r++) for (const x of rows) x.rows.push(runChild(x.c, opts.steps, r));
  return rows.map(({rows: rs}) => rs.reduce((a, b) => ({
    ...a,
    e2e: a.e2e.map((e, i) => ({...e,
      trainMsPerStep: Math.min(e.trainMsPerStep, b.e2e[i]?.trainMsPerStep ?? Infinity),
      trainImgPerSec: Math.max(e.trainImgPerSec, b.e2e[i]?.trainImgPerSec ?? 0),
      inferImgPerSec: e.inferImgPerSec == null ? null : Math.max(e.inferImgPerSec, b.e2e[i]?.inferImgPerSec ?? 0)})),
    sgemm: a.sgemm.map((s, i) => ((b.sgemm[i]?.gflops ?? 0) > (s.gflops ?? 0) ? b.sgemm[i] : s)),
  })));
}

export function isaTable(rows: IsaRow[]): string {
  const ref = rows[rows.length - 1];
  const head = `| measurement | ${rows.map((r) => `${r.label} (${r.isa})`).join(' | ')} | ${rows[0].label} / ${ref.label} |`;
  const lines = [head, `|${' --- |'.repeat(rows.length + 2)}`];
  const fmt = (x: number | null | undefined) => (x == null ? '–' : Math.round(x).toLocaleString('en-US'));
  for (let i = 0; i < rows[0].e2e.length; i++) {
    const e = rows[0].e2e[i];
    const name = `${e.model} ${e.trainer === 'hafif' ? 'hafif fit step' : 'tf.train.adam'}`;
    const vals = rows.map((r) => r.e2e[i]?.trainImgPerSec);
    lines.push(`| ${name}, train img/s | ${vals.map(fmt).join(' | ')} | ${(vals[0]! / vals[vals.length - 1]!).toFixed(2)}× |`);
    if (e.inferImgPerSec != null) {
      const iv = rows.map((r) => r.e2e[i]?.inferImgPerSec);
      lines.push(`| ${e.model} inference img/s | ${iv.map(fmt).join(' | ')} | ${(iv[0]! / iv[iv.length - 1]!).toFixed(2)}× |`);
    }
  }
  const own = rows.map((r) => r.sgemm.find((s) => s.impl === 'own')?.gflops);
  lines.push(`| own sgemm 1024³, 2 threads, GFLOP/s | ${own.map(fmt).join(' | ')} | ${((own[0] ?? 0) / (own[own.length - 1] ?? 1)).toFixed(2)}× |`);
  return lines.join('\n');
}
