// Builds the native addon at install. A failed build is not fatal: hafif then runs on the
// TensorFlow.js `cpu` backend and says once, at import, how to get the fast path.
import {spawnSync} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import path from 'node:path';
import {existsSync} from 'node:fs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
if (process.env.HAFIF_SKIP_NATIVE === '1') {
  console.warn('hafif: HAFIF_SKIP_NATIVE=1, native addon not built');
  process.exit(0);
}
// npm sets npm_config_node_gyp inside lifecycle scripts; run by hand, use npm's bundled copy.
const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules',
  'node-gyp', 'bin', 'node-gyp.js');
const gyp = process.env.npm_config_node_gyp || (existsSync(bundled) ? bundled : null);
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const r = spawnSync(cmd, args, {cwd: root, stdio: 'inherit', shell: !gyp});
if (r.status !== 0) {
  console.warn(
    'hafif: the native addon did not build; hafif will use the slow TensorFlow.js cpu backend. ' +
      'Install a C++ toolchain (g++/clang, make, python3) and run `npm rebuild hafif`.',
  );
}
process.exit(0);
