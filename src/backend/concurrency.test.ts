// The addon's thread pool is one per process; Node worker_threads that import hafif share it.
// Two workers training the Keras student at once must get exactly what each gets alone, and an
// exception inside a parallel chunk must come back as a JS error with the pool still working.
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {Worker} from 'node:worker_threads';
import {describe, expect, it} from 'vitest';

import {addon} from './addon.js';

const dist = pathToFileURL(path.resolve(import.meta.dirname, '..', '..', 'dist', 'index.js')).href;

// Trains the student one epoch on 256 embedded digits (seeded data, weights and shuffle) and
// returns its losses per epoch and its final weights.
const trainInWorker = `
const {parentPort, workerData} = require('node:worker_threads');
(async () => {
  const h = await import(workerData.dist);
  const data = await h.loadDataset('mnist', {limit: workerData.limit, seed: 0});
  const model = h.createModel('keras-student', {inputShape: data.inputShape, numClasses: data.numClasses, seed: workerData.seed});
  const x = {data: data.train.images, shape: [data.train.count, ...data.inputShape]};
  const history = await h.fit(model, x, data.train.labels, {epochs: 1, batchSize: 32, seed: workerData.seed});
  const weights = model.getWeights().map((t) => Array.from(t.dataSync()));
  parentPort.postMessage({backend: h.tf.getBackend(), loss: history.map((e) => e.loss), weights});
})().catch((e) => { throw e; });
`;

interface Run {
  backend: string;
  loss: number[];
  weights: number[][];
}

function train(seed: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const w = new Worker(trainInWorker, {eval: true, workerData: {dist, seed, limit: 256}});
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

describe('the native addon under concurrent callers', () => {
  it('two worker_threads training at once get the results each gets alone', async () => {
    const alone = [await train(1), await train(2)];
    const together = await Promise.all([train(1), train(2)]);
    for (const r of [...alone, ...together]) expect(r.backend).toBe('native');
    expect(alone[0].loss).not.toEqual(alone[1].loss); // the two runs differ, so a swap would show
    for (let i = 0; i < 2; i++) {
      expect(together[i].loss).toEqual(alone[i].loss);
      expect(together[i].weights).toEqual(alone[i].weights);
    }
  });

  it('rethrows an exception from a parallel chunk as a JS error, then keeps working', () => {
    const a = addon!;
    const saved = a.numThreads();
    a.numThreads(4); // several workers even on a small machine
    try {
      const n = 1000;
      const sum = (n * (n - 1)) / 2;
      const selfTest = a.parallelSelfTest.bind(a);
      expect(selfTest(n, -1)).toBe(sum);
      for (let i = 0; i < 200; i++) {
        const at = (i * 997) % n;
        expect(() => selfTest(n, at, i % 2 === 1)).toThrow(i % 2 === 1 ? /bad_alloc/ : new RegExp(`chunk ${at} threw`));
        expect(selfTest(n, -1)).toBe(sum);
      }
    } finally {
      a.numThreads(saved);
    }
  });
});
