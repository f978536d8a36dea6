// ONNX export of tfjs models and ONNX models in onnxruntime-node.
import './handlers.js';

import type * as tfl from '@tensorflow/tfjs-layers';

import {writeFileAtomic} from '../util/atomic.js';
import {convertModel, type ConvertOptions} from './convert.js';
import {qdqQuantizer, toQOperator, type Int8Scheme, type QuantizationFile} from './int8.js';

export {convertModel, exportableLayerClasses, registerLayerHandler, floatQuantizer} from './convert.js';
export type {ConvertOptions, HandlerContext, LayerHandler, Layout, Quantizer, Value} from './convert.js';
export {tfPads} from './handlers.js';
export {evaluateOnnx, logitMetrics, onnxTeacher, OnnxModel, cpuHasVnni, loadOrt, ortAvailable, ORT_INSTALL_HINT} from './ort.js';
export type {Dims, OnnxEvaluation, OnnxSessionOptions} from './ort.js';
export {decodeModel, OPSET} from './onnx_proto.js';
export {benchInference, ortEngine, tfjsEngine} from './bench.js';
export type {InferenceBenchOptions, InferenceBenchRow, InferenceEngine} from './bench.js';

/**
 * Exports `model` as ONNX to `file`, atomically: the whole graph is built before anything is
 * written, so an unsupported layer leaves no file. Returns the bytes written.
 * @example await exportOnnx(model, 'student.onnx', {layout: 'nhwc'});
 */
export async function exportOnnx(model: tfl.LayersModel, file: string, options: ConvertOptions = {}): Promise<Uint8Array> {
  const bytes = convertModel(model, options);
  await writeFileAtomic(file, bytes);
  return bytes;
}

export {calibrateMinMax, int8Range, QUANTIZATION_JSON, qdqQuantizer, readQuantization, toQOperator, weightsSha256} from './int8.js';
// quantization.json as the exporter reads it (INTERFACES §2); the quantize module has its own QuantizationFile.
export type {ActivationRange, Int8Scheme, QuantizationFile as Int8CalibrationFile} from './int8.js';

/** How int8 ONNX is written. */
export type Int8Format = 'qdq' | 'qoperator';

/**
 * The int8 format and scheme written unless told otherwise: the fastest measured in ORT on an
 * AVX2 (no VNNI) CPU that kept accuracy (README, "ONNX export"): QDQ with uint8 activations and
 * 7-bit int8 weights. QOperator S8S8 was about 14× slower there; the others were within noise of it.
 */
export const DEFAULT_INT8_FORMAT: Int8Format = 'qdq';
export const DEFAULT_INT8_SCHEME: Int8Scheme = 'u8s8-reduce-range';

/** Options of {@link exportOnnxInt8}. */
export interface Int8ExportOptions {
  /** The calibration (quantization.json, or calibrateMinMax). */
  readonly calibration: QuantizationFile;
  /** @default DEFAULT_INT8_FORMAT ('qdq') */
  readonly format?: Int8Format;
  /** @default DEFAULT_INT8_SCHEME ('u8s8-reduce-range') */
  readonly scheme?: Int8Scheme;
  /** @default 'nhwc' */
  readonly layout?: 'nhwc' | 'nchw';
}

/**
 * Exports `model` as int8 ONNX: per-channel symmetric int8 weights (from the weights themselves,
 * after batch norm is folded), per-tensor activations from the calibration, int32 biases.
 * @example await exportOnnxInt8(model, 'student-int8.onnx', {calibration: calibrateMinMax(model, x, info)});
 */
export async function exportOnnxInt8(model: tfl.LayersModel, file: string, options: Int8ExportOptions): Promise<Uint8Array> {
  const {calibration, format = DEFAULT_INT8_FORMAT, scheme = DEFAULT_INT8_SCHEME, layout = 'nhwc'} = options;
  return exportOnnx(model, file, {layout, quantizer: qdqQuantizer(calibration, scheme), rewrite: format === 'qoperator' ? toQOperator : undefined});
}
export {browserUnavailable, CHROMIUM, CHROMIUM_FLAGS, runInBrowser} from './browser.js';
export type {BrowserEngine, BrowserModel, BrowserResult, BrowserRunOptions} from './browser.js';
