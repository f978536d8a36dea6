// Inference speed of one model on several engines, side by side: the engines take turns in
// rounds, so a load that comes and goes on the machine hits all of them alike.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import {useBackend, type BackendName} from '../backend/index.js';
import type {OnnxModel} from './ort.js';

/** One engine under test: runs `n` examples of `x` (host NHWC rows) and waits for the result. */
export interface InferenceEngine {
  readonly name: string;
  run(x: Float32Array, n: number): Promise<void>;
}

/**
 * A tfjs model on a tfjs backend (switched to before each run). Give each backend its own copy of
 * the model: tfjs moves weights to the backend that reads them.
 */
export function tfjsEngine(name: string, model: tfl.LayersModel, backend: BackendName): InferenceEngine {
  const shape = model.inputs[0].shape.slice(1) as number[];
  return {
    name,
    async run(x, n) {
      useBackend(backend);
      const out = tf.tidy(() => model.predict(tf.tensor(x, [n, ...shape])) as tf.Tensor);
      out.dataSync();
      out.dispose();
    },
  };
}

/** An ONNX model in onnxruntime-node. */
export function ortEngine(name: string, model: OnnxModel): InferenceEngine {
  return {name, run: async (x, n) => void (await model.run(x, n))};
}

export interface InferenceBenchOptions {
  /** @default [1, 32] */
  readonly batchSizes?: readonly number[];
  /** Rounds; each engine runs once per round at each batch size. @default 3 */
  readonly rounds?: number;
  /** Seconds per engine, batch size and round. @default 0.5 */
  readonly seconds?: number;
}

export interface InferenceBenchRow {
  readonly engine: string;
  readonly batchSize: number;
  /** Median over rounds of the milliseconds per image. */
  readonly msPerImage: number;
  readonly imagesPerSecond: number;
  readonly images: number;
}

/**
 * Times each engine at each batch size on batches cut from `x` (`count` rows of `rowSize`), after
 * a warm-up call, in interleaved rounds; reports the median round.
 */
export async function benchInference(engines: readonly InferenceEngine[], x: Float32Array, count: number,
  options: InferenceBenchOptions = {}): Promise<InferenceBenchRow[]> {
  const {batchSizes = [1, 32], rounds = 3, seconds = 0.5} = options;
  const rowSize = x.length / count;
  const rows: InferenceBenchRow[] = [];
  for (const b of batchSizes) {
    if (b > count) throw new Error(`benchInference: batch ${b} > ${count} examples`);
    const batches = Math.floor(count / b);
    const perRound = engines.map(() => [] as number[]);
    const images = engines.map(() => 0);
    for (const e of engines) await e.run(x.subarray(0, b * rowSize), b); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < engines.length; i++) {
        let done = 0;
        let k = 0;
        const t0 = performance.now();
        let t = t0;
        while (t - t0 < seconds * 1000 || done === 0) {
          const s = (k++ % batches) * b;
          await engines[i].run(x.subarray(s * rowSize, (s + b) * rowSize), b);
          done += b;
          t = performance.now();
        }
        perRound[i].push((t - t0) / done);
        images[i] += done;
      }
    }
    engines.forEach((e, i) => {
      const ms = median(perRound[i]);
      rows.push({engine: e.name, batchSize: b, msPerImage: ms, imagesPerSecond: 1000 / ms, images: images[i]});
    });
  }
  return rows;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
