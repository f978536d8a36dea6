// `npm pack` / `npm publish` (prepack): builds the prebuilt addon shipped in the tarball,
// prebuilds/<platform>-<arch>/node.napi.<libc>.node, with prebuildify. It is built for the portable
// baseline with run-time ISA dispatch (see binding.gyp) and without OpenBLAS, so it loads on any
// x86-64-v2 (or armv8-a) machine with no libopenblas installed. node-gyp-build picks it at load
// when no local build exists; the install script then compiles nothing.
import {existsSync, rmSync} from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';

import {cleanUpOnSignal, nodeGyp, removeStaleStaging, root, stageSources} from './native-build-lib.mjs';

if (process.env.HAFIF_SKIP_PREBUILD === '1') {
  console.warn('hafif: HAFIF_SKIP_PREBUILD=1, no prebuilt addon packed');
  process.exit(0);
}
const require = createRequire(import.meta.url);
const prebuildify = require('prebuildify');

removeStaleStaging();
const staging = stageSources();
cleanUpOnSignal(staging, () => null);
const gyp = nodeGyp([]);
const env = {HAFIF_NO_BLAS: '1', HAFIF_MARCH_NATIVE: '0', JOBS: process.env.JOBS || 'max'};
const prefix = path.dirname(path.dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
  env.npm_config_nodedir = prefix; // the headers beside node, instead of a download
}
Object.assign(process.env, env);
rmSync(path.join(root, 'prebuilds'), {recursive: true, force: true});
prebuildify({
  cwd: staging,
  out: root,
  napi: true,
  targets: [process.versions.node],
  strip: true,
  tagLibc: true,
  nodeGyp: [gyp.cmd, ...gyp.args].map((a) => JSON.stringify(a)).join(' '),
  shell: true,
}, (err) => {
  rmSync(staging, {recursive: true, force: true});
  if (err) {
    console.error(`hafif: prebuild failed: ${err.message}`);
    process.exit(1);
  }
  console.log(`hafif: prebuilt addon in prebuilds/${process.platform}-${process.arch}`);
});
