// IDX files (LeCun's MNIST format), raw or gzipped: magic 0x0000TTDD (TT element type, DD number of
// dimensions), DD big-endian uint32 sizes, then the elements. Only unsigned bytes (TT = 0x08) are used
// by MNIST-like datasets, so only they are supported.
import {readFile} from 'node:fs/promises';
import {basename} from 'node:path';
import {promisify} from 'node:util';
import {gunzip as gunzipCb, gzip as gzipCb} from 'node:zlib';

import {writeFileAtomic} from '../util/atomic.js';
import {UsageError} from '../util/registry.js';

const gunzip = promisify(gunzipCb);
const gzip = promisify(gzipCb);

/** The IDX element type of unsigned bytes, the only one supported. */
export const IDX_UBYTE = 0x08;

/** An n-dimensional array of unsigned bytes, row-major, as stored in an IDX file. */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

export interface ReadIdxOptions {
  /** Expected number of dimensions (3 for images, 1 for labels); another magic is an error. */
  readonly ndim?: number;
}

const hex8 = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/** True when `bytes` starts with the gzip magic 1f 8b. */
export const isGzip = (bytes: Uint8Array) => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/**
 * Parses IDX bytes (already decompressed). `name` names the file in errors:
 * `train-images-idx3-ubyte: truncated, expected 47040016 bytes, got 1024`.
 */
export function parseIdx(bytes: Uint8Array, name: string, options: ReadIdxOptions = {}): IdxArray {
  if (bytes.length < 4) throw new UsageError(`${name}: truncated, expected at least 4 bytes of IDX header, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const type = bytes[2];
  const ndim = bytes[3];
  const wanted = options.ndim;
  if (bytes[0] !== 0 || bytes[1] !== 0 || type !== IDX_UBYTE || ndim === 0 || (wanted !== undefined && ndim !== wanted)) {
    const expected = wanted !== undefined ? hex8((IDX_UBYTE << 8) | wanted) : `0x000008NN (unsigned bytes, NN dimensions)`;
    throw new UsageError(`${name}: bad magic ${hex8(magic)}, expected ${expected}; not an IDX file of unsigned bytes`);
  }
  const header = 4 + 4 * ndim;
  if (bytes.length < header) {
    throw new UsageError(`${name}: truncated, expected at least ${header} bytes of IDX header, got ${bytes.length}`);
  }
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i);
    dims.push(d);
    size *= d;
  }
  const expected = header + size;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated' : 'trailing data';
    throw new UsageError(`${name}: ${what}, expected ${expected} bytes, got ${bytes.length} (dimensions ${dims.join('x')})`);
  }
  return {dims, data: bytes.subarray(header)};
}

/** Encodes an IDX array as raw (uncompressed) IDX bytes. */
export function encodeIdx(array: IdxArray): Uint8Array {
  const {dims, data} = array;
  if (dims.length === 0 || dims.length > 255) throw new Error(`IDX needs 1 to 255 dimensions, got ${dims.length}`);
  let size = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new Error(`IDX dimension must be a uint32, got ${d}`);
    size *= d;
  }
  if (size !== data.length) throw new Error(`IDX dimensions ${dims.join('x')} hold ${size} bytes, data has ${data.length}`);
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + size);
  const view = new DataView(out.buffer);
  view.setUint32(0, (IDX_UBYTE << 8) | dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, header);
  return out;
}

/** Reads an IDX file, gunzipping it when it starts with the gzip magic (whatever its extension). */
export async function readIdx(path: string, options: ReadIdxOptions = {}): Promise<IdxArray> {
  const name = basename(path);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new UsageError(`${name}: no such file ${path}`);
    throw e;
  }
  if (isGzip(bytes)) {
    try {
      bytes = await gunzip(bytes);
    } catch (e) {
      throw new UsageError(`${name}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  return parseIdx(bytes, name, options);
}

export interface WriteIdxOptions {
  /** Gzip the file. @default true when the path ends with `.gz` */
  readonly gzip?: boolean;
}

/**
 * Writes an IDX file atomically (temporary file, then rename), gzipped when asked.
 * @example await writeIdx('t10k-labels-idx1-ubyte.gz', {dims: [n], data: labels});
 */
export async function writeIdx(path: string, array: IdxArray, options: WriteIdxOptions = {}): Promise<void> {
  const raw = encodeIdx(array);
  const bytes = (options.gzip ?? path.endsWith('.gz')) ? await gzip(raw) : raw;
  await writeFileAtomic(path, bytes);
}

