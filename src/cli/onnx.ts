// `hafif export` and the ONNX side of `hafif evaluate`.
import {Command, Option} from 'commander';
import {stat} from 'node:fs/promises';
import path from 'node:path';
import {gzipSync} from 'node:zlib';

import {existsSync} from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {useBackend} from '../backend/index.js';
import {
  calibrateMinMax, DEFAULT_INT8_FORMAT, DEFAULT_INT8_SCHEME, evaluateOnnx, exportOnnx, exportOnnxInt8, OnnxModel, QUANTIZATION_JSON, readQuantization, weightsSha256,
  type Int8CalibrationFile, type Int8Format, type Int8Scheme,
} from '../export/index.js';
import {UsageError} from '../util/registry.js';
import {addDataFlags, prepare, type DataFlags} from './common.js';
import {oneOf, parsePositiveInt} from './options.js';
import {loadModel} from './train.js';

interface ExportFlags extends DataFlags {
  readonly model: string;
  readonly format: 'onnx';
  readonly layout: 'nhwc' | 'nchw';
  readonly out: string;
  readonly int8?: boolean;
  readonly int8Format: Int8Format;
  readonly int8Scheme: Int8Scheme;
  readonly calibration?: string;
  readonly calibrationExamples: number;
}

export {DEFAULT_INT8_FORMAT, DEFAULT_INT8_SCHEME};

/**
 * The model's calibration: FILE, else DIR/quantization.json (from `hafif quantize --dtype int8`),
 * else min/max on the first N training examples of the dataset flags (never the test split).
 */
export async function calibrationFor(model: tfl.LayersModel, flags: DataFlags & {model: string; calibration?: string; calibrationExamples: number}): Promise<{q: Int8CalibrationFile; source: string}> {
  const sha = await weightsSha256(flags.model);
  const beside = path.join(flags.model.endsWith('.json') ? path.dirname(flags.model) : flags.model, QUANTIZATION_JSON);
  const file = flags.calibration ?? (existsSync(beside) ? beside : undefined);
  if (file) return {q: await readQuantization(file, model, sha), source: file};
  const {data} = await prepare(flags);
  const n = Math.min(flags.calibrationExamples, data.train.count);
  const [h, w, c] = data.inputShape;
  const x = tf.tensor4d(data.train.images.subarray(0, n * h * w * c), [n, h, w, c]);
  try {
    return {q: calibrateMinMax(model, x, {weightsSha256: sha, dataset: `${data.name}-${data.source === 'embedded' ? 'embedded' : 'files'}`}),
      source: `min/max on ${n} ${data.name} training examples`};
  } finally {
    x.dispose();
  }
}

export function exportCommand(): Command {
  const cmd = new Command('export')
    .description('export a saved tfjs model to ONNX (opset 13, dynamic batch, batch norm folded into convs), float or int8')
    .requiredOption('--model <dir>', 'directory of the model (model.json + weights)')
    .addOption(new Option('--format <name>', 'output format').argParser(oneOf(['onnx'] as const)).default('onnx'))
    .addOption(new Option('--layout <name>', 'input layout of the ONNX model: nhwc (as the tfjs model) or nchw')
      .argParser(oneOf(['nhwc', 'nchw'] as const)).default('nhwc'))
    .requiredOption('--out <file>', 'the .onnx file to write')
    .option('--int8', 'int8 weights and activations (calibration from --calibration, DIR/quantization.json, or min/max on the training data)')
    .addOption(new Option('--int8-format <name>', 'qdq (QuantizeLinear/DequantizeLinear pairs) or qoperator (QLinearConv, QGemm)')
      .argParser(oneOf(['qdq', 'qoperator'] as const)).default(DEFAULT_INT8_FORMAT))
    .addOption(new Option('--int8-scheme <name>', 's8s8 or u8s8-reduce-range (uint8 activations, 7-bit weights)')
      .argParser(oneOf(['s8s8', 'u8s8-reduce-range'] as const)).default(DEFAULT_INT8_SCHEME))
    .option('--calibration <file>', 'quantization.json to use (default: the one beside the model, if any)')
    .option('--calibration-examples <n>', 'training examples for an on-the-spot min/max calibration', parsePositiveInt, 512);
  addDataFlags(cmd);
  return cmd.action(async (flags: ExportFlags) => {
    useBackend(flags.backend);
    const model = await loadModel(flags.model);
    try {
      const out = path.resolve(flags.out);
      let calibration: string | undefined;
      let bytes: Uint8Array;
      if (flags.int8) {
        const {q, source} = await calibrationFor(model, flags);
        calibration = source;
        bytes = await exportOnnxInt8(model, out, {calibration: q, format: flags.int8Format, scheme: flags.int8Scheme, layout: flags.layout});
      } else {
        bytes = await exportOnnx(model, out, {layout: flags.layout});
      }
      const info = {
        out, format: flags.format, layout: flags.layout, bytes: bytes.length, gzipBytes: gzipSync(bytes).length,
        ...(flags.int8 ? {int8: {format: flags.int8Format, scheme: flags.int8Scheme, calibration}} : {}),
      };
      process.stdout.write(flags.json ? JSON.stringify(info) + '\n'
        : `wrote ${out}: ${info.bytes} bytes (${info.gzipBytes} gzipped), input layout ${flags.layout}` +
          (flags.int8 ? `, int8 ${flags.int8Format} ${flags.int8Scheme} (calibration: ${calibration})` : '') + '\n');
    } finally {
      model.dispose();
    }
  });
}

/** Whether `--model` names an ONNX file rather than a tfjs model directory. */
export function isOnnxPath(p: string): boolean {
  return p.toLowerCase().endsWith('.onnx');
}

/** `hafif evaluate --model FILE.onnx`: runs the model in onnxruntime-node on the test split. */
export async function evaluateOnnxCommand(flags: DataFlags & {model: string; threads?: number}): Promise<void> {
  try {
    await stat(flags.model);
  } catch {
    throw new UsageError(`no ONNX model at ${flags.model}`);
  }
  const onnx = await OnnxModel.load(flags.model, {threads: flags.threads ?? 1});
  try {
    const {data} = await prepare(flags);
    onnx.checkFits(data.inputShape, data.numClasses, `model ${flags.model}`);
    const ev = await evaluateOnnx(onnx, data.test.images, data.test.labels, data.numClasses);
    const run = {
      name: 'evaluated',
      model: path.resolve(flags.model),
      runtime: 'onnxruntime-node',
      threads: flags.threads ?? 1,
      params: onnx.params,
      bytes: onnx.bytes,
      testAccuracy: ev.accuracy,
      testLoss: ev.loss,
      inferenceImagesPerSecond: ev.imagesPerSecond,
    };
    process.stdout.write(flags.json ? JSON.stringify(run) + '\n'
      : `${run.name} (${run.model}, onnxruntime-node, ${run.threads} thread${run.threads === 1 ? '' : 's'}): test accuracy ${(ev.accuracy * 100).toFixed(2)}%, ` +
        `test loss ${ev.loss.toFixed(4)}, ${run.params} params, ${run.bytes} bytes, ${Math.round(ev.imagesPerSecond)} img/s inference\n`);
  } finally {
    await onnx.dispose();
  }
}

