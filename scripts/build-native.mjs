// Builds the native addon (the install script, and `npm run build:native`). A failed build is not
// fatal: hafif then runs on the TensorFlow.js `cpu` backend and says once, at import, how to
// rebuild.
//
// The build runs in a staging copy (build/.staging-PID) and the finished binary is renamed into
// build/Release/hafif_native.node only after it loads, so an interrupted build (Ctrl-C, a timeout)
// leaves the previous addon, or none, never a half-written one.
//
// --if-no-prebuilt (the install script): skip the build when a prebuilt addon shipped in
// prebuilds/ loads on this machine; HAFIF_BUILD_FROM_SOURCE=1 builds anyway.
import {spawn, spawnSync} from 'node:child_process';
import {mkdirSync, renameSync, rmSync} from 'node:fs';
import path from 'node:path';

import {addonPath, cleanUpOnSignal, nodeGyp, rebuildCommand, removeStaleStaging, root, stageSources} from './native-build-lib.mjs';

if (process.env.HAFIF_SKIP_NATIVE === '1') {
  console.warn('hafif: HAFIF_SKIP_NATIVE=1, native addon not built');
  process.exit(0);
}

/** Loads `file` in a child process, so a broken binary cannot take this process down. */
function loads(file) {
  const r = spawnSync(process.execPath, ['-e', 'require(process.argv[1])', file], {stdio: 'ignore'});
  return r.status === 0;
}

function prebuilt() {
  const r = spawnSync(process.execPath, ['-e',
    'const p = require("node-gyp-build").resolve(process.argv[1]); require(p); process.stdout.write(p)', root],
  {encoding: 'utf8', cwd: root});
  return r.status === 0 && r.stdout.includes(`${path.sep}prebuilds${path.sep}`) ? r.stdout : null;
}

if (process.argv.includes('--if-no-prebuilt') && process.env.HAFIF_BUILD_FROM_SOURCE !== '1') {
  const p = prebuilt();
  if (p != null) {
    console.log(`hafif: using the prebuilt addon ${path.relative(root, p)}`);
    process.exit(0);
  }
}

removeStaleStaging();
const staging = stageSources();
let child = null;
cleanUpOnSignal(staging, () => child);

// One compiler per core (node-gyp's default is one in all): the per-ISA units make many to compile.
const gyp = nodeGyp(['rebuild', '--jobs', process.env.JOBS || 'max']);
child = spawn(gyp.cmd, gyp.args, {cwd: staging, stdio: 'inherit', shell: gyp.shell, detached: true});
child.on('exit', (code) => {
  child = null;
  const built = path.join(staging, 'build', 'Release', 'hafif_native.node');
  const ok = code === 0 && loads(built);
  if (ok) {
    mkdirSync(path.dirname(addonPath), {recursive: true});
    renameSync(built, addonPath);
    console.log(`hafif: native addon built: ${path.relative(root, addonPath)}`);
  }
  rmSync(staging, {recursive: true, force: true});
  if (!ok) {
    console.warn(
      'hafif: the native addon did not build; hafif will use the slow TensorFlow.js cpu backend. ' +
        `Install a C++ toolchain (g++/clang, make, python3) and run \`${rebuildCommand}\`.`,
    );
  }
  process.exit(0);
});
