import {mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import {afterAll, describe, expect, it} from 'vitest';

import {tf} from '../index.js';
import {modelFiles} from '../io/index.js';
import {modelSize} from '../models/index.js';
import {
  affineParams,
  dequantizeWeights,
  fromFloat16Bits,
  quantizeAffine,
  quantizeWeights,
  saveQuantized,
  toFloat16Bits,
  type WeightDtype,
} from './index.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'hafif-quant-'));
afterAll(() => rmSync(tmp, {recursive: true, force: true}));

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** What tfjs' decoder computes for a stored value: v·scale + min in doubles, kept as float32. */
const decode = (v: number, scale: number, min: number) => Math.fround(v * scale + min);

function randomValues(n: number, lo: number, hi: number, seed: number): Float32Array {
  let s = seed;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out[i] = lo + ((hi - lo) * s) / 2 ** 31;
  }
  return out;
}

describe('affine uint8 / uint16 quantization (tfjs-converter quantization.py)', () => {
  it("reproduces the converter's own docstring example: [0, -0.1, 1.2] → [20, 0, 255]", () => {
    // scale = 1.3/255 = 0.0050980392; zp = round(0.1/scale) = round(19.615) = 20; min = −20·scale = −0.1019607843.
    const q = quantizeAffine(new Float32Array([0, -0.1, 1.2]), 'uint8');
    expect(Array.from(q.data)).toEqual([20, 0, 255]);
    expect(q.scale).toBeCloseTo(0.00509803940852, 10);
    expect(q.min).toBeCloseTo(-0.10196078817, 9);
  });

  it.each([['uint8', 8], ['uint16', 16]] as const)('%s: error within scale/2 per weight, zero exact', (dtype, bits) => {
    const values = randomValues(5000, -0.31, 0.74, 7);
    for (let i = 0; i < values.length; i += 97) values[i] = 0;
    const q = quantizeAffine(values, dtype);
    expect(q.scale).toBeCloseTo((values.reduce((a, b) => Math.max(a, b)) - values.reduce((a, b) => Math.min(a, b))) / (2 ** bits - 1), 12);
    const zp = -q.min / q.scale;
    expect(Math.abs(zp - Math.round(zp))).toBeLessThan(1e-9); // min nudged: zero is a stored value
    let worst = 0;
    for (let i = 0; i < values.length; i++) {
      const back = decode(q.data[i], q.scale, q.min);
      worst = Math.max(worst, Math.abs(back - values[i]));
      if (values[i] === 0) expect(back).toBe(0);
    }
    // scale/2 from rounding, plus at most one float32 rounding of the decoded value.
    expect(worst).toBeLessThanOrEqual(q.scale / 2 + 2 ** -24);
    expect(worst).toBeGreaterThan(q.scale / 4); // rounding really happened
  });

  it('does not nudge a range that excludes zero, and gives a constant tensor scale 1', () => {
    expect(affineParams(0.5, 1.5, 8)).toEqual({scale: 1 / 255, min: 0.5});
    const c = quantizeAffine(new Float32Array([0.25, 0.25, 0.25]), 'uint8');
    expect(c).toMatchObject({scale: 1, min: 0.25});
    expect(Array.from(c.data)).toEqual([0, 0, 0]);
  });
});

describe('float16', () => {
  it('rounds to nearest even, with subnormals, overflow and ties worked out by hand', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff); // largest half
    expect(toFloat16Bits(1e5)).toBe(0x7c00); // overflow → inf
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toFloat16Bits(2 ** -25)).toBe(0x0000); // tie between 0 and 2^-24 → even (0)
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie between 0x3c00 and 0x3c01 → even
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie between 0x3c01 and 0x3c02 → even
    expect(toFloat16Bits(0.1)).toBe(0x2e66); // numpy: np.float16(0.1).view(np.uint16) == 0x2e66
    for (const h of [0x0001, 0x03ff, 0x0400, 0x3c00, 0x2e66, 0x7bff, 0xfbff]) expect(toFloat16Bits(fromFloat16Bits(h))).toBe(h);
  });
});

/** A small model with a conv, a batch norm (non-trainable statistics) and a dense layer. */
function smallModel(): tfl.Sequential {
  const m = tfl.sequential({
    layers: [
      tfl.layers.conv2d({inputShape: [6, 6, 1], filters: 4, kernelSize: 3, kernelInitializer: tfl.initializers.glorotUniform({seed: 1})}),
      tfl.layers.batchNormalization({}),
      tfl.layers.reLU(),
      tfl.layers.flatten(),
      tfl.layers.dense({units: 3, kernelInitializer: tfl.initializers.glorotUniform({seed: 2})}),
    ],
  });
  const bn = m.layers[1];
  const stats = bn.getWeights().map((w, i) => tf.randomUniform(w.shape, i === 3 ? 0.5 : -0.5, 1.5, 'float32', 3 + i));
  bn.setWeights(stats);
  tf.dispose(stats);
  return m;
}

describe('saveQuantized → stock tf.loadLayersModel', () => {
  const x = tf.randomUniform([8, 6, 6, 1], 0, 1, 'float32', 11);
  afterAll(() => x.dispose());

  it.each(['uint8', 'uint16', 'float16'] as WeightDtype[])('%s: stock loader predicts what our own dequantization predicts', async (dtype) => {
    const model = smallModel();
    const before = tf.memory().numTensors;
    const dir = path.join(tmp, `small-${dtype}`);
    await saveQuantized(model, dir, {dtype});
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const specs = json.weightsManifest[0].weights;
    for (const s of specs) {
      expect(s.dtype).toBe('float32');
      expect(s.quantization.dtype).toBe(dtype);
      expect(s.quantization.original_dtype).toBe('float32');
      if (dtype !== 'float16') expect(typeof s.quantization.scale).toBe('number');
    }
    const bin = readFileSync(path.join(dir, 'weights.bin'));
    const n = model.countParams();
    expect(bin.byteLength).toBe(n * (dtype === 'uint8' ? 1 : 2));
    // tfjs alone: model.json and weights.bin handed to tfjs-core's decoder, no hafif I/O involved.
    const data = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
    const stock = await tfl.loadLayersModel(tf.io.fromMemory({modelTopology: json.modelTopology, weightSpecs: specs, weightData: data}));
    // Ours: the float model with hafif's own dequantized values set in.
    const ours = smallModel();
    const values = dequantizeWeights(specs, data);
    const byName = new Map(specs.map((s: {name: string}, i: number) => [s.name, values[i]]));
    const tensors = ours.weights.map((w, i) => tf.tensor(byName.get(model.weights[i].originalName) as Float32Array, w.shape as number[]));
    ours.setWeights(tensors);
    tf.dispose(tensors);
    for (let i = 0; i < stock.weights.length; i++) {
      expect(Array.from(stock.weights[i].read().dataSync())).toEqual(Array.from(ours.weights[i].read().dataSync()));
    }
    const [a, b, f] = [stock.predict(x) as tf.Tensor, ours.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor];
    expect(maxDiff(a, b)).toBeLessThan(1e-6);
    // ...and both stay near the float model (uint8 is coarse, so only loosely).
    expect(maxDiff(a, f)).toBeLessThan(dtype === 'uint8' ? 0.2 : 0.01);
    // hafif's file:// loader reads it too, and modelSize counts the stored bytes from the manifest.
    const viaFile = await tfl.loadLayersModel(`file://${dir}`);
    const c = viaFile.predict(x) as tf.Tensor;
    expect(maxDiff(a, c)).toBe(0);
    const files = await modelFiles(dir);
    expect(files.weightBytes).toBe(bin.byteLength);
    expect(modelSize(viaFile, {weightSpecs: files.weightSpecs}).bytes).toBe(bin.byteLength);
    expect(modelSize(viaFile).bytes).toBe(4 * n);
    tf.dispose([a, b, f, c]);
    stock.dispose();
    ours.dispose();
    viaFile.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('skips listed layers and tensors below minSize, and leaves non-float32 tensors alone', () => {
    const specs: tf.io.WeightsManifestEntry[] = [
      {name: 'conv/kernel', shape: [4], dtype: 'float32'},
      {name: 'conv/bias', shape: [2], dtype: 'float32'},
      {name: 'dense/kernel', shape: [4], dtype: 'float32'},
      {name: 'steps', shape: [2], dtype: 'int32'},
    ];
    const data = new Uint8Array(4 * 12);
    new Float32Array(data.buffer, 0, 10).set([1, -1, 0.5, 0, 0.1, 0.2, 2, 3, 4, 5]);
    new Int32Array(data.buffer, 40, 2).set([7, 9]);
    const q = quantizeWeights(specs, data.buffer, {dtype: 'uint8', skipLayers: ['dense'], minSize: 3});
    expect(q.weights.map((w) => w.storedAs)).toEqual(['uint8', 'float32', 'float32', 'int32']);
    expect(q.weightSpecs[1].quantization).toBeUndefined();
    expect(q.weightData.byteLength).toBe(4 + 8 + 16 + 8);
    expect(Array.from(new Int32Array(q.weightData.slice(28, 36)))).toEqual([7, 9]);
    expect(() => quantizeWeights(q.weightSpecs, q.weightData, {dtype: 'uint8'})).toThrow(/already quantized/);
  });
});

describe('reading tfjs-converter output', () => {
  // A Keras Dense(2) on 3 inputs as `tensorflowjs_converter --quantize_uint8 '*' --quantize_float16 'dense/bias'`
  // would lay it out: InputLayer in the topology, a group1-shard1of1.bin shard, key order as the converter writes.
  const topology = {
    class_name: 'Sequential',
    config: {
      name: 'sequential',
      layers: [
        {class_name: 'InputLayer', config: {batch_input_shape: [null, 3], dtype: 'float32', sparse: false, ragged: false, name: 'input_1'}},
        {class_name: 'Dense', config: {name: 'dense', trainable: true, dtype: 'float32', units: 2, activation: 'linear', use_bias: true,
          kernel_initializer: {class_name: 'GlorotUniform', config: {seed: null}}, bias_initializer: {class_name: 'Zeros', config: {}},
          kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, bias_constraint: null}},
      ],
    },
    keras_version: '2.12.0',
    backend: 'tensorflow',
  };
  const kernelQ = {dtype: 'uint8', min: -0.5, scale: 0.01, original_dtype: 'float32'};
  const stored = [0, 50, 100, 150, 200, 255]; // → -0.5, 0, 0.5, 1, 1.5, 2.05
  const biasBits = [toFloat16Bits(0.25), toFloat16Bits(-1.5)];

  function writeFixture(dir: string, weights: unknown[], bin: Uint8Array = fixtureBin()): void {
    mkdirSync(dir, {recursive: true});
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
      format: 'layers-model', generatedBy: 'keras v2.12.0', convertedBy: 'TensorFlow.js Converter v4.22.0', modelTopology: topology,
      weightsManifest: [{paths: ['group1-shard1of1.bin'], weights}],
    }));
    writeFileSync(path.join(dir, 'group1-shard1of1.bin'), bin);
  }
  function fixtureBin(): Uint8Array {
    const bin = new Uint8Array(6 + 4);
    bin.set(stored, 0);
    new Uint16Array(bin.buffer, 6, 2).set(biasBits);
    return bin;
  }
  const good = [
    {name: 'dense/kernel', shape: [3, 2], dtype: 'float32', quantization: kernelQ},
    {name: 'dense/bias', shape: [2], dtype: 'float32', quantization: {dtype: 'float16', original_dtype: 'float32'}},
  ];

  it('is read back by hafif with the values the manifest describes', async () => {
    const dir = path.join(tmp, 'converter');
    writeFixture(dir, good);
    const model = await tfl.loadLayersModel(`file://${dir}`);
    const [k, b] = model.getWeights();
    const expected = stored.map((v) => decode(v, 0.01, -0.5));
    expect(Array.from(k.dataSync())).toEqual(expected);
    expect(Array.from(b.dataSync())).toEqual([0.25, -1.5]);
    const y = model.predict(tf.tensor2d([[1, 2, 3]])) as tf.Tensor;
    // y_j = Σ_i x_i k_ij + b_j: k = [[-0.5, 0], [0.5, 1], [1.5, 2.05]] → [-0.5 + 1 + 4.5 + 0.25, 0 + 2 + 6.15 − 1.5].
    const got = Array.from(y.dataSync());
    expect(got[0]).toBeCloseTo(5.25, 5);
    expect(got[1]).toBeCloseTo(6.65, 5);
    const files = await modelFiles(dir);
    expect(modelSize(model, {weightSpecs: files.weightSpecs}).bytes).toBe(10);
    tf.dispose(y);
    model.dispose();
  });

  const bad: [string, unknown, RegExp][] = [
    ['missing scale', {dtype: 'uint8', min: -0.5, original_dtype: 'float32'}, /dense\/kernel.*quantization\.scale must be a finite number > 0, got nothing/],
    ['scale as a string', {...kernelQ, scale: '0.01'}, /quantization\.scale must be a finite number > 0, got "0\.01"/],
    ['min missing', {dtype: 'uint8', scale: 0.01}, /quantization\.min must be a finite number, got nothing/],
    ['unknown dtype', {...kernelQ, dtype: 'int4'}, /quantization\.dtype must be one of uint8, uint16, float16, got "int4"/],
    ['not an object', 'uint8', /quantization must be an object, got "uint8"/],
    ['original_dtype mismatch', {...kernelQ, original_dtype: 'int32'}, /original_dtype must be the weight's dtype "float32", got "int32"/],
  ];
  it.each(bad)('refuses %s with one line naming the weight', async (what, quantization, message) => {
    const dir = path.join(tmp, `bad-${what.replace(/\W+/g, '-')}`);
    writeFixture(dir, [{...good[0], quantization}, good[1]]);
    const err = await tfl.loadLayersModel(`file://${dir}`).then(() => null, (e: Error) => e);
    expect(err?.name).toBe('UsageError');
    expect(err?.message).toMatch(message);
    expect(err?.message).not.toContain('\n');
  });

  it('refuses a shard shorter than the manifest says', async () => {
    const dir = path.join(tmp, 'bad-short');
    writeFixture(dir, good, fixtureBin().slice(0, 8));
    await expect(tfl.loadLayersModel(`file://${dir}`)).rejects.toThrow(/hold 8 bytes, but the manifest describes 10/);
  });
});
