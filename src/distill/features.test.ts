import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

import '../backend/index.js';
import {kerasAdam} from '../train/trainer.js';
import {mulberry32} from '../util/random.js';
import {Distiller} from './distiller.js';

const glorot = (seed: number) => tfl.initializers.glorotUniform({seed});
function convNet(seed: number, filters: number, prefix: string): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({name: `${prefix}_conv`, inputShape: [6, 6, 1], filters, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: glorot(seed)}),
      tfl.layers.maxPooling2d({name: `${prefix}_pool`, poolSize: 2}),
      tfl.layers.flatten({name: `${prefix}_flat`}),
      tfl.layers.dense({name: `${prefix}_dense`, units: 3, kernelInitializer: glorot(seed + 1)}),
    ],
  });
}

describe('feature distillation on named layers', () => {
  let before = 0;
  beforeEach(async () => {
    await tf.setBackend('cpu');
    before = tf.memory().numTensors;
  });
  afterEach(() => expect(tf.memory().numTensors).toBe(before));

  it('hint and attention terms train, log their values, and leave no tensors behind', async () => {
    const teacher = convNet(1, 5, 't');
    const student = convNet(3, 2, 's');
    const rng = mulberry32(2);
    const x = tf.tensor4d(new Float32Array(24 * 36).map(() => rng()), [24, 6, 6, 1]);
    const y = new Int32Array(24).map(() => Math.floor(rng() * 3));
    const d = new Distiller({teacher, student});
    const optimizer = kerasAdam(0.01);
    d.compile({optimizer, alpha: 0.5, temperature: 2, featureLosses: [
      {kind: 'hint', studentLayer: 's_conv', teacherLayer: 't_conv'},
      {kind: 'attention', studentLayer: 's_pool', teacherLayer: 't_pool', weight: 10},
    ]});
    const history = await d.fit(x, y, {epochs: 4, batchSize: 8});
    expect(history[3].hint_s_conv).toBeLessThan(history[0].hint_s_conv);
    expect(Number.isFinite(history[3].attention_s_pool)).toBe(true);
    optimizer.dispose();
    x.dispose();
    teacher.dispose();
    student.dispose();
  });

  it('names an unknown layer, listing the model\'s layers, and feature maps that cannot be matched', () => {
    const teacher = convNet(1, 5, 't');
    const student = convNet(3, 2, 's');
    const d = new Distiller({teacher, student});
    expect(() => d.compile({featureLosses: [{kind: 'hint', studentLayer: 's_cnv', teacherLayer: 't_conv'}]}))
      .toThrow('unknown student layer "s_cnv"; expected one of s_conv, s_pool, s_flat, s_dense');
    expect(() => d.compile({featureLosses: [{kind: 'hint', studentLayer: 's_conv', teacherLayer: 't_pool'}]}))
      .toThrow('hint: student layer s_conv [null,6,6,2] and teacher layer t_pool [null,3,3,5] must both be feature maps [n, h, w, c] with the same h and w');
    expect(() => d.compile({featureLosses: [{kind: 'attention', studentLayer: 's_flat', teacherLayer: 't_flat'}]})).toThrow(/must both be feature maps/);
    teacher.dispose();
    student.dispose();
  });
});
