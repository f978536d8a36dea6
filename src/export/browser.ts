// Runs saved models in a real browser: headless Debian Chromium driven by playwright-core, the
// stock @tensorflow/tfjs bundle (cpu and wasm backends) and onnxruntime-web (wasm), every file
// served from node_modules on 127.0.0.1 — nothing comes from a CDN.
import {existsSync} from 'node:fs';
import {mkdtemp, readFile, rm} from 'node:fs/promises';
import {createServer, type Server} from 'node:http';
import {createRequire} from 'node:module';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {UsageError} from '../util/registry.js';

export const CHROMIUM = '/usr/bin/chromium';
/** The flags hafif's browser runs use. */
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Why the browser cannot run here (missing Chromium or playwright-core), or null. */
export function browserUnavailable(): string | null {
  if (!existsSync(CHROMIUM)) return `Chromium is not installed at ${CHROMIUM} (Debian package: chromium; apt-get install -y chromium)`;
  try {
    createRequire(import.meta.url).resolve('playwright-core');
  } catch {
    return 'playwright-core is not installed (npm install --save-dev playwright-core)';
  }
  return null;
}

/** A model to run in the page. */
export interface BrowserModel {
  readonly name: string;
  /** A tfjs model directory (model.json + weights.bin) or an .onnx file. */
  readonly path: string;
}

export type BrowserEngine = 'tfjs-cpu' | 'tfjs-wasm' | 'ort-web-wasm';

export interface BrowserRunOptions {
  /** Fixed input batch, NHWC rows. */
  readonly x: Float32Array;
  readonly count: number;
  readonly inputShape: readonly number[];
  /** Batch sizes to time. @default [1, 32] */
  readonly batchSizes?: readonly number[];
  /** Seconds of timing per model, engine and batch size. @default 1 */
  readonly seconds?: number;
}

export interface BrowserResult {
  readonly model: string;
  readonly engine: BrowserEngine;
  /** Outputs for the whole fixed batch, flat. */
  readonly outputs: Float32Array;
  /** Images/s at each batch size. */
  readonly imagesPerSecond: Record<number, number>;
}

const MIME: Record<string, string> = {
  '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json',
  '.html': 'text/html', '.bin': 'application/octet-stream', '.onnx': 'application/octet-stream',
};

function serve(routes: Map<string, string>, page: string): Promise<{server: Server; url: string}> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/') {
      res.writeHead(200, {'content-type': 'text/html'}).end(page);
      return;
    }
    const file = routes.get(url.pathname);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, {'content-type': MIME[path.extname(file)] ?? 'application/octet-stream'}).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const address = server.address() as {port: number};
    resolve({server, url: `http://127.0.0.1:${address.port}/`});
  }));
}

/**
 * Loads each model in headless Chromium on each engine that fits it (tfjs models: tfjs-cpu and
 * tfjs-wasm; .onnx: onnxruntime-web wasm, one thread), returns its outputs on the fixed batch and
 * its images/s.
 */
export async function runInBrowser(models: readonly BrowserModel[], options: BrowserRunOptions): Promise<BrowserResult[]> {
  const why = browserUnavailable();
  if (why) throw new UsageError(why);
  const require = createRequire(import.meta.url);
  // The package's own directory (some packages do not export ./package.json): up from its entry point.
  const dist = (pkg: string) => {
    let d = path.dirname(require.resolve(pkg));
    while (!existsSync(path.join(d, 'package.json')) || !d.endsWith(path.join('node_modules', ...pkg.split('/')))) {
      const up = path.dirname(d);
      if (up === d) throw new Error(`cannot find the directory of ${pkg}`);
      d = up;
    }
    return d;
  };
  const routes = new Map<string, string>();
  const tfjsDir = path.join(dist('@tensorflow/tfjs'), 'dist');
  const wasmDir = path.join(dist('@tensorflow/tfjs-backend-wasm'), 'dist');
  const ortDir = path.join(dist('onnxruntime-web'), 'dist');
  routes.set('/lib/tf.min.js', path.join(tfjsDir, 'tf.min.js'));
  routes.set('/lib/tf-backend-wasm.min.js', path.join(wasmDir, 'tf-backend-wasm.min.js'));
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
    routes.set(`/tfjs-wasm/${f}`, path.join(wasmDir, f));
  }
  routes.set('/lib/ort.wasm.min.js', path.join(ortDir, 'ort.wasm.min.js'));
  for (const f of ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs']) routes.set(`/ort/${f}`, path.join(ortDir, f));
  const pageModels: {name: string; kind: 'tfjs' | 'onnx'; url: string}[] = [];
  models.forEach((m, i) => {
    if (m.path.toLowerCase().endsWith('.onnx')) {
      routes.set(`/models/${i}/model.onnx`, path.resolve(m.path));
      pageModels.push({name: m.name, kind: 'onnx', url: `/models/${i}/model.onnx`});
    } else {
      routes.set(`/models/${i}/model.json`, path.join(path.resolve(m.path), 'model.json'));
      routes.set(`/models/${i}/weights.bin`, path.join(path.resolve(m.path), 'weights.bin'));
      pageModels.push({name: m.name, kind: 'tfjs', url: `/models/${i}/model.json`});
    }
  });
  const page = '<!doctype html><html><head><script src="/lib/tf.min.js"></script><script src="/lib/tf-backend-wasm.min.js"></script>' +
    '<script src="/lib/ort.wasm.min.js"></script></head><body>hafif</body></html>';
  const {server, url} = await serve(routes, page);
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'hafif-chromium-'));
  const {chromium} = (await import('playwright-core')) as typeof import('playwright-core');
  // A fresh profile directory each run (playwright passes it as --user-data-dir).
  const browser = await chromium.launchPersistentContext(userDataDir, {executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true});
  try {
    const tab = await browser.newPage();
    await tab.goto(url);
    const args = {
      models: pageModels, x: Array.from(options.x), count: options.count, shape: [...options.inputShape],
      batchSizes: [...(options.batchSizes ?? [1, 32])], seconds: options.seconds ?? 1,
    };
    // Runs in the page: the globals tf and ort come from the stock bundles.
    const results = await tab.evaluate(async (a) => {
      type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any
      const g = globalThis as Any;
      const tf = g.tf;
      const ort = g.ort;
      tf.wasm.setWasmPaths('/tfjs-wasm/');
      ort.env.wasm.wasmPaths = '/ort/';
      ort.env.wasm.numThreads = 1;
      const per = a.shape.reduce((p: number, q: number) => p * q, 1);
      const x = Float32Array.from(a.x);
      const out: {model: string; engine: string; outputs: number[]; imagesPerSecond: Record<number, number>}[] = [];
      const time = async (run: (xb: Float32Array, n: number) => Promise<void>) => {
        const ips: Record<number, number> = {};
        for (const b of a.batchSizes) {
          const xb = x.subarray(0, b * per);
          await run(xb, b);
          let done = 0;
          const t0 = performance.now();
          while (performance.now() - t0 < a.seconds * 1000 || done === 0) {
            await run(xb, b);
            done += b;
          }
          ips[b] = done / ((performance.now() - t0) / 1000);
        }
        return ips;
      };
      for (const m of a.models) {
        if (m.kind === 'tfjs') {
          for (const backend of ['cpu', 'wasm']) {
            await tf.setBackend(backend);
            await tf.ready();
            const model = await tf.loadLayersModel(m.url);
            const predict = async (xb: Float32Array, n: number) => {
              const t = tf.tidy(() => model.predict(tf.tensor(xb, [n, ...a.shape])));
              const v = await t.data();
              t.dispose();
              return v as Float32Array;
            };
            const outputs = Array.from(await predict(x, a.count));
            const imagesPerSecond = await time(async (xb, n) => void (await predict(xb, n)));
            model.dispose();
            out.push({model: m.name, engine: `tfjs-${backend}`, outputs, imagesPerSecond});
          }
        } else {
          const session = await ort.InferenceSession.create(m.url, {executionProviders: ['wasm'], graphOptimizationLevel: 'all'});
          const run = async (xb: Float32Array, n: number) => {
            const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', xb, [n, ...a.shape])};
            const r = await session.run(feeds);
            return r[session.outputNames[0]].data as Float32Array;
          };
          const outputs = Array.from(await run(x, a.count));
          const imagesPerSecond = await time(async (xb, n) => void (await run(xb, n)));
          await session.release();
          out.push({model: m.name, engine: 'ort-web-wasm', outputs, imagesPerSecond});
        }
      }
      return out;
    }, args);
    return results.map((r) => ({...r, engine: r.engine as BrowserEngine, outputs: Float32Array.from(r.outputs)}));
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(userDataDir, {recursive: true, force: true});
  }
}
