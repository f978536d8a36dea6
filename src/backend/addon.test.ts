// A missing, truncated or foreign addon binary is reported by loadAddon and never crashes: the
// process carries on (the cpu backend then runs after one warning line, checked by the CLI test).
import {execFileSync, spawnSync} from 'node:child_process';
import {copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';

import {addonFile, loadAddon} from './addon.js';

const dirs: string[] = [];
function packageWith(bytes: Buffer | null): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hafif-addon-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'package.json'), '{"name":"hafif"}');
  if (bytes != null) {
    mkdirSync(path.join(dir, 'build', 'Release'), {recursive: true});
    writeFileSync(path.join(dir, 'build', 'Release', 'hafif_native.node'), bytes);
  }
  return dir;
}
afterAll(() => dirs.forEach((d) => rmSync(d, {recursive: true, force: true})));

describe('loadAddon', () => {
  it('loads the built addon', () => {
    expect(addonFile).not.toBeNull();
    const r = loadAddon();
    expect(r.error).toBeNull();
    expect(typeof r.addon?.batchMatMul).toBe('function');
  });

  it('reports a missing addon', () => {
    const r = loadAddon(packageWith(null));
    expect(r.addon).toBeNull();
    expect(r.error).toMatch(/no .*hafif_native\.node and no prebuilt addon for linux-/);
  });

  const real = readFileSync(addonFile!);
  const foreign = Buffer.from(real);
  foreign.writeUInt16LE(183, 18); // e_machine = EM_AARCH64 (or x86-64's 62 when run on arm64)
  if (process.arch === 'arm64') foreign.writeUInt16LE(62, 18);
  const cases: [string, Buffer][] = [
    ['truncated', real.subarray(0, 4096)],
    ['half', real.subarray(0, real.length >> 1)],
    ['one byte short', real.subarray(0, real.length - 1)],
    ['empty', Buffer.alloc(0)],
    ['text', Buffer.from('not a shared library\n')],
    ['built for another CPU architecture', foreign],
  ];
  for (const [what, bytes] of cases) {
    it(`reports a ${what} binary in one line`, () => {
      const r = loadAddon(packageWith(bytes));
      expect(r.addon).toBeNull();
      expect(r.error).toContain('hafif_native.node');
      expect(r.error).not.toContain('\n');
    });
  }

  it('reports a shared library that is not a Node addon', () => {
    const libm = execFileSync('sh', ['-c', 'ldconfig -p | grep -m1 "libm.so.6 " | sed "s/.*=> //"'], {encoding: 'utf8'}).trim();
    const dir = packageWith(null);
    mkdirSync(path.join(dir, 'build', 'Release'), {recursive: true});
    copyFileSync(libm, path.join(dir, 'build', 'Release', 'hafif_native.node'));
    const r = loadAddon(dir);
    expect(r.addon).toBeNull();
    expect(r.error).toContain('hafif_native.node');
  });

  it('a CLI run with a corrupt addon warns in one line, names the rebuild command and uses cpu', () => {
    // A copy of the package (node_modules linked) whose addon is truncated.
    const dir = packageWith(real.subarray(0, 1000));
    const here = path.resolve(import.meta.dirname, '..', '..');
    cpSync(path.join(here, 'dist'), path.join(dir, 'dist'), {recursive: true});
    cpSync(path.join(here, 'bin'), path.join(dir, 'bin'), {recursive: true});
    symlinkSync(path.join(here, 'node_modules'), path.join(dir, 'node_modules'));
    writeFileSync(path.join(dir, 'package.json'), readFileSync(path.join(here, 'package.json')));
    const r = spawnSync(process.execPath, [path.join(dir, 'bin', 'hafif.js'), 'info', '--json'], {encoding: 'utf8'});
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^hafif: native addon unavailable \(.*hafif_native\.node: .*\); using the slow cpu backend\. For the fast path run `npm run build:native`/);
    expect(JSON.parse(r.stdout)).toMatchObject({backend: 'cpu', addon: null});
  });
});
