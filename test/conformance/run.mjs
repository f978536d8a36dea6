#!/usr/bin/env node
// Runs TensorFlow.js's own tfjs-core test suite (@tensorflow/tfjs-core/dist/tests.js) against
// hafif's build. tfjs-core's dist files are extensionless ES modules marked side-effect free, so
// they are bundled with esbuild (annotations ignored) into one file, which also makes the specs
// and hafif share one tfjs-core instance.
//
//   node test/conformance/run.mjs [native|cpu|native-poison ...]   (needs `npm run build:ts`)
import {spawn} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');

/** The runs: backend and extra environment. */
export const CONFIGS = {
  native: {backend: 'native', env: {}},
  'native-poison': {backend: 'native', env: {HAFIF_POOL_POISON: '1'}},
  cpu: {backend: 'cpu', env: {}},
};

/**
 * hafif's build finds the addon and its data relative to its own file (import.meta.url): inside
 * the bundle each of the project's modules keeps its original URL.
 */
const keepImportMetaUrl = {
  name: 'keep-import-meta-url',
  setup(build) {
    const modules = path.join(root, 'node_modules') + path.sep;
    build.onLoad({filter: /\.m?js$/}, (args) => {
      if (!args.path.startsWith(root + path.sep) || args.path.startsWith(modules)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      return {contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'js'};
    });
  },
};

/** Bundles the suite into a fresh temporary directory; returns the bundle's path and a cleanup. */
export async function buildSuite() {
  const dist = path.join(root, 'dist', 'index.js');
  if (!existsSync(dist)) throw new Error(`${dist} not found: run \`npm run build:ts\` first`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hafif-conformance-'));
  const outfile = path.join(dir, 'tfjs-core-tests.mjs');
  await esbuild.build({
    entryPoints: [path.join(here, 'entry.mjs')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    ignoreAnnotations: true,
    // jasmine-core 3.x relies on sloppy mode (an undeclared loop variable), which an ES module
    // bundle is not: it stays outside and is require()d from the project, like Node built-ins.
    external: ['jasmine-core'],
    banner: {
      js: "import {createRequire as __hafifCreateRequire} from 'node:module'; " +
        `const require = __hafifCreateRequire(${JSON.stringify(pathToFileURL(path.join(root, 'package.json')).href)});`,
    },
    plugins: [keepImportMetaUrl],
    logLevel: 'error',
  });
  return {outfile, cleanup: () => rmSync(dir, {recursive: true, force: true})};
}

const SUMMARY = /^tfjs-core (\S+) on (\S+): (\d+) passed, (\d+) failed, (\d+) skipped$/m;

/** Runs the bundle in a child process; resolves with its counts and output. A run still going
 * after timeoutMs is killed and reported with a null exit code. */
export function runSuite(outfile, config, timeoutMs = 300_000) {
  const {backend, env} = CONFIGS[config];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [outfile], {
      cwd: root,
      env: {...process.env, ...env, HAFIF_CONFORMANCE_BACKEND: backend},
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => {
      out += `\nkilled after ${timeoutMs} ms\n`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const m = SUMMARY.exec(out);
      resolve({
        config,
        code,
        output: out,
        summary: m ? `${m[0]}${Object.keys(env).length ? ` (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')})` : ''}` : null,
        tfjsVersion: m?.[1],
        passed: m ? Number(m[3]) : NaN,
        failed: m ? Number(m[4]) : NaN,
        skipped: m ? Number(m[5]) : NaN,
      });
    });
  });
}

async function main(argv) {
  const configs = argv.length > 0 ? argv : Object.keys(CONFIGS);
  for (const c of configs) {
    if (!(c in CONFIGS)) {
      process.stderr.write(`unknown run ${c}, expected one of ${Object.keys(CONFIGS).join(', ')}\n`);
      process.exit(2);
    }
  }
  const {outfile, cleanup} = await buildSuite();
  let ok = true;
  try {
    for (const c of configs) {
      const r = await runSuite(outfile, c);
      process.stdout.write(r.output.split('\n').filter((l) => /^(FAILED|SKIPPED|\.\.\.) /.test(l)).map((l) => `${l}\n`).join(''));
      process.stdout.write(`${r.summary ?? `${c}: no summary line (exit ${r.code}):\n${r.output.slice(-3000)}`}\n`);
      ok &&= r.code === 0 && r.failed === 0;
    }
  } finally {
    cleanup();
  }
  process.exitCode = ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
