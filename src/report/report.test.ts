// The report from a results.json with every kind of variant: files, errors, and the page as
// headless Chromium (Debian package `chromium`) renders it.
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';

import {UsageError} from '../util/registry.js';
import {writeReport} from './index.js';
import {sampleResults} from './test_util.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'hafif-report-'));
afterAll(() => rmSync(tmp, {recursive: true, force: true}));

function dirWith(name: string, results: unknown): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, {recursive: true});
  writeFileSync(path.join(dir, 'results.json'), typeof results === 'string' ? results : JSON.stringify(results));
  return dir;
}

describe('writeReport', () => {
  it('writes report.html and one PNG per chart', async () => {
    const dir = dirWith('ok', sampleResults());
    const r = await writeReport(dir);
    expect(r.charts.map((c) => c.id)).toEqual(['curves', 'accuracy-size', 'accuracy-speed', 'confusion', 'sparsity']);
    expect(r.charts.flatMap((c) => c.warnings)).toEqual([]);
    expect(readdirSync(path.join(dir, 'charts')).sort()).toEqual(r.charts.map((c) => `${c.id}.png`).sort());
    for (const f of r.pngs) expect([...readFileSync(f).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const html = readFileSync(r.html, 'utf8');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/); // nothing to run, nothing to fetch
    expect(html).toContain('someNewField'); // unknown fields are kept in the configuration
    expect(html).toContain('<th>bits</th>'); // and a variant's extra scalar becomes a column
    expect(html).not.toContain('id="config-file"');
  });

  it("shows a run's config.yaml verbatim, escaped", async () => {
    const dir = dirWith('with-config', sampleResults());
    writeFileSync(path.join(dir, 'config.yaml'), 'name: <x>\ndistill:\n  alpha: 0.5\n');
    const html = readFileSync((await writeReport(dir, {png: false})).html, 'utf8');
    expect(html).toContain('<pre id="config-file">name: &lt;x&gt;\ndistill:\n  alpha: 0.5\n</pre>');
  });

  it.each([
    ['no results.json', null, /^no results in .*results\.json does not exist/],
    ['not JSON', '{"runs": [', /results\.json: not JSON/],
    ['no runs', {dataset: 'mnist'}, /results\.json: runs: required, expected array$/],
    ['accuracy out of range', {runs: [{name: 'a', testAccuracy: 3}]}, /results\.json: runs\.0\.testAccuracy: must be in \[0, 1\], got 3$/],
    ['sparsity not a fraction', {runs: [{name: 'a', testAccuracy: 0.5, sparsity: {d: 'x'}}]}, /runs\.0\.sparsity/],
  ])('rejects %s with a one-line UsageError and writes nothing', async (name, results, message) => {
    const dir = results == null ? path.join(tmp, 'empty') : dirWith(name.replace(/\W/g, '-'), results);
    mkdirSync(dir, {recursive: true});
    const err = await writeReport(dir).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
    expect(existsSync(path.join(dir, 'report.html'))).toBe(false);
    expect(existsSync(path.join(dir, 'charts'))).toBe(false);
  });
});

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`report browser test skipped: ${CHROMIUM} missing (apt-get install -y chromium)`);

describe.skipIf(!haveChromium)('report.html in headless Chromium', () => {
  type Page = import('playwright-core').Page;
  let close: () => Promise<void>;
  let page: Page;
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  let file: string;

  beforeAll(async () => {
    const {chromium} = await import('playwright-core');
    const dir = dirWith('browser', sampleResults());
    file = (await writeReport(dir, {png: false})).html;
    const ctx = await chromium.launchPersistentContext(mkdtempSync(path.join(tmp, 'profile-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: {width: 1150, height: 900},
    });
    close = () => ctx.close();
    page = await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${file}`, {waitUntil: 'load'});
  });
  afterAll(async () => close?.());

  const count = (chart: string, selector: string) =>
    page.locator(`figure[data-chart="${chart}"] svg ${selector}`).count();
  const labels = (chart: string, selector: string) =>
    page.locator(`figure[data-chart="${chart}"] svg ${selector}`).evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));

  it('loads with no console errors and requests nothing but the file itself', () => {
    expect(consoleErrors).toEqual([]);
    expect(requests).toEqual([`file://${file}`]);
  });

  it('shows one results row per variant', async () => {
    expect(await page.locator('#results tbody tr').count()).toBe(5);
  });

  it('draws the training curves: a line per phase, split and metric, a point per epoch value', async () => {
    // teacher 3 epochs, distilled 2, scratch 2, pruned 1 (quantized has no history): 4 phases ×
    // {train, validation} × {loss, accuracy} = 16 lines; 8 epochs × 4 values = 32 points.
    expect(await count('curves', 'g.mark-line.role-mark')).toBe(16);
    expect(await count('curves', 'g.mark-symbol.role-mark path')).toBe(32);
  });

  it('draws one point per variant against size and speed, the Pareto front marked', async () => {
    for (const chart of ['accuracy-size', 'accuracy-speed']) expect(await count(chart, 'g.mark-symbol.role-mark path')).toBe(5);
    const front = async (chart: string) => (await labels(chart, 'g.mark-symbol.role-mark path'))
      .filter((l) => /Pareto front: yes/.test(l)).map((l) => /run: (\w+)/.exec(l)?.[1]).sort();
    // Size (smaller is better): quantized is smallest, distilled and the teacher more accurate;
    // scratch and pruned are beaten on both axes (by distilled and quantized).
    expect(await front('accuracy-size')).toEqual(['distilled', 'quantized', 'teacher']);
    // Speed (faster is better): scratch is fastest, distilled next and more accurate, the teacher most accurate.
    expect(await front('accuracy-speed')).toEqual(['distilled', 'scratch', 'teacher']);
  });

  it("draws the distilled student's and the teacher's confusion matrices side by side", async () => {
    expect(await count('confusion', 'g.mark-rect.role-mark path')).toBe(2 * 9);
    const headers = await page.locator('figure[data-chart="confusion"] svg g.role-column-header text').allTextContents();
    expect(headers).toEqual(['distilled', 'teacher']);
  });

  it('draws a sparsity bar per pruned layer', async () => {
    expect(await count('sparsity', 'g.mark-rect.role-mark path')).toBe(3);
  });

  it('saves a screenshot', async () => {
    const shot = path.join(tmp, 'report.png');
    await page.screenshot({path: shot, fullPage: true});
    expect(readFileSync(shot).length).toBeGreaterThan(10_000);
  });
});
