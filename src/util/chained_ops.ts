// Tensor methods (`x.sum()`, `x.add(y)`, ...). tfjs-core registers them from its ES module entry,
// which Node cannot load (extensionless imports); its CommonJS bundle, the one Node loads, has none.
// This adds the same methods, each calling the op of the same name with the tensor first, as
// tfjs-core's public/chained_ops/*.ts do.
import * as tfc from '@tensorflow/tfjs-core';

// Method name = op name, called as op(this, ...args).
const SAME = `abs acos acosh add all any argMax argMin asin asinh atan atan2 atanh avgPool batchToSpaceND
  batchNorm broadcastTo cast ceil clipByValue concat conv1d conv2d conv2dTranspose cos cosh cumprod cumsum
  depthToSpace depthwiseConv2d dilation2d div divNoNan dot elu equal erf euclideanNorm exp expandDims expm1
  flatten floor floorDiv gather greater greaterEqual isFinite isInf isNaN leakyRelu less lessEqual
  localResponseNormalization log log1p logSigmoid logSoftmax logSumExp logicalAnd logicalNot logicalOr logicalXor
  matMul max maxPool maximum mean min minimum mirrorPad mod mul neg norm notEqual oneHot onesLike pad pool pow
  prelu prod reciprocal relu relu6 reshape reverse round rsqrt selu separableConv2d sigmoid sign sin sinh slice
  softmax softplus spaceToBatchND split sqrt square squaredDifference squeeze stack step stridedSlice sub sum tan
  tanh tile topk transpose unique unsortedSegmentSum unstack where zerosLike`.split(/\s+/);

type Method = (this: tfc.Tensor, ...args: unknown[]) => unknown;

const SPECIAL: Record<string, Method> = {
  as1D() { return tfc.reshape(this, [this.size]); },
  as2D(...s) { return tfc.reshape(this, s as number[]); },
  as3D(...s) { return tfc.reshape(this, s as number[]); },
  as4D(...s) { return tfc.reshape(this, s as number[]); },
  as5D(...s) { return tfc.reshape(this, s as number[]); },
  asScalar() {
    if (this.size !== 1) throw new Error('The array must have only 1 element.');
    return tfc.reshape(this, []);
  },
  asType(dtype) { return tfc.cast(this, dtype as tfc.DataType); },
  toBool() { return tfc.cast(this, 'bool'); },
  toFloat() { return tfc.cast(this, 'float32'); },
  toInt() { return tfc.cast(this, 'int32'); },
  reshapeAs(x) { return tfc.reshape(this, (x as tfc.Tensor).shape); },
  resizeBilinear(...a) { return (tfc.image.resizeBilinear as (...x: unknown[]) => unknown)(this, ...a); },
  resizeNearestNeighbor(...a) { return (tfc.image.resizeNearestNeighbor as (...x: unknown[]) => unknown)(this, ...a); },
  fft() { return tfc.spectral.fft(this); },
  ifft() { return tfc.spectral.ifft(this); },
  rfft() { return tfc.spectral.rfft(this); },
  irfft() { return tfc.spectral.irfft(this); },
};

/** Adds the methods the loaded tfjs-core build lacks; existing ones are left alone. */
export function registerChainedOps(): void {
  const proto = tfc.Tensor.prototype as unknown as Record<string, unknown>;
  const ops = tfc as unknown as Record<string, unknown>;
  const define = (name: string, fn: Method) => {
    if (typeof proto[name] === 'function') return;
    Object.defineProperty(proto, name, {
      configurable: true,
      writable: true,
      value(this: tfc.Tensor, ...args: unknown[]) {
        this.throwIfDisposed();
        return fn.apply(this, args);
      },
    });
  };
  for (const name of SAME) {
    const op = ops[name];
    if (typeof op === 'function') define(name, function (...args) { return (op as (...a: unknown[]) => unknown)(this, ...args); });
  }
  for (const [name, fn] of Object.entries(SPECIAL)) define(name, fn);
}

registerChainedOps();
