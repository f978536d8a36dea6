// Extraction of a (gzipped) tarball that refuses anything able to write outside the target:
// absolute paths, `..` segments, symbolic and hard links, devices and FIFOs.
import {extract, type ReadEntry} from 'tar';
import type {Stats} from 'node:fs';

import {UsageError} from '../util/registry.js';

const REGULAR = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/** Why `entryPath` of type `type` is unsafe to extract, or null when it is safe. */
export function unsafeEntryReason(entryPath: string, type: string): string | null {
  if (!REGULAR.has(type)) return `${type} entries are not allowed`;
  if (entryPath.startsWith('/') || entryPath.startsWith('\\') || /^[a-zA-Z]:/.test(entryPath)) return 'absolute path';
  if (entryPath.split(/[/\\]/).includes('..')) return '".." in path';
  return null;
}

export interface SafeExtractOptions {
  readonly signal?: AbortSignal;
}

/**
 * Extracts `archive` into the existing directory `dir`. Unsafe entries are never written; if
 * there was any, a UsageError naming the first one is thrown after extraction (the caller extracts
 * into a fresh temporary directory and deletes it on error).
 */
export async function extractTarSafely(archive: string, dir: string, options: SafeExtractOptions = {}): Promise<void> {
  options.signal?.throwIfAborted();
  let rejected: string | null = null;
  try {
    await extract({
      file: archive,
      cwd: dir,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      filter: (entryPath: string, entry: ReadEntry | Stats) => {
        const type = 'type' in entry ? String(entry.type) : 'File';
        const reason = unsafeEntryReason(entryPath, type);
        if (reason !== null) {
          rejected ??= `"${entryPath}"${'linkpath' in entry && entry.linkpath ? ` -> "${entry.linkpath}"` : ''} (${reason})`;
          return false;
        }
        return !options.signal?.aborted;
      },
    });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${archive}: cannot extract (${(e as Error).message})`);
  }
  options.signal?.throwIfAborted();
  if (rejected !== null) throw new UsageError(`${archive}: unsafe tar entry ${rejected}; refusing to use this archive`);
}
