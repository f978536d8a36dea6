// Helpers for the data tests (excluded from the build).
import {mkdtemp, readdir, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join, relative} from 'node:path';

/** Every file (not directory) under `dir`, relative to it, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, {withFileTypes: true, recursive: true})) {
    if (!entry.isDirectory()) out.push(relative(dir, join(entry.parentPath ?? entry.path, entry.name)));
  }
  return out.sort();
}

/** A fresh directory under os.tmpdir() and its remover. */
export async function tempDir(prefix = 'hafif-data-'): Promise<{dir: string; remove: () => Promise<void>}> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return {dir, remove: () => rm(dir, {recursive: true, force: true})};
}
