// Loads the N-API addon built at install (or shipped prebuilt). A missing or broken build is not an error:
// hafif then runs on the `cpu` backend after one warning line.
import {closeSync, existsSync, openSync, readSync, statSync} from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

/** An activation batchNormTrain applies to its output in the same pass (tfjs' Relu, Relu6). */
export type BatchNormActivation = 'linear' | 'relu' | 'relu6';

/** The functions of `build/Release/hafif_native.node`. Outputs are preallocated by the caller. */
export interface NativeAddon {
  numThreads(n?: number): number;
  /** The ISA whose kernels run: 'avx512', 'avx2', 'baseline' (HAFIF_ISA forces one), or 'native' for a -march=native build. */
  isa(): 'avx512' | 'avx2' | 'baseline' | 'native';
  /** Why HAFIF_ISA was not honoured, or ''. */
  isaNote(): string;
  /**
   * Test hook: a parallel_for over [0, n) in chunks of one index, the chunk of index throwAt throwing
   * (std::bad_alloc when badAlloc); returns the sum of the indices visited.
   */
  parallelSelfTest(n: number, throwAt: number, badAlloc?: boolean): number;
  readonly hasBlas: boolean;
  gemmImpl(impl?: 'own' | 'blas'): 'own' | 'blas';
  /** dims = [batchA, batchB, M, N, K]; a batch of 1 broadcasts. */
  batchMatMul(a: Float32Array, b: Float32Array, out: Float32Array, dims: number[], transA: boolean, transB: boolean): void;
  /** batchMatMul, then out = act(out + bias); bias has 1 or N elements (broadcast along N). */
  fusedMatMul(a: Float32Array, b: Float32Array, bias: Float32Array | null, out: Float32Array, dims: number[],
    transA: boolean, transB: boolean, activation: 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu',
    leakyreluAlpha: number): void;
  /**
   * Benchmark hook: mean seconds per call of hafif's own GEMM ('own') or the linked BLAS ('blas') on a
   * row-major [M,K] x [K,N] product (operands stored transposed when trans*), after one warm-up call.
   * Throws for 'blas' when `hasBlas` is false. GFLOP/s = 2*M*N*K / seconds / 1e9.
   */
  sgemmBench(impl: 'own' | 'blas', M: number, N: number, K: number, transA: boolean, transB: boolean, reps: number): number;
  /**
   * Test hook: hafif's own GEMM with strides, alpha and beta, c = alpha * op(a) x op(b) + beta * c on
   * row-major operands (dims = [M, N, K, lda, ldb, ldc]; c is not read when beta is 0), on the
   * calling thread when `serial`, else split over the pool.
   */
  sgemmOwn(a: Float32Array, b: Float32Array, c: Float32Array, dims: number[], transA: boolean, transB: boolean,
    alpha: number, beta: number, serial: boolean): void;
  // depthwise (NHWC) geom = [batch, inH, inW, inC, outH, outW, channelMultiplier, filterH, filterW,
  // strideH, strideW, dilationH, dilationW, padTop, padLeft]; filter is [filterH, filterW, inC, channelMultiplier].
  /** out = act(depthwise(x, filter) + bias); bias (inC * channelMultiplier values) may be null. */
  depthwiseConv2d(x: Float32Array, filter: Float32Array, out: Float32Array, geom: number[], bias?: Float32Array | null,
    activation?: 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu', leakyreluAlpha?: number): void;
  /**
   * 'blocked': 3×3 multiplier-1 depthwise convs with channels divisible by 4 run the register-blocked
   * per-ISA kernels (the default); 'general': every conv runs the general loops (tests, benchmarks).
   */
  depthwiseImpl(impl?: 'blocked' | 'general'): 'blocked' | 'general';
  depthwiseConv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, geom: number[]): void;
  depthwiseConv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, geom: number[]): void;
  /**
   * Inference conv for small filters (at most 32768 values) with outC divisible by 16 (pointwise
   * 1×1 convs, first layers): out = act(conv(x, filter) + bias); geom as conv2d's. Forward only.
   */
  smallConv2d(x: Float32Array, filter: Float32Array, bias: Float32Array | null, out: Float32Array, geom: number[],
    activation?: 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu', leakyreluAlpha?: number): void;
  /**
   * Whether conv2d and conv2dBackpropFilter (and the compiled Conv2D layer) run first layers on the
   * small-conv kernels (default; HAFIF_SMALL_CONV=0 turns it off); sets it when given. For A/B benchmarks.
   */
  smallConv(on?: boolean): boolean;
  /** Whether pointwiseBackward takes this conv2d geom (1x1 stride 1 unpadded, inC and outC divisible by 16, at most 16384 filter values). */
  pointwiseBackwardApplies?(geom: number[]): boolean;
  /**
   * The gradients of a pointwise conv2d (without bias or activation) in one pass over dy: dw and,
   * when dx is given, dx. Both are overwritten.
   */
  pointwiseBackward?(x: Float32Array, dy: Float32Array, filter: Float32Array, dx: Float32Array | null, dw: Float32Array,
    geom: number[]): void;
  /** Whether smallConv2dBackpropFilter takes this geom (outC divisible by 16, at most 4 input channels, 64 taps). */
  smallConvFilterApplies(geom: number[]): boolean;
  /**
   * Filter gradient of a conv with few input channels in one pass: dw from d = dy, or from tfjs'
   * Relu gradient dy·step(y) when y (the conv's relu output) is given; db, when given, = sum of d
   * over the output pixels (the bias gradient). geom as conv2d's.
   */
  smallConv2dBackpropFilter(x: Float32Array, y: Float32Array | null, dy: Float32Array, dw: Float32Array,
    db: Float32Array | null, geom: number[]): void;
  // Kernel families add their functions below, one block each.
  // -- conv --
  /**
   * NHWC conv: out = act(conv(x, filter) + bias). geom (see conv_util.ts convGeometry) =
   * [batch, inH, inW, inC, outH, outW, outC, filterH, filterW, strideH, strideW, dilationH, dilationW, padTop, padLeft].
   */
  conv2d(x: Float32Array, filter: Float32Array, bias: Float32Array | null, out: Float32Array, geom: number[],
    activation?: 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu', leakyreluAlpha?: number): void;
  /** dx = gradient of conv2d wrt x; same geom as the forward conv. */
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, geom: number[]): void;
  /**
   * dw = gradient of conv2d wrt the filter; same geom as the forward conv. With `db` (outC floats),
   * also the bias gradient (dy summed over batch and positions), in the same pass where it can.
   */
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, geom: number[], db?: Float32Array | null): void;
  /**
   * Whether 3×3 stride-1 convolutions take the Winograd F(2×2, 3×3) path (default on, off with
   * HAFIF_CONV_WINOGRAD=0); sets it when `on` is given. For A/B benchmarks and tests.
   */
  convWinograd(on?: boolean): boolean;
  /** Whether the Winograd convolutions take F(4x4, 3x3) tiles on outputs of at least 7x7 from at most 64
   * channels (inC; outC for the input gradient; else F(2x2, 3x3)); default on, off with HAFIF_CONV_WINOGRAD4=0; sets it
   * when given. */
  convWinograd4(on?: boolean): boolean;
  // -- pool --
  /** geom = [batch, inH, inW, channels, outH, outW, filterH, filterW, strideH, strideW, padTop, padLeft]. */
  maxPool(x: Float32Array, y: Float32Array, geom: number[]): void;
  avgPool(x: Float32Array, y: Float32Array, geom: number[]): void;
  maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, geom: number[]): void;
  avgPoolGrad(dy: Float32Array, dx: Float32Array, geom: number[]): void;
  // -- elementwise --
  /** Op codes of `binary` and `unary`, keyed by tfjs registry name. */
  readonly binaryOps: Readonly<Record<string, number>>;
  readonly unaryOps: Readonly<Record<string, number>>;
  /** out has the broadcast shape of a and b; a Uint8Array for comparisons. */
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array | Uint8Array, aShape: number[], bShape: number[]): void;
  /** alpha: LeakyRelu's slope, Step's value for x <= 0, ClipByValue's lower bound; beta: ClipByValue's upper bound. */
  unary(op: number, x: Float32Array, out: Float32Array, alpha?: number, beta?: number): void;
  select(condition: Uint8Array, t: Float32Array, e: Float32Array, out: Float32Array): void;
  addN(xs: Float32Array[], out: Float32Array): void;
  batchNorm(x: Float32Array, mean: Float32Array, variance: Float32Array, offset: Float32Array | null,
    scale: Float32Array | null, out: Float32Array, varianceEpsilon: number): void;
  /** Between Float32Array, Int32Array and Uint8Array (bool) with JavaScript's conversions. */
  cast(x: Float32Array | Int32Array | Uint8Array, out: Float32Array | Int32Array | Uint8Array): void;
  // -- reduce --
  /** Reductions of x viewed as dims = [outer, reduce, inner] into out [outer, inner]. */
  sum(x: Float32Array, out: Float32Array, dims: number[]): void;
  mean(x: Float32Array, out: Float32Array, dims: number[]): void;
  prod(x: Float32Array, out: Float32Array, dims: number[]): void;
  max(x: Float32Array, out: Float32Array, dims: number[]): void;
  min(x: Float32Array, out: Float32Array, dims: number[]): void;
  argMax(x: Float32Array, out: Int32Array, dims: number[]): void;
  argMin(x: Float32Array, out: Int32Array, dims: number[]): void;
  /** Softmax over the last axis; dims = [rows, cols]. */
  softmax(x: Float32Array, out: Float32Array, dims: number[]): void;
  transpose(x: Float32Array, out: Float32Array, shape: number[], perm: number[]): void;
  slice(x: Float32Array, out: Float32Array, shape: number[], begin: number[], size: number[]): void;
  /** paddings = [before0, after0, before1, after1, ...]. */
  padV2(x: Float32Array, out: Float32Array, shape: number[], paddings: number[], constantValue: number): void;
  /** Concat of 2-D views [outer, cols[i]] along axis 1. */
  concat(inputs: Float32Array[], out: Float32Array, outer: number, cols: number[]): void;
  // -- optim --
  /**
   * One Adam step for one variable (HostAdam's update): m and v are updated in place, the new weights
   * are written to wOut. stepSize = lr / (1 - beta1^t), invSqrtBc2 = 1 / sqrt(1 - beta2^t).
   * m, v and wOut may not share memory with any other argument.
   */
  adamUpdate(g: Float32Array, m: Float32Array, v: Float32Array, w: Float32Array, wOut: Float32Array,
    beta1: number, beta2: number, stepSize: number, invSqrtBc2: number, epsilon: number): void;
  /**
   * adamUpdate for many variables in one call: after the scalars, g, m, v, w, wOut of each variable
   * in turn (5 arrays per variable). No written array (m, v, wOut) may share memory with any other.
   */
  adamUpdateMany(beta1: number, beta2: number, stepSize: number, invSqrtBc2: number, epsilon: number, ...slots: Float32Array[]): void;
  // -- batchnorm --
  /**
   * Training-mode batch norm over x [rows, channels]: mean and biased variance per channel, y =
   * (x - mean)·scale/sqrt(variance + epsilon) + offset; with movingMean/movingVar, newMoving* =
   * moving - (moving - batch)·(1 - momentum). scale, offset and the moving arrays may be null.
   */
  batchNormTrain(x: Float32Array, scale: Float32Array | null, offset: Float32Array | null, movingMean: Float32Array | null,
    movingVar: Float32Array | null, y: Float32Array, mean: Float32Array, variance: Float32Array,
    newMovingMean: Float32Array | null, newMovingVar: Float32Array | null, channels: number, epsilon: number,
    momentum: number, activation?: BatchNormActivation): void;
  /**
   * Gradients of batchNormTrain's y (dy), mean (dmean) and variance (dvar) wrt x, scale and offset.
   * With an activation, dy is the gradient of the activated output `y` (batchNormTrain's, given
   * with the forward's offset) and the activation's gradient is applied to it first.
   */
  batchNormTrainGrad(dy: Float32Array, x: Float32Array, mean: Float32Array, variance: Float32Array,
    scale: Float32Array | null, dmean: Float32Array | null, dvar: Float32Array | null, dx: Float32Array,
    dscale: Float32Array | null, doffset: Float32Array | null, channels: number, epsilon: number,
    activation?: BatchNormActivation, offset?: Float32Array | null, y?: Float32Array): void;
  // -- activation grad --
  /**
   * dx = dy·step(x) as tfjs' Relu gradient (NaN where x is NaN), and 0 where x > maxValue
   * (ReLU(maxValue): ClipByValue's gradient after Relu's). dx may be dy.
   */
  reluGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, maxValue?: number | null): void;
  /** dx = dy where x > 0, else dy·alpha in float32 (tfjs' LeakyRelu gradient). */
  leakyReluGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, alpha: number): void;
  /** dx = dy where lo ≤ x ≤ hi, else 0 (0 where x is NaN): tfjs' ClipByValue gradient. */
  clipByValueGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, lo: number, hi: number): void;
  // -- pool positions --
  /**
   * maxPool's y, and pos[i] = the index within its image ((r·inW + q)·C + c) of the input y[i] is
   * (-1 for a window without a maximum); same geom as maxPool.
   */
  maxPoolPositions(x: Float32Array, y: Float32Array, pos: Int32Array, geom: number[]): void;
  /**
   * maxPoolGrad from the positions maxPoolPositions wrote; with reluOf (the pool's input, a Relu's
   * output) dx is then Relu's gradient there, as reluGrad(reluOf, dx, dx) would make it.
   */
  maxPoolGradPositions(pos: Int32Array, dy: Float32Array, dx: Float32Array, geom: number[], reluOf?: Float32Array | null): void;
  [name: string]: unknown;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const require = createRequire(import.meta.url);

/** The one command that rebuilds the addon where hafif is (a clone, or a dependency in node_modules). */
export const rebuildCommand: string = root.split(path.sep).includes('node_modules')
  ? 'npm rebuild hafif'
  : 'npm run build:native';

const elfMachine: Partial<Record<string, number>> = {x64: 62, arm64: 183, ia32: 3, arm: 40};

/**
 * Why the ELF shared object `file` cannot be this process's addon, or null when it may be. dlopen
 * rejects most bad files with an error, but maps a truncated one and then dies of SIGBUS on the
 * missing pages, so the header, the architecture and the extent of every segment are checked first.
 */
export function elfProblem(file: string): string | null {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  try {
    const read = (offset: number, length: number): Buffer => {
      const b = Buffer.alloc(length);
      return b.subarray(0, readSync(fd, b, 0, length, offset));
    };
    const h = read(0, 64);
    if (h.length < 64 || h.readUInt32BE(0) !== 0x7f454c46) return 'not an ELF shared object';
    if (h[4] !== 2 || h[5] !== 1) return 'not a 64-bit little-endian ELF file';
    const machine = h.readUInt16LE(18);
    const want = elfMachine[process.arch];
    if (want != null && machine !== want) return `built for ELF machine ${machine}, this is ${process.arch} (${want})`;
    const phoff = Number(h.readBigUInt64LE(32)), shoff = Number(h.readBigUInt64LE(40));
    const phentsize = h.readUInt16LE(54), phnum = h.readUInt16LE(56);
    const shentsize = h.readUInt16LE(58), shnum = h.readUInt16LE(60);
    const truncated = `truncated (${size} bytes)`;
    if (phoff + phnum * phentsize > size || shoff + shnum * shentsize > size || phentsize < 56) return truncated;
    const ph = read(phoff, phnum * phentsize);
    for (let i = 0; i < phnum; ++i) {
      const o = i * phentsize;
      if (Number(ph.readBigUInt64LE(o + 8)) + Number(ph.readBigUInt64LE(o + 32)) > size) return truncated;
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Loads the addon of the package at `dir`: build/Release/hafif_native.node when it was compiled
 * here, else the prebuilt binary in prebuilds/ that fits this platform (node-gyp-build's choice).
 * A missing, truncated or foreign binary is reported, never thrown: dlopen refuses it cleanly.
 */
export function loadAddon(dir: string = root): {addon: NativeAddon | null; error: string | null; file: string | null} {
  if (process.env.HAFIF_DISABLE_NATIVE === '1') {
    return {addon: null, error: 'disabled by HAFIF_DISABLE_NATIVE=1', file: null};
  }
  let file: string;
  try {
    // HAFIF_ADDON names one binary to load instead (benchmarks compare builds with it).
    file = process.env.HAFIF_ADDON || (require('node-gyp-build') as {resolve(dir: string): string}).resolve(dir);
    if (!existsSync(file)) return {addon: null, error: `HAFIF_ADDON=${file} does not exist`, file: null};
  } catch {
    return {addon: null, error: `no ${path.join(dir, 'build', 'Release', 'hafif_native.node')} and no prebuilt addon for ${process.platform}-${process.arch}`, file: null};
  }
  try {
    const problem = process.platform === 'linux' ? elfProblem(file) : null;
    if (problem != null) return {addon: null, error: `${file}: ${problem}`, file};
    const addon = require(file) as NativeAddon;
    if (typeof addon.numThreads !== 'function' || typeof addon.batchMatMul !== 'function') {
      return {addon: null, error: `${file} is not hafif's addon`, file};
    }
    return {addon, error: null, file};
  } catch (e) {
    return {addon: null, error: `${file}: ${(e as Error).message.split('\n')[0]}`, file};
  }
}

const loaded = loadAddon();

/** The addon, or null when it is not built. */
export const addon: NativeAddon | null = loaded.addon;
/** Why the addon is missing, or null. */
export const addonError: string | null = loaded.error;
/** The addon binary in use, or null. */
export const addonFile: string | null = loaded.addon != null ? loaded.file : null;
