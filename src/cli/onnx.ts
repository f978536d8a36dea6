// `hafif export` and the ONNX side of `hafif evaluate`.
import {Command, Option} from 'commander';
import {stat} from 'node:fs/promises';
import path from 'node:path';
import {gzipSync} from 'node:zlib';

import {evaluateOnnx, exportOnnx, OnnxModel} from '../export/index.js';
import {UsageError} from '../util/registry.js';
import {prepare, type DataFlags} from './common.js';
import {oneOf} from './options.js';
import {loadModel} from './train.js';

interface ExportFlags {
  readonly model: string;
  readonly format: 'onnx';
  readonly layout: 'nhwc' | 'nchw';
  readonly out: string;
  readonly json?: boolean;
}

export function exportCommand(): Command {
  return new Command('export')
    .description('export a saved tfjs model to ONNX (opset 13, dynamic batch, batch norm folded into convs)')
    .requiredOption('--model <dir>', 'directory of the model (model.json + weights)')
    .addOption(new Option('--format <name>', 'output format').argParser(oneOf(['onnx'] as const)).default('onnx'))
    .addOption(new Option('--layout <name>', 'input layout of the ONNX model: nhwc (as the tfjs model) or nchw')
      .argParser(oneOf(['nhwc', 'nchw'] as const)).default('nhwc'))
    .requiredOption('--out <file>', 'the .onnx file to write')
    .option('--json', 'print machine-readable JSON on stdout')
    .action(async (flags: ExportFlags) => {
      const model = await loadModel(flags.model);
      try {
        const out = path.resolve(flags.out);
        const bytes = await exportOnnx(model, out, {layout: flags.layout});
        const info = {out, format: flags.format, layout: flags.layout, bytes: bytes.length, gzipBytes: gzipSync(bytes).length};
        process.stdout.write(flags.json ? JSON.stringify(info) + '\n'
          : `wrote ${out}: ${info.bytes} bytes (${info.gzipBytes} gzipped), input layout ${flags.layout}\n`);
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

