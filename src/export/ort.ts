// ONNX models in onnxruntime-node, an optional dependency: loaded on first use, and a missing
// package is a one-line error that says how to add it.
import {readFileSync} from 'node:fs';
import {readFile} from 'node:fs/promises';
import {createRequire} from 'node:module';

import type * as Ort from 'onnxruntime-node';

import type {LogitsTeacher} from '../distill/index.js';
import {UsageError} from '../util/registry.js';
import {decodeModel} from './onnx_proto.js';

/** How to add the optional runtime (its install script would fetch a CUDA add-on from outside npm; skip keeps the CPU binaries it ships). */
export const ORT_INSTALL_HINT = 'ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node';

let ort: typeof Ort | undefined;

/** onnxruntime-node, or a UsageError saying how to install it. */
export function loadOrt(): typeof Ort {
  if (ort) return ort;
  try {
    ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
  } catch (e) {
    throw new UsageError(`onnxruntime-node is not installed (${(e as Error).message.split('\n')[0]}); add it with: ${ORT_INSTALL_HINT}`);
  }
  return ort;
}

/** Whether onnxruntime-node can be loaded. */
export function ortAvailable(): boolean {
  try {
    loadOrt();
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the CPU has VNNI (AVX512_VNNI or AVX_VNNI), from /proc/cpuinfo's flags; true where that
 * cannot be read (not x86-64 Linux). Without it onnxruntime's x86 int8 kernels run S8S8 through
 * AVX2's saturating u8×s8 pair sums, and full-range int8 weights saturate: measured on a 2-core
 * AMD EPYC (AVX2, no VNNI), an S8S8 QDQ conv-BN-ReLU model lost 3.7 points against float on the
 * embedded digits and 25% of its outputs were within one step of hafif's simulated int8, where
 * u8s8-reduce-range (7-bit weights) stayed within 1 point.
 */
export function cpuHasVnni(): boolean {
  let info: string;
  try {
    info = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return true;
  }
  const flags = /^flags\s*:(.*)$/m.exec(info);
  if (flags == null) return true;
  const set = new Set(flags[1].trim().split(/\s+/));
  return set.has('avx512_vnni') || set.has('avx_vnni') || !set.has('avx2');
}

export interface OnnxSessionOptions {
  /** Intra-op threads. @default 1 */
  readonly threads?: number;
  /** Write an ORT profile (JSON) with this path prefix. */
  readonly profilePrefix?: string;
  /** ORT graph optimization level. @default 'all' */
  readonly optimization?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** Static dimensions of a graph input or output; a symbolic dimension is null. */
export type Dims = readonly (number | null)[];

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0].trim();
}

/** A loaded ONNX model with one float input and one float output. */
export class OnnxModel {
  private constructor(
    readonly path: string,
    readonly session: Ort.InferenceSession,
    readonly inputName: string,
    readonly outputName: string,
    /** Input dims as declared, batch first (null = dynamic). */
    readonly inputDims: Dims,
    readonly outputDims: Dims,
    /** Bytes of the .onnx file. */
    readonly bytes: number,
    /** Number of weight values (initializers). */
    readonly params: number,
  ) {}

  /**
   * Loads FILE.onnx. A missing, corrupt or truncated file, or a model ORT rejects, is a UsageError
   * with one line naming the file.
   */
  static async load(file: string, options: OnnxSessionOptions = {}): Promise<OnnxModel> {
    const runtime = loadOrt();
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (e) {
      throw new UsageError(`cannot read ONNX model ${file}: ${firstLine(e)}`);
    }
    let proto;
    try {
      proto = decodeModel(bytes);
    } catch (e) {
      throw new UsageError(`${file} is not a valid ONNX model (${firstLine(e)}); is it corrupt or truncated?`);
    }
    const graph = proto.graph;
    if (!graph || !graph.node?.length) throw new UsageError(`${file} is not a valid ONNX model: it has no graph`);
    const initializers = graph.initializer ?? [];
    const inits = new Set(initializers.map((t) => t.name));
    const inputs = (graph.input ?? []).filter((i) => !inits.has(i.name));
    const outputs = graph.output ?? [];
    if (inputs.length !== 1 || outputs.length !== 1) {
      throw new UsageError(`${file}: expected one input and one output, got ${inputs.length} and ${outputs.length}`);
    }
    const dimsOf = (v: (typeof inputs)[number]): Dims =>
      (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : null));
    // Weights, not the scales and zero points of quantized tensors.
    const quantParams = new Set<string>();
    const paramSlots: Record<string, number[]> = {QuantizeLinear: [1, 2], DequantizeLinear: [1, 2], QLinearConv: [1, 2, 4, 5, 6, 7], QGemm: [1, 2, 4, 5, 7, 8]};
    for (const n of graph.node) for (const i of paramSlots[n.opType ?? ''] ?? []) if (n.input?.[i]) quantParams.add(n.input[i]);
    let params = 0;
    for (const t of initializers) if (!quantParams.has(t.name as string)) params += (t.dims ?? []).reduce((a: number, b) => a * Number(b), 1);
    const {threads = 1, profilePrefix, optimization = 'all'} = options;
    let session: Ort.InferenceSession;
    try {
      session = await runtime.InferenceSession.create(bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: optimization,
        logSeverityLevel: 3, // errors only: ORT's warnings are not the user's business
        ...(profilePrefix ? {enableProfiling: true, profileFilePrefix: profilePrefix} : {}),
      });
    } catch (e) {
      throw new UsageError(`onnxruntime cannot load ${file}: ${firstLine(e)}`);
    }
    return new OnnxModel(file, session, inputs[0].name as string, outputs[0].name as string, dimsOf(inputs[0]),
      dimsOf(outputs[0]), bytes.length, params);
  }

  /** Per-example input shape (after the batch). */
  get exampleShape(): Dims {
    return this.inputDims.slice(1);
  }

  /** Checks that the model takes examples of `shape` and outputs `classes` values each. */
  checkFits(shape: readonly number[], classes: number, what = this.path): void {
    const got = this.exampleShape;
    if (got.length !== shape.length || got.some((d, i) => d !== null && d !== shape[i])) {
      throw new UsageError(`${what} expects inputs of shape [${got.map((d) => d ?? '?')}], but the dataset's examples are [${shape}]`);
    }
    const out = this.outputDims;
    if (out.length !== 2 || (out[1] !== null && out[1] !== classes)) {
      throw new UsageError(`${what} outputs shape [${out.map((d) => d ?? '?')}], but the dataset has ${classes} classes (expected [?, ${classes}])`);
    }
  }

  /** Runs one batch: `x` holds `n` examples of exampleShape; returns the flat output. */
  async run(x: Float32Array, n: number): Promise<Float32Array> {
    const runtime = loadOrt();
    const shape = [n, ...this.exampleShape.map((d) => d ?? 1)];
    const input = new runtime.Tensor('float32', x, shape);
    try {
      const out = await this.session.run({[this.inputName]: input});
      const t = out[this.outputName];
      const data = t.data as Float32Array;
      t.dispose?.();
      return data;
    } catch (e) {
      throw new UsageError(`onnxruntime failed to run ${this.path} on a batch of shape [${shape}]: ${firstLine(e)}`);
    } finally {
      input.dispose?.();
    }
  }

  /** Outputs for all `count` examples of `x`, in batches. */
  async predict(x: Float32Array, count: number, batchSize = 256): Promise<Float32Array> {
    const per = x.length / count;
    const chunks: Float32Array[] = [];
    let total = 0;
    for (let s = 0; s < count; s += batchSize) {
      const e = Math.min(s + batchSize, count);
      const y = await this.run(x.subarray(s * per, e * per), e - s);
      chunks.push(y);
      total += y.length;
    }
    const out = new Float32Array(total);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }

  /** Ends profiling, returning the profile's file name (if profiling was on). */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** Softmax cross-entropy and accuracy of `logits` ([n, k] flat) against class indices. */
export function logitMetrics(logits: Float32Array, labels: ArrayLike<number>, k: number): {loss: number; accuracy: number} {
  const n = labels.length;
  if (logits.length !== n * k) throw new Error(`logitMetrics: ${logits.length} logits for ${n}×${k}`);
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = logits.subarray(i * k, (i + 1) * k);
    let max = -Infinity;
    let arg = 0;
    for (let j = 0; j < k; j++) if (row[j] > max) { max = row[j]; arg = j; }
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(row[j] - max);
    loss += Math.log(sum) + max - row[labels[i]];
    if (arg === labels[i]) correct++;
  }
  return {loss: n ? loss / n : NaN, accuracy: n ? correct / n : NaN};
}

/** Test metrics of an ONNX classifier that outputs logits, and its speed over the same data. */
export interface OnnxEvaluation {
  readonly loss: number;
  readonly accuracy: number;
  readonly imagesPerSecond: number;
}

/**
 * Accuracy and cross-entropy of `model` on `count` examples (`images` flat, `labels` class indices),
 * timed over the run (after one warm-up batch).
 */
export async function evaluateOnnx(model: OnnxModel, images: Float32Array, labels: ArrayLike<number>, classes: number,
  batchSize = 256): Promise<OnnxEvaluation> {
  const count = labels.length;
  const per = images.length / Math.max(count, 1);
  await model.run(images.subarray(0, Math.min(batchSize, count) * per), Math.min(batchSize, count));
  const t0 = performance.now();
  const logits = await model.predict(images, count, batchSize);
  const seconds = (performance.now() - t0) / 1000;
  return {...logitMetrics(logits, labels, classes), imagesPerSecond: count / Math.max(seconds, 1e-9)};
}

/**
 * An ONNX classifier (outputting logits) as a Distiller teacher: the Distiller runs it once per
 * training example and caches its logits.
 * @example new Distiller({teacher: onnxTeacher(await OnnxModel.load('teacher.onnx')), student});
 */
export function onnxTeacher(model: OnnxModel, batchSize = 256): LogitsTeacher {
  const shape = model.exampleShape;
  const classes = model.outputDims[1];
  if (shape.some((d) => d === null) || model.outputDims.length !== 2 || classes == null) {
    throw new UsageError(`${model.path}: a teacher needs a fixed example shape and [?, classes] logits, got [${model.inputDims}] → [${model.outputDims}]`);
  }
  return {
    inputShape: shape as number[],
    numClasses: classes,
    logits: (x, count) => model.predict(x, count, batchSize),
  };
}
