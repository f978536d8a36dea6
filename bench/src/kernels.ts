// Per-kernel times, native vs cpu, at the shapes the Keras example's teacher and student run.
import * as tf from '@tensorflow/tfjs-core';

import {hasNative, isNativeKernel, setBackend, type Backend} from './env.js';
import {progress, timeIt, type Timing} from './timing.js';

type CpuCost = 'fast' | 'slow' | 'minutes';

/** One kernel call at one shape. */
interface KernelCase {
  /** Registry name of the kernel. */
  readonly kernel: string;
  /** Where the model runs it, e.g. "teacher conv2 fwd". */
  readonly where: string;
  /** Input shapes, for the table. */
  readonly shapes: string;
  /** Floating-point operations per call (multiply-add = 2), or 0 when not meaningful. */
  readonly flops: number;
  /** Bytes read and written per call (each operand once). */
  readonly bytes: number;
  /**
   * How long the cpu backend takes: 'fast' is timed like native; 'slow' (seconds) once, and not
   * with --quick; 'minutes' only with --cpu-teacher.
   */
  readonly cpu: CpuCost;
  /** Makes the inputs on the active backend; `run` calls the kernel once. */
  setup(): {run: () => tf.Tensor | tf.Tensor[]; inputs: tf.Tensor[]};
}

export interface KernelResult {
  readonly kernel: string;
  readonly where: string;
  readonly shapes: string;
  readonly flops: number;
  readonly bytes: number;
  /** False when `native` runs the cpu backend's kernel for it. */
  readonly nativeKernel: boolean;
  readonly native: Timing | null;
  /** Null when skipped: see `cpuCost`. */
  readonly cpu: Timing | null;
  readonly cpuCost: CpuCost;
  /** cpu ms / native ms. */
  readonly speedup: number | null;
  readonly nativeGflops: number | null;
  readonly nativeGBps: number | null;
  readonly cpuGflops: number | null;
}

const B = 32;
const rand = (shape: number[]) => tf.randomUniform(shape, -1, 1, 'float32', 7);
const s = (shape: number[]) => `[${shape.join(',')}]`;
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const run = (name: string, inputs: tf.NamedTensorMap, attrs: object = {}) =>
  () => tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];

/** The three convolution kernels of one Conv2D(outC, 3×3, stride 2, same) layer, and its fused forward. */
function convCases(model: string, layer: string, h: number, inC: number, outC: number): KernelCase[] {
  const x = [B, h, h, inC], f = [3, 3, inC, outC], oh = Math.ceil(h / 2), y = [B, oh, oh, outC];
  const flops = 2 * size(y) * 9 * inC;
  const conv = {strides: [2, 2] as [number, number], pad: 'same' as const, dataFormat: 'NHWC' as const};
  // tfjs-backend-cpu runs these convolutions at ~0.7 GFLOP/s, its Conv2DBackpropFilter at ~0.01.
  const cpu: CpuCost = flops > 1e9 ? 'slow' : 'fast';
  const cpuDw: CpuCost = flops > 1e9 ? 'minutes' : 'slow';
  const where = `${model} ${layer}`;
  const cases: KernelCase[] = [
    {kernel: 'Conv2D', where: `${where} fwd`, shapes: `x${s(x)} f${s(f)}`, flops, bytes: 4 * (size(x) + size(f) + size(y)),
      cpu, setup() {
        const inputs = [rand(x), rand(f)];
        return {inputs, run: run('Conv2D', {x: inputs[0], filter: inputs[1]}, {...conv, dilations: [1, 1]})};
      }},
    {kernel: 'FusedConv2D', where: `${where} fwd+bias`, shapes: `x${s(x)} f${s(f)} b[${outC}]`,
      flops: flops + size(y), bytes: 4 * (size(x) + size(f) + size(y) + outC), cpu, setup() {
        const inputs = [rand(x), rand(f), rand([outC])];
        return {inputs, run: run('FusedConv2D', {x: inputs[0], filter: inputs[1], bias: inputs[2]},
          {...conv, dilations: [1, 1], activation: 'linear'})};
      }},
  ];
  {
    // tfjs computes the input gradient of the first layer too (fused conv2d's custom gradient).
    cases.push({kernel: 'Conv2DBackpropInput', where: `${where} dx`, shapes: `dy${s(y)} f${s(f)}`, flops,
      bytes: 4 * (size(x) + size(f) + size(y)), cpu, setup() {
        const inputs = [rand(y), rand(f)];
        return {inputs, run: run('Conv2DBackpropInput', {dy: inputs[0], filter: inputs[1]}, {...conv, inputShape: x})};
      }});
  }
  cases.push({kernel: 'Conv2DBackpropFilter', where: `${where} dW`, shapes: `x${s(x)} dy${s(y)}`, flops,
    bytes: 4 * (size(x) + size(f) + size(y)), cpu: cpuDw, setup() {
      const inputs = [rand(x), rand(y)];
      return {inputs, run: run('Conv2DBackpropFilter', {x: inputs[0], dy: inputs[1]}, {...conv, filterShape: f})};
    }});
  return cases;
}

function poolCases(model: string, c: number): KernelCase[] {
  const x = [B, 14, 14, c], n = size(x);
  const pool = {filterSize: [2, 2], strides: [1, 1], pad: 'same'};
  return [
    {kernel: 'MaxPool', where: `${model} pool fwd`, shapes: `x${s(x)} 2×2 s1 same`, flops: 4 * n, bytes: 8 * n,
      cpu: 'fast', setup() {
        const inputs = [rand(x)];
        return {inputs, run: run('MaxPool', {x: inputs[0]}, pool)};
      }},
    {kernel: 'MaxPoolGrad', where: `${model} pool dx`, shapes: `dy,x,y${s(x)}`, flops: 4 * n, bytes: 16 * n,
      cpu: n > 1e6 ? 'slow' : 'fast', setup() {
        const xx = rand(x);
        const y = tf.engine().runKernel('MaxPool', {x: xx}, pool) as tf.Tensor;
        const inputs = [rand(x), xx, y];
        return {inputs, run: run('MaxPoolGrad', {dy: inputs[0], input: xx, output: y}, pool)};
      }},
  ];
}

/** Dense(10) on the flattened conv2 output: forward as layers runs it, plus the two gradients. */
function denseCases(model: string, k: number): KernelCase[] {
  const flops = 2 * B * k * 10, bytes = 4 * (B * k + k * 10 + B * 10);
  return [
    {kernel: 'BatchMatMul', where: `${model} dense fwd`, shapes: `[${B},${k}]×[${k},10]`, flops, bytes, cpu: 'fast',
      setup() {
        const inputs = [rand([1, B, k]), rand([1, k, 10])];
        return {inputs, run: run('BatchMatMul', {a: inputs[0], b: inputs[1]}, {transposeA: false, transposeB: false})};
      }},
    {kernel: '_FusedMatMul', where: `${model} dense fwd+bias`, shapes: `[${B},${k}]×[${k},10] +b`,
      flops: flops + B * 10, bytes, cpu: 'fast', setup() {
        const inputs = [rand([1, B, k]), rand([1, k, 10]), rand([10])];
        return {inputs, run: run('_FusedMatMul', {a: inputs[0], b: inputs[1], bias: inputs[2]},
          {transposeA: false, transposeB: false, activation: 'linear'})};
      }},
    {kernel: 'BatchMatMul', where: `${model} dense dx`, shapes: `[${B},10]×[${k},10]ᵀ`, flops, bytes, cpu: 'fast',
      setup() {
        const inputs = [rand([1, B, 10]), rand([1, k, 10])];
        return {inputs, run: run('BatchMatMul', {a: inputs[0], b: inputs[1]}, {transposeA: false, transposeB: true})};
      }},
    {kernel: 'BatchMatMul', where: `${model} dense dW`, shapes: `[${B},${k}]ᵀ×[${B},10]`, flops, bytes, cpu: 'fast',
      setup() {
        const inputs = [rand([1, B, k]), rand([1, B, 10])];
        return {inputs, run: run('BatchMatMul', {a: inputs[0], b: inputs[1]}, {transposeA: true, transposeB: false})};
      }},
  ];
}

function elementwiseCases(): KernelCase[] {
  // The teacher's conv2 filter (3·3·256·512 = 1,179,648 floats): the Adam update's operands.
  const w = [3, 3, 256, 512], n = size(w);
  const act = [B, 14, 14, 256], na = size(act);
  const binary = (kernel: string): KernelCase => ({kernel, where: 'Adam on teacher conv2 W', shapes: s(w), flops: n,
    bytes: 12 * n, cpu: 'fast', setup() {
      const inputs = [rand(w), tf.add(rand(w), 2)];
      return {inputs, run: run(kernel, {a: inputs[0], b: inputs[1]})};
    }});
  const unary = (kernel: string): KernelCase => ({kernel, where: 'Adam on teacher conv2 W', shapes: s(w), flops: n,
    bytes: 8 * n, cpu: 'fast', setup() {
      const inputs = [tf.abs(rand(w))];
      return {inputs, run: run(kernel, {x: inputs[0]})};
    }});
  return [
    {kernel: 'LeakyRelu', where: 'teacher conv1 activation', shapes: s(act), flops: 2 * na, bytes: 8 * na,
      cpu: 'fast', setup() {
        const inputs = [rand(act)];
        return {inputs, run: run('LeakyRelu', {x: inputs[0]}, {alpha: 0.2})};
      }},
    binary('Add'), binary('Multiply'), binary('RealDiv'), unary('Sqrt'), unary('Square'),
    {kernel: 'Sum', where: 'teacher conv1 bias grad', shapes: `${s(act)} axes 0,1,2`, flops: na, bytes: 4 * na,
      cpu: 'fast', setup() {
        const inputs = [rand(act)];
        return {inputs, run: run('Sum', {x: inputs[0]}, {axis: [0, 1, 2], keepDims: false})};
      }},
    {kernel: 'Sum', where: 'loss / full reduction', shapes: s(w), flops: n, bytes: 4 * n, cpu: 'fast', setup() {
      const inputs = [rand(w)];
      return {inputs, run: run('Sum', {x: inputs[0]}, {axis: [0, 1, 2, 3], keepDims: false})};
    }},
  ];
}

export function allCases(): KernelCase[] {
  return [
    ...convCases('teacher', 'conv1', 28, 1, 256),
    ...convCases('teacher', 'conv2', 14, 256, 512),
    ...convCases('student', 'conv1', 28, 1, 16),
    ...convCases('student', 'conv2', 14, 16, 32),
    ...poolCases('teacher', 256),
    ...poolCases('student', 16),
    ...denseCases('teacher', 7 * 7 * 512),
    ...denseCases('student', 7 * 7 * 32),
    ...elementwiseCases(),
  ];
}

function timeCase(c: KernelCase, backend: Backend, reps: number, budgetMs: number): Timing {
  setBackend(backend);
  const {inputs, run: call} = c.setup();
  try {
    return timeIt(() => {
      const out = call();
      const outs = Array.isArray(out) ? out : [out];
      for (const o of outs) o.dataSync();
      tf.dispose(outs);
    }, {reps, budgetMs});
  } finally {
    tf.dispose(inputs);
  }
}

export interface KernelBenchOptions {
  readonly quick: boolean;
  /** Also time the kernels that take the cpu backend minutes. */
  readonly cpuMinutes: boolean;
}

export function benchKernels(opts: KernelBenchOptions): KernelResult[] {
  const results: KernelResult[] = [];
  const nativeReps = opts.quick ? 5 : 20, nativeBudget = opts.quick ? 1000 : 3000;
  for (const c of allCases()) {
    const label = `${c.kernel} ${c.where}`;
    let native: Timing | null = null, cpu: Timing | null = null;
    if (hasNative) {
      progress(`kernels: ${label} on native`);
      native = timeCase(c, 'native', nativeReps, nativeBudget);
    }
    const skipCpu = c.cpu === 'minutes' ? !opts.cpuMinutes : c.cpu === 'slow' && opts.quick;
    if (!skipCpu) {
      progress(`kernels: ${label} on cpu${c.cpu === 'fast' ? '' : ' (slow there: one call)'}`);
      cpu = c.cpu === 'fast' ? timeCase(c, 'cpu', opts.quick ? 3 : 10, opts.quick ? 1000 : 3000) : timeCase(c, 'cpu', 1, 0);
    }
    const gf = (t: Timing | null) => (t && c.flops ? c.flops / t.ms / 1e6 : null);
    results.push({
      kernel: c.kernel, where: c.where, shapes: c.shapes, flops: c.flops, bytes: c.bytes,
      nativeKernel: isNativeKernel(c.kernel), native, cpu, cpuCost: c.cpu,
      speedup: native && cpu ? cpu.ms / native.ms : null,
      nativeGflops: gf(native), cpuGflops: gf(cpu),
      nativeGBps: native ? c.bytes / native.ms / 1e6 : null,
    });
  }
  if (hasNative) setBackend('native');
  return results;
}
