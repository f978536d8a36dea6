// `file://` model saving and loading in Node, as @tensorflow/tfjs-node registers it:
// model.save('file://DIR') writes DIR/model.json and DIR/weights.bin; tfl.loadLayersModel('file://DIR/model.json')
// reads them back.
import {randomBytes} from 'node:crypto';
import {promises as fs} from 'node:fs';
import * as path from 'node:path';
import {gzipSync} from 'node:zlib';

import * as tf from '@tensorflow/tfjs-core';

import {UsageError} from '../util/registry.js';
import {checkWeightSpec, storedBytes} from './weight_specs.js';

type IOHandler = tf.io.IOHandler;
type ModelArtifacts = tf.io.ModelArtifacts;
type ModelJSON = tf.io.ModelJSON;
type SaveResult = tf.io.SaveResult;
type WeightsManifestConfig = tf.io.WeightsManifestConfig;
type WeightsManifestEntry = tf.io.WeightsManifestEntry;

export const FILE_SCHEME = 'file://';
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/**
 * A tfjs IOHandler for a model directory (saving) or a model.json file or its directory (loading).
 * @example await model.save(fileSystem('out/student'));
 */
export function fileSystem(target: string): IOHandler {
  return {
    save: (artifacts) => saveModel(target, artifacts),
    load: () => loadModel(target),
  };
}

/** The router tfjs consults for `file://` URLs, for both saving and loading. */
export function fileRouter(url: string | string[]): IOHandler | null {
  if (Array.isArray(url)) return url.length === 1 ? fileRouter(url[0]) : null;
  if (typeof url !== 'string' || !url.startsWith(FILE_SCHEME)) return null;
  return fileSystem(url.slice(FILE_SCHEME.length));
}

const REGISTERED = Symbol.for('hafif.io.fileRouters');

/**
 * Registers the `file://` routers once per process (tfjs rejects a URL that two load routers
 * claim, so a second registration would break loading).
 */
export function registerFileRouters(): void {
  const g = globalThis as {[REGISTERED]?: boolean};
  if (g[REGISTERED]) return;
  // tfjs' IORouter type leaves out the null its registry reads as "not my URL".
  const router = fileRouter as Parameters<typeof tf.io.registerSaveRouter>[0];
  tf.io.registerSaveRouter(router);
  tf.io.registerLoadRouter(router);
  g[REGISTERED] = true;
}

/** Files that may sit beside a saved model and travel with it (quantization.json: int8 calibration). */
export const SIDE_FILES: readonly string[] = ['quantization.json'];

/** Options of {@link saveModel}. */
export interface SaveOptions {
  /** Files written into the directory with the model, in the same atomic swap; names from {@link SIDE_FILES}. */
  readonly extraFiles?: Readonly<Record<string, string | Uint8Array>>;
}

/**
 * Writes model.json and weights.bin into a temporary directory beside `dir`, then renames it to
 * `dir`. An existing `dir` is replaced only if it holds nothing but a saved model, and only once
 * the new files are complete; on any failure `dir` is left as it was and no temporary remains.
 */
export async function saveModel(dir: string, artifacts: ModelArtifacts, options: SaveOptions = {}): Promise<SaveResult> {
  const extra = Object.entries(options.extraFiles ?? {});
  for (const [name] of extra) {
    if (!SIDE_FILES.includes(name)) throw new Error(`saveModel: extra file "${name}" is not one of ${SIDE_FILES.join(', ')}`);
  }
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new UsageError(`cannot save to ${dir}: binary model topologies are not supported, only JSON`);
  }
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  await checkReplaceable(target);
  await fs.mkdir(parent, {recursive: true});
  const tmp = await fs.mkdtemp(path.join(parent, `.${path.basename(target)}.tmp-`));
  try {
    const weightData = artifacts.weightData == null ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
    await writeDurably(path.join(tmp, WEIGHTS_BIN), new Uint8Array(weightData));
    for (const [name, data] of extra) await writeDurably(path.join(tmp, name), data);
    await writeDurably(path.join(tmp, MODEL_JSON), JSON.stringify(modelJSON(artifacts)));
    await replaceDir(tmp, target);
  } catch (e) {
    await fs.rm(tmp, {recursive: true, force: true});
    throw e;
  }
  return {modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts)};
}

/** model.json's content, in the layout tfjs-node and tfjs' http loader read. */
function modelJSON(artifacts: ModelArtifacts): ModelJSON {
  const json: ModelJSON = {
    modelTopology: artifacts.modelTopology as {},
    weightsManifest: [{paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? []}],
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
  };
  if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig;
  if (artifacts.signature != null) json.signature = artifacts.signature;
  if (artifacts.userDefinedMetadata != null) json.userDefinedMetadata = artifacts.userDefinedMetadata;
  if (artifacts.modelInitializer != null) json.modelInitializer = artifacts.modelInitializer;
  if (artifacts.initializerSignature != null) json.initializerSignature = artifacts.initializerSignature;
  return json;
}

/**
 * The run state `hafif train` and `hafif distill` keep beside the model they write (run.json and
 * the phase's checkpoints); replaced with the model once the phase is done.
 */
const RUN_STATE: readonly string[] = ['run.json', 'checkpoints'];

/** Files a saved model directory may hold; anything else means `dir` is not ours to replace. */
function isModelFile(name: string): boolean {
  return name === MODEL_JSON || /\.bin$/.test(name) || SIDE_FILES.includes(name) || RUN_STATE.includes(name);
}

async function checkReplaceable(target: string): Promise<void> {
  const st = await fs.lstat(target).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (st == null) return;
  if (!st.isDirectory()) throw new UsageError(`cannot save to ${target}: it exists and is not a directory`);
  const foreign = (await fs.readdir(target)).filter((n) => !isModelFile(n));
  if (foreign.length > 0) {
    throw new UsageError(
      `refusing to replace ${target}: it holds files other than a saved model (${foreign.slice(0, 3).join(', ')})`,
    );
  }
}

async function writeDurably(file: string, data: Uint8Array | string): Promise<void> {
  const handle = await fs.open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Moves `tmp` to `target`, swapping out an existing `target` and restoring it if the move fails. */
async function replaceDir(tmp: string, target: string): Promise<void> {
  try {
    await fs.rename(tmp, target);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Renaming onto an existing directory: ENOTEMPTY/EEXIST on POSIX, EPERM on Windows.
    const occupied = code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EISDIR';
    if (!occupied && !(code === 'EPERM' && process.platform === 'win32')) throw e;
  }
  const old = path.join(path.dirname(target), `.${path.basename(target)}.old-${randomBytes(4).toString('hex')}`);
  await fs.rename(target, old);
  try {
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rename(old, target);
    throw e;
  }
  await fs.rm(old, {recursive: true, force: true});
}

/**
 * Reads a model saved by {@link saveModel} (or tfjs-node, or the tfjs converter): `file` is
 * model.json or its directory. Weight files must lie in model.json's directory or below it.
 */
export async function loadModel(file: string): Promise<ModelArtifacts> {
  let jsonPath = path.resolve(file);
  const st = await fs.stat(jsonPath).catch(() => null);
  if (st == null) throw new UsageError(`cannot load a model from ${jsonPath}: no such file or directory`);
  if (st.isDirectory()) jsonPath = path.join(jsonPath, MODEL_JSON);
  const text = await fs.readFile(jsonPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${jsonPath}: ${e.code ?? e.message}`);
  });
  let json: ModelJSON;
  try {
    json = JSON.parse(text) as ModelJSON;
  } catch (e) {
    throw new UsageError(`${jsonPath}: not valid JSON (${(e as Error).message})`);
  }
  if (json == null || typeof json !== 'object' || json.modelTopology == null) {
    throw new UsageError(`${jsonPath}: not a tfjs model.json (no modelTopology)`);
  }
  const dir = path.dirname(jsonPath);
  return tf.io.getModelArtifactsForJSON(json, (manifest) => loadWeights(manifest, dir, jsonPath));
}

async function loadWeights(
  manifest: WeightsManifestConfig,
  dir: string,
  jsonPath: string,
): Promise<[WeightsManifestEntry[], ArrayBuffer]> {
  const specs: WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  const realDir = await fs.realpath(dir);
  if (!Array.isArray(manifest)) throw new UsageError(`${jsonPath}: weightsManifest must be an array, got ${typeof manifest}`);
  for (const group of manifest) {
    if (group == null || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new UsageError(`${jsonPath}: each weightsManifest group needs "paths" and "weights" arrays`);
    }
    for (const w of group.weights) checkWeightSpec(w, jsonPath);
    for (const p of group.paths) {
      const file = await insideDir(p, dir, realDir, jsonPath);
      const buf = await fs.readFile(file).catch((e: NodeJS.ErrnoException) => {
        throw new UsageError(`${jsonPath}: cannot read weight file "${p}": ${e.code ?? e.message}`);
      });
      buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
    }
    specs.push(...group.weights);
  }
  const data = tf.io.CompositeArrayBuffer.join(buffers);
  const sizes = specs.map(storedBytes);
  if (sizes.every((b) => b !== undefined)) {
    const expected = sizes.reduce((a: number, b) => a + (b as number), 0);
    if (expected !== data.byteLength) {
      throw new UsageError(`${jsonPath}: the weight files hold ${data.byteLength} bytes, but the manifest describes ${expected}`);
    }
  }
  return [specs, data];
}

/** The absolute path of weight path `p`, which must name a file inside `dir` (also after symlinks). */
async function insideDir(p: string, dir: string, realDir: string, jsonPath: string): Promise<string> {
  const refuse = () =>
    new UsageError(`${jsonPath}: weight path "${p}" points outside the model's directory ${dir}; refusing to read it`);
  if (typeof p !== 'string' || p === '' || p.includes('\0') || path.isAbsolute(p) || path.win32.isAbsolute(p)) {
    throw refuse();
  }
  const file = path.resolve(dir, p);
  if (!isWithin(dir, file)) throw refuse();
  const real = await fs.realpath(file).catch(() => file);
  if (!isWithin(realDir, real)) throw refuse();
  return file;
}

function isWithin(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** What a saved model occupies on disk. */
export interface ModelFiles {
  /** model.json's bytes. */
  readonly jsonBytes: number;
  /** The weight files' bytes, all shards. */
  readonly weightBytes: number;
  /** jsonBytes + weightBytes. */
  readonly bytes: number;
  /** Bytes of model.json followed by the weight files, gzipped at level 9 (TFMOT's size measure, zip → gzip). */
  readonly gzipBytes: number;
  /** The manifest's weight entries, in order (checked as {@link loadModel} checks them). */
  readonly weightSpecs: readonly WeightsManifestEntry[];
}

/**
 * Sizes of the model saved in `file` (model.json or its directory), read from the files.
 * @example (await modelFiles('out/student')).gzipBytes
 */
export async function modelFiles(file: string): Promise<ModelFiles> {
  const artifacts = await loadModel(file);
  let jsonPath = path.resolve(file);
  if ((await fs.stat(jsonPath)).isDirectory()) jsonPath = path.join(jsonPath, MODEL_JSON);
  const json = await fs.readFile(jsonPath);
  const weights = artifacts.weightData == null ? new Uint8Array(0) : new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const gz = gzipSync(Buffer.concat([json, weights]), {level: 9});
  return {
    jsonBytes: json.byteLength,
    weightBytes: weights.byteLength,
    bytes: json.byteLength + weights.byteLength,
    gzipBytes: gz.byteLength,
    weightSpecs: artifacts.weightSpecs ?? [],
  };
}
