import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {gzipSync} from 'node:zlib';
import {describe, expect, it} from 'vitest';

import '../backend/index.js';
import {gzipBytes} from './size.js';

describe('gzipBytes', () => {
  it('is the gzip size of weights.bin plus model.json: random weights barely shrink, zeros almost vanish', async () => {
    const model = tfl.sequential({layers: [tfl.layers.dense({inputShape: [128], units: 128, kernelInitializer: tfl.initializers.glorotUniform({seed: 1})})]});
    try {
      const raw = 129 * 128 * 4;
      const dense = await gzipBytes(model);
      // float32 noise compresses by a few percent only; the bytes of the weights alone bound it below.
      const weights = Buffer.concat(model.getWeights().map((w) => Buffer.from((w.dataSync() as Float32Array).buffer)));
      expect(dense).toBeGreaterThan(gzipSync(weights).length);
      expect(dense).toBeGreaterThan(0.8 * raw);
      const zeros = model.getWeights().map((w) => tf.zerosLike(w));
      model.setWeights(zeros);
      tf.dispose(zeros);
      expect(await gzipBytes(model)).toBeLessThan(0.05 * raw);
    } finally {
      model.dispose();
    }
  });
});
