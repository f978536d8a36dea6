// int8 ONNX: the calibration file (quantization.json, written by `hafif quantize`), an on-the-spot
// min/max calibration in the same schema for a model that has none, and the Quantizer that writes
// QuantizeLinear/DequantizeLinear (QDQ) pairs, per-channel symmetric int8 weights and int32 biases.
import {createHash} from 'node:crypto';
import {readFile} from 'node:fs/promises';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {UsageError} from '../util/registry.js';
import type {Quantizer, Value} from './convert.js';
import {DataType, type GraphBuilder, type NodeProto} from './onnx_proto.js';

/** One per-tensor affine range (INTERFACES §2). */
export interface ActivationRange {
  readonly min: number;
  readonly max: number;
  readonly scale: number;
  readonly zeroPoint: number;
}

/** quantization.json, version 1. */
export interface QuantizationFile {
  readonly format: 'hafif-quantization';
  readonly version: 1;
  readonly model: {readonly inputShape: readonly number[]; readonly layers: readonly string[]; readonly weightsSha256: string};
  readonly calibration: {readonly method: 'minmax' | 'percentile' | 'mse'; readonly percentile?: number; readonly examples: number; readonly dataset: string};
  readonly input: ActivationRange;
  readonly activations: Readonly<Record<string, ActivationRange>>;
  readonly weights: Readonly<Record<string, {readonly axis: number; readonly scales: readonly number[]}>>;
}

export const QUANTIZATION_JSON = 'quantization.json';

/** Per-tensor asymmetric int8 parameters of [min, max] (min ≤ 0 ≤ max enforced), as INTERFACES §2 defines them. */
export function int8Range(lo: number, hi: number): ActivationRange {
  const min = Math.min(lo, 0);
  const max = Math.max(hi, 0);
  const scale = max > min ? (max - min) / 255 : 1;
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - min / scale)));
  return {min, max, scale, zeroPoint};
}

/** sha256 of a saved model's weight bytes (its shards concatenated in manifest order). */
export async function weightsSha256(modelDir: string): Promise<string> {
  const jsonPath = modelDir.endsWith('.json') ? modelDir : path.join(modelDir, 'model.json');
  const json = JSON.parse(await readFile(jsonPath, 'utf8')) as {weightsManifest: {paths: string[]}[]};
  const hash = createHash('sha256');
  for (const group of json.weightsManifest) for (const p of group.paths) hash.update(await readFile(path.join(path.dirname(jsonPath), p)));
  return hash.digest('hex');
}

/**
 * Min/max calibration of every layer's output on `x` (host NHWC batch), in quantization.json's
 * schema. Stands in for `hafif quantize --dtype int8` where a model has no saved calibration.
 */
export function calibrateMinMax(model: tfl.LayersModel, x: tf.Tensor, info: {weightsSha256: string; dataset: string}, batchSize = 128): QuantizationFile {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const probe = tfl.model({inputs: model.inputs, outputs: layers.map((l) => l.output as tfl.SymbolicTensor)});
  const lo = new Array<number>(layers.length).fill(Infinity);
  const hi = new Array<number>(layers.length).fill(-Infinity);
  const n = x.shape[0];
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(s + batchSize, n);
    const ranges = tf.tidy(() => {
      const xb = tf.slice(x, s, e - s);
      const outs = probe.predict(xb) as tf.Tensor | tf.Tensor[];
      return (Array.isArray(outs) ? outs : [outs]).map((t) => [tf.min(t).dataSync()[0], tf.max(t).dataSync()[0]]);
    });
    ranges.forEach(([a, b], i) => {
      lo[i] = Math.min(lo[i], a);
      hi[i] = Math.max(hi[i], b);
    });
  }
  const inLo = tf.tidy(() => tf.min(x).dataSync()[0]);
  const inHi = tf.tidy(() => tf.max(x).dataSync()[0]);
  const activations: Record<string, ActivationRange> = {};
  layers.forEach((l, i) => (activations[l.name] = int8Range(lo[i], hi[i])));
  const weights: Record<string, {axis: number; scales: number[]}> = {};
  for (const l of layers) {
    const cls = l.getClassName();
    if (cls !== 'Conv2D' && cls !== 'Dense' && cls !== 'DepthwiseConv2D') continue;
    const k = l.getWeights()[0];
    const shape = k.shape as number[];
    const data = k.dataSync();
    const channels = cls === 'DepthwiseConv2D' ? shape[2] * shape[3] : shape[shape.length - 1];
    const scales = new Array<number>(channels).fill(0);
    for (let i = 0; i < data.length; i++) scales[i % channels] = Math.max(scales[i % channels], Math.abs(data[i]));
    weights[l.name] = {axis: cls === 'DepthwiseConv2D' ? 2 : shape.length - 1, scales: scales.map((m) => (m > 0 ? m / 127 : 1))};
  }
  return {
    format: 'hafif-quantization',
    version: 1,
    model: {inputShape: model.inputs[0].shape.slice(1) as number[], layers: layers.map((l) => l.name), weightsSha256: info.weightsSha256},
    calibration: {method: 'minmax', examples: n, dataset: info.dataset},
    input: int8Range(inLo, inHi),
    activations,
    weights,
  };
}

/** Reads quantization.json and checks that it belongs to `model` (weights hash and layer names). */
export async function readQuantization(file: string, model: tfl.LayersModel, sha256: string): Promise<QuantizationFile> {
  let q: QuantizationFile;
  try {
    q = JSON.parse(await readFile(file, 'utf8')) as QuantizationFile;
  } catch (e) {
    throw new UsageError(`cannot read calibration ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (q?.format !== 'hafif-quantization' || q.version !== 1) {
    throw new UsageError(`${file}: expected format "hafif-quantization" version 1, got ${JSON.stringify(q?.format)} version ${JSON.stringify(q?.version)}`);
  }
  if (q.model?.weightsSha256 !== sha256) {
    throw new UsageError(`${file} was calibrated for another model: its weightsSha256 is ${q.model?.weightsSha256}, the model's weights hash to ${sha256}`);
  }
  const names = new Set(model.layers.map((l) => l.name));
  const stray = Object.keys(q.activations ?? {}).filter((n) => !names.has(n));
  if (stray.length) throw new UsageError(`${file}: activations for layers the model does not have: ${stray.slice(0, 3).join(', ')}`);
  return q;
}

/** Which integer types the QDQ model uses: S8S8 (int8 activations and weights) or U8S8 with 7-bit weights (reduce-range). */
export type Int8Scheme = 's8s8' | 'u8s8-reduce-range';

/** A Quantizer writing QDQ: Q→DQ on activations with a calibrated range, DQ on int8 weights and int32 biases. */
export function qdqQuantizer(q: QuantizationFile, scheme: Int8Scheme = 's8s8'): Quantizer {
  const u8 = scheme === 'u8s8-reduce-range';
  const wMax = u8 ? 63 : 127;
  let lastWeightScales: Float32Array | null = null;
  const actParams = (r: ActivationRange): {scale: number; zp: number} => {
    if (!u8) return {scale: r.scale, zp: r.zeroPoint};
    const scale = r.max > r.min ? (r.max - r.min) / 255 : 1;
    return {scale, zp: Math.max(0, Math.min(255, Math.round(-r.min / scale)))};
  };
  const zpArray = (zp: number) => (u8 ? Uint8Array.of(zp) : Int8Array.of(zp));
  return {
    weight(g: GraphBuilder, base: string, data: Float32Array, dims: readonly number[], axis: number): string {
      if (axis !== 0) throw new Error(`qdqQuantizer: weights must have their output channel on axis 0, got ${axis}`);
      const channels = dims[0];
      const per = data.length / channels;
      const scales = new Float32Array(channels);
      const qw = new Int8Array(data.length);
      for (let c = 0; c < channels; c++) {
        let m = 0;
        for (let i = 0; i < per; i++) m = Math.max(m, Math.abs(data[c * per + i]));
        const s = m > 0 ? m / wMax : 1;
        scales[c] = s;
        for (let i = 0; i < per; i++) qw[c * per + i] = Math.max(-wMax - (u8 ? 1 : 0), Math.min(wMax, Math.round(data[c * per + i] / s)));
      }
      lastWeightScales = scales;
      const w = g.initializer(`${base}_quantized`, qw, dims);
      const s = g.initializer(`${base}_scale`, scales, [channels]);
      const z = g.initializer(`${base}_zero_point`, new Int8Array(channels), [channels]);
      return g.op('DequantizeLinear', [w, s, z], base, {axis: 0});
    },
    bias(g: GraphBuilder, base: string, data: Float32Array, input: Value): string {
      const ws = lastWeightScales;
      if (input.qscale === undefined || ws === null || ws.length !== data.length) return g.initializer(base, data, [data.length]);
      const scales = new Float32Array(data.length);
      const qb = new Int32Array(data.length);
      for (let c = 0; c < data.length; c++) {
        scales[c] = input.qscale * ws[c];
        qb[c] = Math.round(data[c] / scales[c]);
      }
      const b = g.initializer(`${base}_quantized`, qb, [data.length]);
      const s = g.initializer(`${base}_scale`, scales, [data.length]);
      const z = g.initializer(`${base}_zero_point`, new Int32Array(data.length), [data.length]);
      return g.op('DequantizeLinear', [b, s, z], base, {axis: 0});
    },
    activation(g: GraphBuilder, layerName: string, v: Value): Value {
      const r = layerName === 'input' ? q.input : q.activations[layerName];
      if (!r || v.qscale !== undefined) return v; // no range, or a pass-through of a value already quantized
      const {scale, zp} = actParams(r);
      const s = g.initializer(`${layerName}_scale`, Float32Array.of(scale), []);
      const z = g.initializer(`${layerName}_zero_point`, zpArray(zp), []);
      const quantized = g.op('QuantizeLinear', [v.name, s, z], `${v.name}_quantized`);
      return {...v, name: g.op('DequantizeLinear', [quantized, s, z], `${v.name}_dequantized`), qscale: scale};
    },
  };
}


/** The zero point stored in a scalar initializer. */
function scalarValue(g: GraphBuilder, name: string): number | undefined {
  const t = g.initializers.find((i) => i.name === name);
  if (!t?.rawData) return undefined;
  const raw = t.rawData;
  if (t.dataType === DataType.INT8) return new Int8Array(raw.buffer, raw.byteOffset, 1)[0];
  if (t.dataType === DataType.UINT8) return raw[0];
  return undefined;
}

/**
 * Rewrites QDQ Conv and Gemm into QOperator form: DQ → Conv [→ Relu] → Q becomes QLinearConv and
 * DQ → Gemm [→ Relu] → Q becomes com.microsoft QGemm, reading the int8 tensors directly (a Relu
 * folds away when Q's zero point is the type's minimum). Other ops keep their Q/DQ pairs.
 * Returns the extra opset the graph needs.
 */
export function toQOperator(g: GraphBuilder): {domain: string; version: number}[] {
  const producer = new Map<string, NodeProto>();
  const consumers = new Map<string, NodeProto[]>();
  const index = () => {
    producer.clear();
    consumers.clear();
    for (const n of g.nodes) {
      for (const o of n.output ?? []) producer.set(o, n);
      for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
    }
  };
  index();
  const dq = (name: string | undefined) => {
    const n = name === undefined ? undefined : producer.get(name);
    return n?.opType === 'DequantizeLinear' ? n : undefined;
  };
  const only = (name: string) => {
    const c = consumers.get(name) ?? [];
    return c.length === 1 ? c[0] : undefined;
  };
  const remove = new Set<NodeProto>();
  let usedMs = false;
  for (const node of [...g.nodes]) {
    if (node.opType !== 'Conv' && node.opType !== 'Gemm') continue;
    const [xIn0, wIn, bIn] = node.input as string[];
    let xIn = xIn0;
    // DQ → Transpose → op: transpose the int8 tensor instead.
    const tr = producer.get(xIn);
    let transposeInt8: NodeProto | undefined;
    if (tr?.opType === 'Transpose' && dq((tr.input as string[])[0])) {
      const d = dq((tr.input as string[])[0]) as NodeProto;
      const tOut = `${(tr.output as string[])[0]}_int8`;
      transposeInt8 = {...tr, name: `${tr.name}_int8`, input: [(d.input as string[])[0]], output: [tOut]};
      xIn = (tr.input as string[])[0];
    }
    const dx = dq(xIn);
    const dw = dq(wIn);
    const db = bIn === undefined ? undefined : dq(bIn);
    if (!dx || !dw || (bIn !== undefined && !db)) continue;
    let next = only((node.output as string[])[0]);
    let relu: NodeProto | undefined;
    if (next?.opType === 'Relu') {
      relu = next;
      next = only((relu.output as string[])[0]);
    }
    if (next?.opType !== 'QuantizeLinear') continue;
    const qy = next;
    if (relu) {
      const zp = scalarValue(g, (qy.input as string[])[2]);
      if (zp !== -128 && zp !== 0) continue;
      const t = g.initializers.find((i) => i.name === (qy.input as string[])[2]);
      if ((t?.dataType === DataType.INT8 && zp !== -128) || (t?.dataType === DataType.UINT8 && zp !== 0)) continue;
    }
    const [xq0, xs, xz] = dx.input as string[];
    const xq = transposeInt8 ? (transposeInt8.output as string[])[0] : xq0;
    const [wq, ws, wz] = dw.input as string[];
    const [, ys, yz] = qy.input as string[];
    const inputs = node.opType === 'Conv'
      ? [xq, xs, xz, wq, ws, wz, ys, yz, ...(db ? [(db.input as string[])[0]] : [])]
      : [xq, xs, xz, wq, ws, wz, db ? (db.input as string[])[0] : '', ys, yz];
    const fused: NodeProto = {
      ...node,
      opType: node.opType === 'Conv' ? 'QLinearConv' : 'QGemm',
      domain: node.opType === 'Conv' ? '' : 'com.microsoft',
      input: inputs,
      output: qy.output,
    };
    if (node.opType === 'Gemm') usedMs = true;
    g.nodes.splice(g.nodes.indexOf(node), 1, ...(transposeInt8 ? [transposeInt8] : []), fused);
    if (relu) remove.add(relu);
    remove.add(qy);
  }
  g.nodes.splice(0, g.nodes.length, ...g.nodes.filter((n) => !remove.has(n)));
  // Drop the DequantizeLinear and Transpose nodes nothing reads any more.
  const outputs = new Set(g.outputs.map((o) => o.name));
  for (let changed = true; changed;) {
    index();
    const before = g.nodes.length;
    g.nodes.splice(0, g.nodes.length, ...g.nodes.filter((n) => (n.opType !== 'DequantizeLinear' && n.opType !== 'Transpose') ||
      (n.output as string[]).some((o) => consumers.has(o) || outputs.has(o))));
    changed = g.nodes.length !== before;
  }
  const read = new Set(g.nodes.flatMap((n) => n.input ?? []));
  g.initializers.splice(0, g.initializers.length, ...g.initializers.filter((t) => read.has(t.name as string)));
  return usedMs ? [{domain: 'com.microsoft', version: 1}] : [];
}
