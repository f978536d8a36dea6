// The report page: one self-contained HTML file, inline CSS and SVG, no script, nothing fetched.
import {formatBytes, formatCount} from '../models/size.js';
import type {Chart} from './charts.js';
import type {ReportResults, ReportRun} from './results.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c] as string);
}

const KNOWN = new Set(['name', 'model', 'params', 'bytes', 'gzipBytes', 'testAccuracy', 'testLoss', 'trainSeconds',
  'inferenceImagesPerSecond', 'history', 'confusion', 'sparsity']);

/** Scalar fields some run has beyond the known ones (e.g. a quantized variant's `bits`): extra columns. */
function extraColumns(runs: readonly ReportRun[]): string[] {
  const keys: string[] = [];
  for (const r of runs) {
    for (const [k, v] of Object.entries(r)) {
      if (!KNOWN.has(k) && !keys.includes(k) && (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean')) keys.push(k);
    }
  }
  return keys;
}

const num = (v: number | null | undefined, f: (v: number) => string) => (v == null ? '–' : f(v));

function resultsTable(runs: readonly ReportRun[]): string {
  const extra = extraColumns(runs);
  const head = ['variant', 'model', 'params', 'bytes', 'gzip bytes', 'test accuracy', 'test loss', 'train time', 'inference img/s', ...extra];
  const rows = runs.map((r) => {
    const cells = [
      r.name,
      r.model ?? '–',
      num(r.params, formatCount),
      num(r.bytes, formatBytes),
      num(r.gzipBytes, formatBytes),
      `${(r.testAccuracy * 100).toFixed(2)}%`,
      num(r.testLoss, (v) => v.toFixed(4)),
      num(r.trainSeconds, (v) => `${v.toFixed(1)} s`),
      num(r.inferenceImagesPerSecond, (v) => formatCount(Math.round(v))),
      ...extra.map((k) => {
        const v = (r as Record<string, unknown>)[k];
        return v == null ? '–' : String(v);
      }),
    ];
    return `<tr>${cells.map((c, i) => `<td${i >= 2 ? ' class="n"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`;
  });
  return `<table id="results"><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>`;
}

function keyValueTable(id: string, entries: [string, unknown][]): string {
  const rows = entries.map(([k, v]) =>
    `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(typeof v === 'string' ? v : JSON.stringify(v))}</td></tr>`);
  return `<table id="${id}" class="kv"><tbody>${rows.join('')}</tbody></table>`;
}

const CSS = `
body{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;margin-top:0}table{border-collapse:collapse;font-size:13px}
th,td{padding:4px 10px;border-bottom:1px solid #eee;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
thead th{border-bottom:2px solid #ccc}table.kv th{color:#555;font-weight:normal;vertical-align:top}
figure{margin:16px 0}figcaption{color:#555;font-size:13px;max-width:800px}
pre{background:#f6f6f6;padding:12px;font-size:12px;overflow:auto}`;

/**
 * The whole page. The configuration shown is everything in results.json that is neither runs nor
 * environment, and `configFile` (a run's config.yaml) verbatim when there is one.
 */
export function reportHtml(r: ReportResults, charts: readonly Chart[], configFile?: string): string {
  const {runs, environment, ...rest} = r;
  const title = `hafif report${r.dataset ? `: ${r.dataset}` : ''}`;
  const sub = [
    r.trainSize != null && r.testSize != null ? `${r.trainSize} train / ${r.testSize} test examples` : null,
    r.backend ? `backend ${r.backend}` : null,
    `${runs.length} variant${runs.length === 1 ? '' : 's'}`,
  ].filter((s) => s != null).join(' · ');
  const figures = charts.map((c) =>
    `<section><h2>${escapeHtml(c.title)}</h2><figure class="chart" id="chart-${c.id}" data-chart="${c.id}">${c.svg}` +
    `<figcaption>${escapeHtml(c.caption)}</figcaption></figure></section>`);
  const config = JSON.stringify(rest, null, 2);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body>
<h1>${escapeHtml(title)}</h1><p class="sub">${escapeHtml(sub)}</p>
<section><h2>Results</h2>${resultsTable(runs)}</section>
${figures.join('\n')}
<section><h2>Configuration</h2>${configFile != null ? `<p>config.yaml (repeat with <code>hafif run DIR/config.yaml</code>):</p><pre id="config-file">${escapeHtml(configFile)}</pre><p>As recorded in results.json:</p>` : ''}<pre id="config">${escapeHtml(config)}</pre></section>
<section><h2>Environment</h2>${environment ? keyValueTable('environment', Object.entries(environment)) : '<p>not recorded</p>'}</section>
</body></html>
`;
}
