// ONNX export of tfjs models and ONNX models in onnxruntime-node.
import './handlers.js';

import type * as tfl from '@tensorflow/tfjs-layers';

import {writeFileAtomic} from '../util/atomic.js';
import {convertModel, type ConvertOptions} from './convert.js';

export {convertModel, exportableLayerClasses, registerLayerHandler, floatQuantizer} from './convert.js';
export type {ConvertOptions, HandlerContext, LayerHandler, Layout, Quantizer, Value} from './convert.js';
export {tfPads} from './handlers.js';
export {evaluateOnnx, logitMetrics, onnxTeacher, OnnxModel, loadOrt, ortAvailable, ORT_INSTALL_HINT} from './ort.js';
export type {Dims, OnnxEvaluation, OnnxSessionOptions} from './ort.js';
export {decodeModel, OPSET} from './onnx_proto.js';

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
