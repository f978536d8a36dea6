// Verified, atomic downloads: the body streams into a temporary file beside the destination while
// it is hashed; only a file whose checksum matches is renamed into place, anything else is deleted.
import {createHash, randomBytes} from 'node:crypto';
import {createWriteStream} from 'node:fs';
import {rename, rm} from 'node:fs/promises';
import {basename} from 'node:path';
import {Readable, Transform} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import type {ReadableStream as WebReadableStream} from 'node:stream/web';

import {UsageError} from '../util/registry.js';

/** A hex MD5 (32 digits) or SHA-256 (64 digits) digest; its length names the algorithm. */
export type Checksum = string;

/** The algorithm of a hex digest, or a UsageError naming the bad digest. */
export function checksumAlgorithm(checksum: Checksum, what: string): 'md5' | 'sha256' {
  if (/^[0-9a-f]{32}$/i.test(checksum)) return 'md5';
  if (/^[0-9a-f]{64}$/i.test(checksum)) return 'sha256';
  throw new UsageError(`checksum of ${what} must be a hex MD5 (32 digits) or SHA-256 (64 digits), got "${checksum}"`);
}

export interface DownloadOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (msg: string) => void;
}

/**
 * Downloads `url` to `dest` if its content has the digest `checksum`; on any failure (HTTP error,
 * network error, abort, mismatch) nothing is left at `dest` or beside it.
 */
export async function downloadVerified(url: string, dest: string, checksum: Checksum, options: DownloadOptions = {}): Promise<void> {
  const {signal, onProgress} = options;
  const name = basename(dest);
  const algorithm = checksumAlgorithm(checksum, name);
  signal?.throwIfAborted();
  const tmp = `${dest}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
  try {
    let res: Response;
    try {
      // identity: the digest is of the file itself, never of a transfer encoding of it.
      res = await fetch(url, {signal, headers: {'accept-encoding': 'identity'}});
    } catch (e) {
      if (signal?.aborted) throw e;
      const cause = (e as Error & {cause?: Error}).cause?.message ?? (e as Error).message;
      throw new UsageError(`cannot download ${url}: ${cause}`);
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new UsageError(`cannot download ${url}: HTTP ${res.status} ${res.statusText}`.trim());
    }
    const total = Number(res.headers.get('content-length')) || 0;
    onProgress?.(`downloading ${url}${total ? ` (${(total / 1e6).toFixed(1)} MB)` : ''}`);
    const hash = createHash(algorithm);
    let received = 0;
    let nextReport = 0.1;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        received += chunk.length;
        if (total && received / total >= nextReport) {
          onProgress?.(`${name}: ${Math.floor((100 * received) / total)}%`);
          while (received / total >= nextReport) nextReport += 0.1;
        }
        done(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), tap, createWriteStream(tmp), {signal});
    const digest = hash.digest('hex');
    if (digest !== checksum.toLowerCase()) {
      throw new UsageError(
          `${name}: checksum mismatch, expected ${algorithm.toUpperCase()} ${checksum.toLowerCase()}, got ${digest} ` +
          `(${received} bytes from ${url}); the download was discarded`);
    }
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, {force: true});
    throw e;
  }
}
