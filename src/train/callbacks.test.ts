import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import '../backend/index.js';
import {earlyStopping, terminateOnNaN} from './callbacks.js';
import {createTrainStep, trainLoop} from './engine.js';
import {HostExamples} from './examples.js';
import {kerasAdam} from './trainer.js';

function tiny(): tfl.Sequential {
  return tfl.sequential({
    layers: [tfl.layers.dense({units: 3, inputShape: [4], kernelInitializer: tfl.initializers.glorotUniform({seed: 3})})],
  });
}

const examples = new HostExamples({data: new Float32Array(32).map((_, i) => Math.sin(i)), shape: [8, 4]});
const labels = new Int32Array([0, 1, 2, 0, 1, 2, 0, 1]);

describe('built-in callbacks', () => {
  let start = 0;
  beforeEach(() => void (start = tf.memory().numTensors));
  afterEach(() => expect(tf.memory().numTensors).toBe(start));

  it('earlyStopping: stops after `patience` epochs without improvement and restores the best weights', async () => {
    const model = tiny();
    const optimizer = kerasAdam(0.1);
    const step = createTrainStep({model, optimizer, terms: [{kind: 'cross-entropy'}]});
    // Scripted validation losses: best at epoch 1; epochs 2 and 3 are worse; patience 1 stops after epoch 3.
    const script = [1.0, 0.8, 0.9, 0.95, 0.7, 0.6];
    let e = 0;
    const weightsAtEpochEnd: number[][][] = [];
    const stop = earlyStopping({monitor: 'valLoss', patience: 1, restoreBestWeights: true});
    const history = await trainLoop(examples, labels, step, {
      model, optimizer, epochs: 6, batchSize: 4,
      validate: () => ({valLoss: script[e++]}),
      callbacks: [{onEpochEnd: (c) => void weightsAtEpochEnd.push(c.model.getWeights().map((w) => [...w.dataSync()]))}, stop],
    });
    expect(history.map((h) => h.valLoss)).toEqual([1.0, 0.8, 0.9, 0.95]);
    expect(stop.state).toMatchObject({bestEpoch: 1, best: 0.8, stoppedEpoch: 3});
    expect(model.getWeights().map((w) => [...w.dataSync()])).toEqual(weightsAtEpochEnd[1]);
    expect(weightsAtEpochEnd[3]).not.toEqual(weightsAtEpochEnd[1]);
    model.dispose();
    optimizer.dispose();
  });

  it('earlyStopping: a monitored value the logs lack is a usage error naming it', async () => {
    const model = tiny();
    const optimizer = kerasAdam();
    const step = createTrainStep({model, optimizer, terms: [{kind: 'cross-entropy'}]});
    await expect(trainLoop(examples, labels, step, {model, optimizer, callbacks: earlyStopping()}))
      .rejects.toThrow(/monitors 'valLoss', which the epoch logs lack/);
    model.dispose();
    optimizer.dispose();
  });

  it('terminateOnNaN stops at the first non-finite batch loss', async () => {
    const model = tiny();
    const optimizer = kerasAdam();
    const losses = [0.5, 0.4, NaN, 0.3, 0.2];
    let i = 0;
    const nan = terminateOnNaN();
    const history = await trainLoop(examples, labels, () => ({loss: losses[i++]}), {model, optimizer, epochs: 3, batchSize: 2, callbacks: nan});
    expect(i).toBe(3);
    expect(nan.state.stoppedAtStep).toBe(3);
    expect(history).toHaveLength(1);
    model.dispose();
    optimizer.dispose();
  });
});
