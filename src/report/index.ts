// `report`: one self-contained report.html (and PNGs of its charts) from a run's results.json.
import {readFile} from 'node:fs/promises';
import {createRequire} from 'node:module';
import path from 'node:path';

import {writeFileAtomic} from '../util/atomic.js';
import {UsageError} from '../util/registry.js';
import {chartSpecs, renderSvg, type Chart} from './charts.js';
import {reportHtml} from './html.js';
import {parseResults, type ReportResults} from './results.js';

export {chartSpecs, renderSvg} from './charts.js';
export type {Chart} from './charts.js';
export {reportHtml} from './html.js';
export {paretoFront} from './pareto.js';
export type {TradeOff} from './pareto.js';
export {parseResults} from './results.js';
export type {ReportResults, ReportRun} from './results.js';

export interface ReportOptions {
  /** Also write `charts/ID.png` beside the report. @default true */
  readonly png?: boolean;
  /** Scale of the PNGs against the SVGs' size. @default 2 */
  readonly pngScale?: number;
}

export interface ReportFiles {
  readonly html: string;
  readonly pngs: string[];
  readonly charts: Chart[];
}

/** The report's page and charts for parsed results, without touching the disk. */
export async function buildReport(results: ReportResults, configFile?: string): Promise<{html: string; charts: Chart[]}> {
  const charts: Chart[] = [];
  for (const c of chartSpecs(results)) charts.push({...c, ...(await renderSvg(c.spec))});
  return {html: reportHtml(results, charts, configFile), charts};
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

// resvg is a native addon: loaded on the first PNG, so importing hafif (or bundling it) does not need it.
let resvg: typeof import('@resvg/resvg-js') | null = null;

/** A chart's SVG as PNG bytes, text drawn with the system's fonts. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  resvg ??= createRequire(import.meta.url)('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const r = new resvg.Resvg(svg, {fitTo: {mode: 'zoom', value: scale}, font: {loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans'}});
  return r.render().asPng();
}

/** Reads `dir/results.json` (and `dir/config.yaml` if there), writes `dir/report.html` and `dir/charts/*.png`. */
export async function writeReport(dir: string, options: ReportOptions = {}): Promise<ReportFiles> {
  const {png = true, pngScale = 2} = options;
  const file = path.join(dir, 'results.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`no results in ${dir}: ${file} does not exist (run hafif demo --out ${dir} first)`);
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not JSON (${(e as Error).message})`);
  }
  const results = parseResults(json, file);
  const {html, charts} = await buildReport(results, await readIfExists(path.join(dir, 'config.yaml')));
  // Render every PNG before writing anything, so a failure leaves no half a report.
  const images = png ? charts.map((c) => ({file: path.join(dir, 'charts', `${c.id}.png`), data: svgToPng(c.svg, pngScale)})) : [];
  for (const im of images) await writeFileAtomic(im.file, im.data);
  const htmlFile = path.join(dir, 'report.html');
  await writeFileAtomic(htmlFile, html);
  return {html: htmlFile, pngs: images.map((i) => i.file), charts};
}
