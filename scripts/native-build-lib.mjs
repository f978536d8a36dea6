// Shared by build-native.mjs (install-time build) and prebuild.mjs (npm pack): the addon is always
// compiled in a private staging copy of the sources, so an interrupted build never touches the
// addon in build/Release, which is replaced only by a rename of a finished binary.
import {cpSync, existsSync, mkdirSync, readdirSync, rmSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const addonPath = path.join(root, 'build', 'Release', 'hafif_native.node');
const stagingPrefix = '.staging-';

/** `[command, args]` running `node-gyp <args>`: npm's copy inside lifecycle scripts, else npm's bundled one. */
export function nodeGyp(args) {
  const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules',
    'node-gyp', 'bin', 'node-gyp.js');
  const gyp = process.env.npm_config_node_gyp || (existsSync(bundled) ? bundled : null);
  // Outside npm (no npm_config_nodedir) use the headers installed beside node, when there are
  // any, rather than downloading them.
  const prefix = path.dirname(path.dirname(process.execPath));
  if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
    args = [...args, `--nodedir=${prefix}`];
  }
  return gyp ? {cmd: process.execPath, args: [gyp, ...args], shell: false} : {cmd: 'node-gyp', args, shell: true};
}

/** Removes staging copies that killed builds left behind. */
export function removeStaleStaging() {
  const dir = path.join(root, 'build');
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name.startsWith(stagingPrefix)) rmSync(path.join(dir, name), {recursive: true, force: true});
  }
}

/**
 * Copies what node-gyp needs (binding.gyp, native/, scripts/detect-blas.cjs, package.json) into
 * build/.staging-PID inside the package, so `require('node-addon-api')` in binding.gyp still
 * resolves through the package's node_modules and the final rename stays on one file system.
 */
export function stageSources() {
  const dir = path.join(root, 'build', `${stagingPrefix}${process.pid}`);
  rmSync(dir, {recursive: true, force: true});
  mkdirSync(path.join(dir, 'scripts'), {recursive: true});
  cpSync(path.join(root, 'binding.gyp'), path.join(dir, 'binding.gyp'));
  cpSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  cpSync(path.join(root, 'native'), path.join(dir, 'native'), {recursive: true});
  cpSync(path.join(root, 'scripts', 'detect-blas.cjs'), path.join(dir, 'scripts', 'detect-blas.cjs'));
  return dir;
}

/** Deletes `dir` when the process is interrupted (SIGINT, SIGTERM, SIGHUP) and exits 130. */
export function cleanUpOnSignal(dir, child) {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      const c = child();
      // The build runs in its own process group (detached): stop make and the compilers too.
      if (c?.pid != null) {
        try {
          process.kill(-c.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(dir, {recursive: true, force: true});
      process.exit(130);
    });
  }
}

/** True when the installed package lives in a node_modules folder (a dependency, not a clone). */
export const isDependency = root.split(path.sep).includes('node_modules');

/** The one command that rebuilds the addon where this package is. */
export const rebuildCommand = isDependency ? 'npm rebuild hafif' : 'npm run build:native';
