// What a run ran on, recorded in results.json so the report can show it.
import {createRequire} from 'node:module';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';

import {addon} from '../backend/index.js';

const require = createRequire(import.meta.url);

/** A shell-safe rendering of argv, to paste back into a terminal. */
export function commandLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Backend, versions, machine, threads and the command line of this process. */
export function environment(backend: string): Record<string, string | number> {
  const cpus = os.cpus();
  const env: Record<string, string | number> = {
    backend,
    hafif: (require('../../package.json') as {version: string}).version,
    tfjs: tf.version_core,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
  };
  if (backend === 'native' && addon != null) {
    env.threads = addon.numThreads();
    env.gemm = addon.gemmImpl();
  }
  env.command = commandLine(['hafif', ...process.argv.slice(2)]);
  env.date = new Date().toISOString();
  return env;
}
