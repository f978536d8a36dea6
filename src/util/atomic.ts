import {randomBytes} from 'node:crypto';
import {mkdir, open, rename, rm} from 'node:fs/promises';
import {dirname} from 'node:path';

/**
 * Writes `data` to a temporary file beside `path`, flushes it to disk and renames it over
 * `path`: readers never see half a file, a crash leaves the old file or the new one, and a
 * failed write leaves nothing behind. Creates the parent directory.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, {recursive: true});
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, {force: true});
    throw e;
  }
  // The rename itself reaches the disk with the directory.
  const d = await open(dir, 'r').catch(() => null);
  if (d) {
    await d.sync().catch(() => {});
    await d.close();
  }
}
