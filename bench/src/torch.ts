// PyTorch side by side: the reference zoo_throughput.py over the same models, run in the same bench.
import {spawnSync} from 'node:child_process';
import {existsSync} from 'node:fs';

import {progress} from './timing.js';
import type {ModelName} from './train.js';

export const PYTHON = '/usr/bin/python3';

export interface TorchRow {
  readonly model: ModelName;
  readonly train_img_per_s: number;
  readonly infer_img_per_s: number;
  readonly batch: number;
  readonly threads: number;
  readonly torch: string;
}

export type TorchResult<R extends TorchRow = TorchRow> = {readonly available: true; readonly rows: R[]; readonly command: string}
  | {readonly available: false; readonly reason: string};

export function benchTorch(opts: {reference: string; steps: number; threads: number; models: readonly ModelName[]}): TorchResult {
  if (!existsSync(PYTHON)) return {available: false, reason: `${PYTHON} not found`};
  if (!existsSync(opts.reference)) return {available: false, reason: `reference script ${opts.reference} not found`};
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], {encoding: 'utf8'});
  if (probe.status !== 0) return {available: false, reason: `${PYTHON} cannot import torch`};
  // The first model once more in front, its row dropped: a fresh process's first model runs with
  // cold threads and allocator (up to 2x slower than the same model later in the process).
  const args = [opts.reference, '--models', [opts.models[0], ...opts.models].join(','), '--threads', String(opts.threads),
    '--batch', '32', '--steps', String(opts.steps)];
  progress(`torch: ${PYTHON} ${args.join(' ')}`);
  const r = spawnSync(PYTHON, args, {encoding: 'utf8'});
  if (r.status !== 0) {
    return {available: false, reason: `reference exited ${r.status}: ${(r.stderr || '').trim().split('\n').pop()}`};
  }
  const rows = r.stdout.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l) as TorchRow).slice(1);
  return {available: true, rows, command: `${PYTHON} ${args.join(' ')}`};
}
