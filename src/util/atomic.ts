import {mkdir, rename, rm, writeFile} from 'node:fs/promises';
import {dirname, basename, join} from 'node:path';

/** Writes a file through a temp file in the same directory and a rename: readers never see half a file. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), {recursive: true});
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, {force: true});
    throw e;
  }
}
