// Checkpoints of a training run: the model's weights (batch-norm statistics included), the
// optimizer's state, the loop's position and history. One file per checkpoint, written
// atomically (temporary file, fsync, rename); the previous one is kept until the new one is
// complete, and a corrupt newest file falls back to the one before.
//
// File layout: "HAFIFCK1", uint32 LE header length, the header (UTF-8 JSON), then the tensors'
// bytes in header order. The header holds the sha256 of those bytes.
import {createHash} from 'node:crypto';
import {readdir, readFile, rm} from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {writeFileAtomic} from '../util/atomic.js';
import {UsageError} from '../util/registry.js';
import {trainableVariables} from './engine.js';
import type {Callback, CallbackContext, TrainPosition} from './engine.js';
import {restoreOptimizerState, saveOptimizerState} from './optimizer_state.js';
import type {SavedOptimizerState} from './optimizer_state.js';

const MAGIC = 'HAFIFCK1';
const FILE = /^ckpt-(\d{12})\.bin$/;

/** What identifies a run: a checkpoint only resumes the run it came from. */
export type RunIdentity = Readonly<Record<string, string | number | boolean | null>>;

interface TensorEntry {
  readonly name: string;
  readonly dtype: 'float32' | 'int32';
  readonly shape: readonly number[];
}

interface Header {
  readonly format: 'hafif-checkpoint';
  readonly version: 1;
  readonly identity: RunIdentity;
  readonly position: TrainPosition;
  readonly optimizer: {readonly className: string; readonly names: readonly string[]};
  readonly tensors: readonly TensorEntry[];
  readonly sha256: string;
}

/** A checkpoint read back: apply it with {@link restoreCheckpoint}. */
export interface Checkpoint {
  readonly file: string;
  readonly identity: RunIdentity;
  readonly position: TrainPosition;
  readonly weights: readonly {readonly shape: readonly number[]; readonly values: Float32Array}[];
  readonly optimizer: SavedOptimizerState;
}

/** Writes the run's state at `position` into `dir` as the newest checkpoint; keeps `keep` files. */
export async function saveCheckpoint(
  dir: string,
  run: {readonly model: tfl.LayersModel; readonly optimizer: tf.Optimizer; readonly identity: RunIdentity; readonly position: TrainPosition},
  keep = 2,
): Promise<string> {
  const weights = run.model.weights.map((w) => w.read());
  const opt = await saveOptimizerState(run.optimizer, trainableVariables(run.model));
  const tensors: TensorEntry[] = [];
  const chunks: Uint8Array[] = [];
  weights.forEach((w, i) => {
    if (w.dtype !== 'float32') throw new Error(`checkpoint: weight ${i} is ${w.dtype}, expected float32`);
    tensors.push({name: `weight/${i}`, dtype: 'float32', shape: w.shape});
    chunks.push(bytesOf(w.dataSync() as Float32Array));
  });
  for (const e of opt.entries) {
    tensors.push({name: `optimizer/${e.name}`, dtype: e.dtype === 'int32' ? 'int32' : 'float32', shape: e.shape});
    chunks.push(bytesOf(e.dtype === 'int32' ? Int32Array.from(e.values) : Float32Array.from(e.values)));
  }
  const data = Buffer.concat(chunks);
  const header: Header = {
    format: 'hafif-checkpoint',
    version: 1,
    identity: run.identity,
    position: run.position,
    optimizer: {className: opt.className, names: opt.entries.map((e) => e.name)},
    tensors,
    sha256: createHash('sha256').update(data).digest('hex'),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  const file = path.join(dir, `ckpt-${String(run.position.step).padStart(12, '0')}.bin`);
  await writeFileAtomic(file, Buffer.concat([Buffer.from(MAGIC, 'latin1'), len, json, data]));
  const older = (await listCheckpoints(dir)).filter((f) => f !== file);
  for (const f of older.slice(Math.max(keep - 1, 0))) await rm(f, {force: true});
  return file;
}

function bytesOf(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Checkpoint files in `dir`, newest (highest step) first; none when `dir` does not exist. */
export async function listCheckpoints(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.filter((n) => FILE.test(n)).sort().reverse().map((n) => path.join(dir, n));
}

/** Parses one checkpoint file; throws a UsageError naming the file and what is wrong. */
export async function readCheckpoint(file: string): Promise<Checkpoint> {
  const bytes = await readFile(file);
  const bad = (what: string) => new UsageError(`${file}: not a usable checkpoint: ${what}`);
  if (bytes.length < 12 || bytes.subarray(0, 8).toString('latin1') !== MAGIC) throw bad('no hafif checkpoint header');
  const len = bytes.readUInt32LE(8);
  if (12 + len > bytes.length) throw bad(`truncated, header needs ${12 + len} bytes, file has ${bytes.length}`);
  let header: Header;
  try {
    header = JSON.parse(bytes.subarray(12, 12 + len).toString('utf8')) as Header;
  } catch {
    throw bad('corrupt header');
  }
  if (header.format !== 'hafif-checkpoint' || header.version !== 1) throw bad(`format ${header.format} v${header.version}`);
  const data = bytes.subarray(12 + len);
  let expected = 0;
  for (const t of header.tensors) expected += 4 * t.shape.reduce((a, b) => a * b, 1);
  if (data.length !== expected) throw bad(`truncated, expected ${expected} data bytes, got ${data.length}`);
  if (createHash('sha256').update(data).digest('hex') !== header.sha256) throw bad('checksum mismatch');
  const weights: {shape: readonly number[]; values: Float32Array}[] = [];
  const entries: SavedOptimizerState['entries'][number][] = [];
  let offset = 0;
  for (const t of header.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const raw = data.subarray(offset, offset + 4 * n);
    offset += 4 * n;
    const copy = new Uint8Array(raw); // aligned copy
    const values = t.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
    if (t.name.startsWith('weight/')) weights.push({shape: t.shape, values: values as Float32Array});
    else entries.push({name: t.name.slice('optimizer/'.length), shape: t.shape, dtype: t.dtype, values});
  }
  return {
    file,
    identity: header.identity,
    position: header.position,
    weights,
    optimizer: {className: header.optimizer.className, entries},
  };
}

/**
 * The newest readable checkpoint in `dir`, or null when there is none. A corrupt or truncated
 * newer file is skipped and reported through `onWarning`; if every file is unreadable, the
 * newest file's error is thrown.
 */
export async function latestCheckpoint(dir: string, onWarning?: (message: string) => void): Promise<Checkpoint | null> {
  const files = await listCheckpoints(dir);
  let first: unknown = null;
  for (const f of files) {
    try {
      return await readCheckpoint(f);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      first ??= e;
      onWarning?.(`${e.message}; falling back to the previous checkpoint`);
    }
  }
  if (first != null) throw first;
  return null;
}

/** Throws a UsageError naming the first field where the checkpoint's run differs from this one. */
export function checkIdentity(saved: RunIdentity, current: RunIdentity, where: string): void {
  const keys = new Set([...Object.keys(saved), ...Object.keys(current)]);
  for (const k of keys) {
    if (saved[k] !== current[k]) {
      throw new UsageError(`${where} is of another run: ${k} is ${JSON.stringify(saved[k])} there, ${JSON.stringify(current[k])} here`);
    }
  }
}

/** Loads a checkpoint's weights into `model` and its state into `optimizer`; returns where to resume. */
export async function restoreCheckpoint(ckpt: Checkpoint, model: tfl.LayersModel, optimizer: tf.Optimizer): Promise<TrainPosition> {
  const weights = model.weights;
  if (weights.length !== ckpt.weights.length) {
    throw new UsageError(`${ckpt.file}: holds ${ckpt.weights.length} weights, the model has ${weights.length}`);
  }
  weights.forEach((w, i) => {
    const s = ckpt.weights[i].shape;
    if (s.length !== w.shape.length || s.some((d, j) => d !== w.shape[j])) {
      throw new UsageError(`${ckpt.file}: weight ${i} (${w.name}) has shape [${s}] there, [${w.shape}] in the model`);
    }
  });
  const values = ckpt.weights.map((w) => tf.tensor(w.values, [...w.shape], 'float32'));
  try {
    model.setWeights(values);
  } finally {
    tf.dispose(values);
  }
  await restoreOptimizerState(optimizer, trainableVariables(model), ckpt.optimizer);
  return ckpt.position;
}

/** Options of {@link checkpointCallback}. */
export interface CheckpointCallbackOptions {
  readonly dir: string;
  readonly identity: RunIdentity;
  /** Also save every N optimizer steps. */
  readonly everySteps?: number;
  /** Save at every epoch's end. @default true */
  readonly everyEpoch?: boolean;
  /** Checkpoint files kept. @default 2 */
  readonly keep?: number;
  /** Called with each file written. */
  readonly onSaved?: (file: string, position: TrainPosition) => void;
}

/**
 * Saves checkpoints at epoch ends, every N steps and when the run is aborted (its position then
 * is the next step), so that a resumed run continues exactly where this one stopped.
 */
export function checkpointCallback(options: CheckpointCallbackOptions): Callback {
  const {dir, identity, everySteps, everyEpoch = true, keep = 2, onSaved} = options;
  if (everySteps !== undefined && !(Number.isInteger(everySteps) && everySteps >= 1)) {
    throw new UsageError(`checkpoint-every must be a positive integer, got ${everySteps}`);
  }
  let lastStep = -1;
  const save = async (ctx: CallbackContext) => {
    const position = ctx.position();
    if (position.step === lastStep && position.batch !== 0) return;
    lastStep = position.step;
    const file = await saveCheckpoint(dir, {model: ctx.model, optimizer: ctx.optimizer, identity, position}, keep);
    onSaved?.(file, position);
  };
  return {
    async onBatchEnd(ctx) {
      if (everySteps !== undefined && (ctx.step % everySteps === 0)) await save(ctx);
    },
    async onEpochEnd(ctx) {
      if (everyEpoch) await save(ctx);
    },
    async onTrainEnd(ctx) {
      if (ctx.aborted) await save(ctx);
    },
  };
}
