// `hafif info`: which backend hafif runs on and what the native addon is (for install checks).
import {Command} from 'commander';
import * as tf from '@tensorflow/tfjs-core';

import {addon, addonError, addonFile, useBackend} from '../backend/index.js';

export interface Info {
  readonly backend: string;
  readonly addon: string | null;
  readonly addonError: string | null;
  readonly isa: string | null;
  readonly threads: number | null;
  readonly gemm: string | null;
  readonly blas: boolean | null;
}

export function info(): Info {
  useBackend('native');
  const isa = addon?.isa() ?? null;
  return {
    backend: tf.getBackend(),
    addon: addonFile,
    addonError,
    isa,
    threads: addon?.numThreads() ?? null,
    gemm: addon?.gemmImpl() ?? null,
    blas: addon?.hasBlas ?? null,
  };
}

export function infoCommand(): Command {
  return new Command('info')
    .description('the backend hafif runs on and the native addon it loaded')
    .option('--json', 'print machine-readable JSON on stdout')
    .action((flags: {json?: boolean}) => {
      const i = info();
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(i)}\n`);
      } else if (i.addon != null) {
        process.stdout.write(`backend ${i.backend}: ${i.addon}, isa ${i.isa ?? '?'}, ${i.threads} threads, ` +
          `gemm ${i.gemm}${i.blas ? ' (OpenBLAS linked)' : ''}\n`);
      } else {
        process.stdout.write(`backend ${i.backend}: no native addon (${i.addonError})\n`);
      }
    });
}
