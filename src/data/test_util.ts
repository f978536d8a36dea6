// Helpers for the data tests (excluded from the build).
import {mkdtemp, readdir, rm} from 'node:fs/promises';
import {createServer} from 'node:http';
import type {AddressInfo} from 'node:net';
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

/** One ustar entry: a 512-byte header (typeflag '0' file, '2' symlink, '1' hardlink, '5' dir) and its padded body. */
export function tarEntry(name: string, body: Uint8Array = new Uint8Array(0), type = '0', linkname = ''): Uint8Array {
  const header = new Uint8Array(512);
  const put = (offset: number, length: number, text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length > length) throw new Error(`tar field too long: ${text}`);
    header.set(bytes, offset);
  };
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, '0') + '\0';
  put(0, 100, name);
  put(100, 8, octal(type === '5' ? 0o755 : 0o644, 8));
  put(108, 8, octal(0, 8));
  put(116, 8, octal(0, 8));
  put(124, 12, octal(type === '0' ? body.length : 0, 12));
  put(136, 12, octal(1_700_000_000, 12));
  put(148, 8, '        ');
  put(156, 1, type);
  put(157, 100, linkname);
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  const sum = header.reduce((a, b) => a + b, 0);
  put(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  const padded = type === '0' ? Math.ceil(body.length / 512) * 512 : 0;
  const out = new Uint8Array(512 + padded);
  out.set(header);
  if (type === '0') out.set(body, 512);
  return out;
}

/** A tar archive of `entries`, ended by two zero blocks. */
export function tarArchive(entries: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat([...entries, new Uint8Array(1024)]);
}

export interface TestServer {
  readonly baseUrl: string;
  /** Paths requested so far. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 serving `files` by name (404 for anything else). */
export async function serveFiles(files: ReadonlyMap<string, Uint8Array>): Promise<TestServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1);
    requests.push(path);
    const body = files.get(path);
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, {'content-type': 'application/octet-stream', 'content-length': body.length}).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
