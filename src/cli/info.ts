// `hafif info`: which backend hafif runs on and what the native addon is (for install checks).
import {Command, Option} from 'commander';
import {existsSync} from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

import {addon, addonError, addonFile, useBackend} from '../backend/index.js';
import {datasetInputShape, datasetNames, type DatasetName} from '../data/index.js';
import {createModel, models} from '../models/index.js';
import {UsageError} from '../util/registry.js';
import {loadModel} from './train.js';

export interface Info {
  readonly backend: string;
  readonly addon: string | null;
  readonly addonError: string | null;
  readonly isa: string | null;
  readonly threads: number | null;
  readonly gemm: string | null;
  readonly blas: boolean | null;
}

export function info(): Info {
  useBackend('native');
  const isa = addon?.isa() ?? null;
  return {
    backend: tf.getBackend(),
    addon: addonFile,
    addonError,
    isa,
    threads: addon?.numThreads() ?? null,
    gemm: addon?.gemmImpl() ?? null,
    blas: addon?.hasBlas ?? null,
  };
}

/** One layer of a model as `hafif info --model` lists it. */
export interface LayerInfo {
  readonly name: string;
  readonly type: string;
  readonly outputShape: (number | null)[];
  readonly params: number;
}

/** The layers of a registry model (on `dataset`'s image shape) or of a saved model directory. */
export async function modelLayers(nameOrDir: string, dataset: DatasetName = 'mnist'): Promise<LayerInfo[]> {
  const isRegistry = models.has(nameOrDir);
  if (!isRegistry && !existsSync(nameOrDir)) {
    throw new UsageError(`--model "${nameOrDir}": expected a registry model (${models.names().join(', ')}) or a saved model directory`);
  }
  const model = isRegistry ? createModel(nameOrDir, {inputShape: datasetInputShape(dataset), numClasses: 10}) : await loadModel(nameOrDir);
  try {
    return model.layers.map((l) => ({
      name: l.name,
      type: l.getClassName(),
      outputShape: (l.outputShape as (number | null)[]).slice(),
      params: l.countParams(),
    }));
  } finally {
    model.dispose();
  }
}

export function infoCommand(): Command {
  return new Command('info')
    .description('the backend hafif runs on and the native addon it loaded; with --model, its layer names (for --hint-layer)')
    .option('--model <name|dir>', "list a registry model's (or a saved model's) layers: name, type, output shape, parameters")
    .addOption(new Option('--dataset <name>', "the image shape a registry model is built for (with --model)").choices(datasetNames()).default('mnist'))
    .option('--json', 'print machine-readable JSON on stdout')
    .action(async (flags: {json?: boolean; model?: string; dataset: DatasetName}) => {
      if (flags.model != null) {
        useBackend('native');
        const layers = await modelLayers(flags.model, flags.dataset);
        if (flags.json) process.stdout.write(`${JSON.stringify(layers)}\n`);
        else process.stdout.write(layers.map((l) => `${l.name.padEnd(14)} ${l.type.padEnd(22)} [${l.outputShape.map((d) => d ?? 'n').join(', ')}] ${l.params}\n`).join(''));
        return;
      }
      const i = info();
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(i)}\n`);
      } else if (i.addon != null) {
        process.stdout.write(`backend ${i.backend}: ${i.addon}, isa ${i.isa ?? '?'}, ${i.threads} threads, ` +
          `gemm ${i.gemm}${i.blas ? ' (OpenBLAS linked)' : ''}\n`);
      } else {
        process.stdout.write(`backend ${i.backend}: no native addon (${i.addonError})\n`);
      }
    });
}
