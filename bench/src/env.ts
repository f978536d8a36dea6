// The backends under test and the machine they run on.
import os from 'node:os';
import {readFileSync, writeFileSync} from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

import {addon, addonError, nativeAvailable, useBackend} from '../../dist/backend/index.js';
import {nativeKernelConfigs} from '../../dist/backend/register_all_kernels.js';

export type Backend = 'native' | 'cpu';

export {addon, addonError};

/** True when the native addon loaded and its backend is registered. */
export const hasNative: boolean = nativeAvailable();

/** Makes `name` the active backend (never falls back silently: the caller checks `hasNative`). */
export function setBackend(name: Backend): void {
  useBackend(name, {strict: true});
}

const ours = new Set(nativeKernelConfigs.map((k) => k.kernelName));

/** True when `kernelName` runs hafif's own kernel on `native`, false when it is the cpu backend's. */
export function isNativeKernel(kernelName: string): boolean {
  return hasNative && ours.has(kernelName);
}

/** Names of the kernels `native` implements itself, sorted. */
export function nativeKernelNames(): string[] {
  if (!hasNative) return [];
  return [...ours].sort();
}

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly os: string;
  readonly node: string;
  readonly tfjs: string;
  readonly native: boolean;
  readonly nativeError: string | null;
  readonly gemmImpl: string;
  readonly isa: string;
  readonly hasBlas: boolean;
  readonly nativeThreads: number | null;
  readonly nativeKernels: string[];
  readonly date: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    tfjs: tf.version_core,
    native: hasNative,
    nativeError: hasNative ? null : addonError,
    gemmImpl: addon ? addon.gemmImpl() : 'none',
    isa: addon ? addon.isa() : 'none',
    hasBlas: addon ? addon.hasBlas : false,
    nativeThreads: addon ? addon.numThreads() : null,
    nativeKernels: nativeKernelNames(),
    date: new Date().toISOString(),
  };
}

/** One line naming the machine, for the top of every table. */
export function machineLine(m: MachineInfo): string {
  const gemm = m.native ? `isa ${m.isa}, gemm ${m.gemmImpl}${m.hasBlas ? ' (BLAS built in)' : ' (no BLAS)'}, ${m.nativeThreads} native threads`
    : `native unavailable: ${m.nativeError}`;
  return `${m.cpu} × ${m.cores} cores, ${m.os}, node ${m.node}, tfjs ${m.tfjs}, ${gemm}`;
}

/** Peak resident set size (VmHWM) in bytes, or null off Linux. */
export function peakRss(): number | null {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0); false when that is not possible. */
export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
