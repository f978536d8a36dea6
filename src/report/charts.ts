// The report's charts as vega-lite specs, compiled to SVG by vega's headless view (no browser).
import * as vega from 'vega';
import * as vl from 'vega-lite';

import {paretoFront} from './pareto.js';
import {sparsityRows, type ReportResults, type ReportRun} from './results.js';

/** One chart: its id (file name of its PNG), title, vega-lite spec and rendered SVG. */
export interface Chart {
  readonly id: string;
  readonly title: string;
  /** What the chart shows, in a sentence under it. */
  readonly caption: string;
  readonly spec: vl.TopLevelSpec;
  readonly svg: string;
  /** What vega-lite and vega warned about while compiling and rendering (the library never prints). */
  readonly warnings: readonly string[];
}

const FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';
const baseConfig = {
  font: FONT,
  background: 'white',
  view: {stroke: '#ddd'},
  axis: {labelFontSize: 11, titleFontSize: 12},
  legend: {labelFontSize: 11, titleFontSize: 12},
};

/** Loss and accuracy per epoch, train and validation, one line per phase and split. */
export function curvesSpec(runs: readonly ReportRun[]): vl.TopLevelSpec | null {
  const rows: Record<string, unknown>[] = [];
  for (const r of runs) {
    for (const h of r.history ?? []) {
      const epoch = h.epoch + 1;
      const add = (metric: string, split: string, v: number | null | undefined) => {
        if (v != null && Number.isFinite(v)) rows.push({run: r.name, epoch, metric, split, value: v});
      };
      add('loss', 'train', h.loss);
      add('loss', 'validation', h.valLoss);
      add('accuracy', 'train', h.accuracy);
      add('accuracy', 'validation', h.valAccuracy);
    }
  }
  if (rows.length === 0) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: baseConfig,
    data: {values: rows},
    facet: {column: {field: 'metric', type: 'nominal', sort: ['loss', 'accuracy'], title: null, header: {labelFontSize: 13}}},
    spec: {
      width: 300,
      height: 200,
      mark: {type: 'line', point: true},
      encoding: {
        x: {field: 'epoch', type: 'quantitative', axis: {tickMinStep: 1, format: 'd'}, scale: {zero: false}},
        y: {field: 'value', type: 'quantitative', scale: {zero: false}, title: null},
        color: {field: 'run', type: 'nominal', title: 'phase', sort: runs.map((r) => r.name)},
        strokeDash: {field: 'split', type: 'nominal', title: 'split', sort: ['train', 'validation']},
        tooltip: [{field: 'run'}, {field: 'split'}, {field: 'epoch'}, {field: 'value', format: '.4f'}],
      },
    },
    resolve: {scale: {y: 'independent'}},
  };
}

interface TradeOffRow {
  run: string;
  x: number;
  accuracy: number;
  front: 'yes' | 'no';
}

function tradeOffRows(runs: readonly ReportRun[], x: (r: ReportRun) => number | undefined, lowerBetter: boolean): TradeOffRow[] {
  const have = runs.filter((r) => x(r) != null && (x(r) as number) > 0);
  const front = new Set(paretoFront(have.map((r) => ({cost: x(r) as number, value: r.testAccuracy})), lowerBetter));
  return have.map((r, i) => ({run: r.name, x: x(r) as number, accuracy: r.testAccuracy, front: front.has(i) ? 'yes' : 'no'}));
}

/** Test accuracy against a cost (log axis), one point per variant, the Pareto front joined by a line. */
function tradeOffSpec(rows: TradeOffRow[], xTitle: string, xFormat: string): vl.TopLevelSpec | null {
  if (rows.length === 0) return null;
  const enc = {
    x: {field: 'x', type: 'quantitative' as const, scale: {type: 'log' as const, nice: false, padding: 24}, title: xTitle, axis: {format: xFormat}},
    y: {field: 'accuracy', type: 'quantitative' as const, scale: {zero: false, padding: 16}, title: 'test accuracy', axis: {format: '.1%'}},
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: baseConfig,
    width: 420,
    height: 260,
    data: {values: rows},
    layer: [
      {
        transform: [{filter: "datum.front === 'yes'"}],
        mark: {type: 'line', color: '#999', strokeDash: [4, 3]},
        encoding: {...enc, order: {field: 'x', type: 'quantitative'}},
      },
      {
        mark: {type: 'point', strokeWidth: 2, filled: true},
        encoding: {
          ...enc,
          color: {field: 'run', type: 'nominal', title: 'variant', sort: rows.map((r) => r.run)},
          shape: {field: 'front', type: 'nominal', sort: ['yes', 'no'], title: 'on the Pareto front', scale: {domain: ['yes', 'no'], range: ['diamond', 'circle']}},
          size: {field: 'front', type: 'nominal', sort: ['yes', 'no'], legend: null, scale: {domain: ['yes', 'no'], range: [160, 70]}},
          opacity: {field: 'front', type: 'nominal', sort: ['yes', 'no'], legend: null, scale: {domain: ['yes', 'no'], range: [1, 0.55]}},
          tooltip: [{field: 'run'}, {field: 'x', title: xTitle}, {field: 'accuracy', format: '.2%'}, {field: 'front'}],
        },
      },
      {
        mark: {type: 'text', dy: -12, fontSize: 11},
        encoding: {...enc, text: {field: 'run'}},
      },
    ],
  };
}

/** Confusion matrices on the test split: the distilled student's, the teacher's beside it. */
export function confusionSpec(runs: readonly ReportRun[]): vl.TopLevelSpec | null {
  const named = (n: string) => runs.find((r) => r.name === n && r.confusion != null);
  let shown = [named('distilled'), named('teacher')].filter((r): r is ReportRun => r != null);
  if (shown.length === 0) shown = runs.filter((r) => r.confusion != null).slice(0, 2);
  if (shown.length === 0) return null;
  const rows: Record<string, unknown>[] = [];
  for (const r of shown) {
    const m = r.confusion as number[][];
    m.forEach((row, actual) => {
      const total = row.reduce((a, b) => a + b, 0);
      row.forEach((count, predicted) => rows.push({run: r.name, actual, predicted, count, rate: total > 0 ? count / total : 0}));
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: baseConfig,
    data: {values: rows},
    facet: {column: {field: 'run', type: 'nominal', sort: shown.map((r) => r.name), title: null, header: {labelFontSize: 13}}},
    spec: {
      width: 240,
      height: 240,
      encoding: {
        x: {field: 'predicted', type: 'ordinal', title: 'predicted class'},
        y: {field: 'actual', type: 'ordinal', title: 'true class'},
      },
      layer: [
        {
          mark: 'rect',
          encoding: {
            color: {field: 'rate', type: 'quantitative', title: 'share of true class', scale: {scheme: 'blues', domain: [0, 1]}},
            tooltip: [{field: 'actual'}, {field: 'predicted'}, {field: 'count'}, {field: 'rate', format: '.1%'}],
          },
        },
        {
          transform: [{filter: 'datum.count > 0'}],
          mark: {type: 'text', fontSize: 8},
          encoding: {
            text: {field: 'count', type: 'quantitative'},
            color: {condition: {test: 'datum.rate > 0.5', value: 'white'}, value: '#333'},
          },
        },
      ],
    },
  };
}

/** Fraction of zero weights per layer, one bar per layer and variant. */
export function sparsitySpec(runs: readonly ReportRun[]): vl.TopLevelSpec | null {
  const rows = runs.flatMap((r) => (r.sparsity ? sparsityRows(r.sparsity).map((s) => ({run: r.name, ...s})) : []));
  if (rows.length === 0) return null;
  const layers = [...new Set(rows.map((r) => r.layer))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: baseConfig,
    width: 420,
    data: {values: rows},
    mark: 'bar',
    encoding: {
      y: {field: 'layer', type: 'nominal', sort: layers, title: null},
      yOffset: {field: 'run', type: 'nominal'},
      x: {field: 'sparsity', type: 'quantitative', scale: {domain: [0, 1]}, axis: {format: '.0%'}, title: 'weights that are zero'},
      color: {field: 'run', type: 'nominal', title: 'variant'},
      tooltip: [{field: 'run'}, {field: 'layer'}, {field: 'sparsity', format: '.1%'}],
    },
  };
}

/** Every chart the results support, with specs but no SVG yet. */
export function chartSpecs(r: ReportResults): Omit<Chart, 'svg' | 'warnings'>[] {
  const out: Omit<Chart, 'svg' | 'warnings'>[] = [];
  const add = (id: string, title: string, caption: string, spec: vl.TopLevelSpec | null) => {
    if (spec) out.push({id, title, caption, spec});
  };
  add('curves', 'Training curves', 'Loss and accuracy per epoch for every trained phase; solid lines on the training set, dashed on validation.',
    curvesSpec(r.runs));
  const gz = r.runs.some((x) => x.gzipBytes != null);
  add('accuracy-size', `Accuracy against size (${gz ? 'gzip' : 'raw'} bytes)`,
    `Test accuracy of each variant against the size of its weights${gz ? ' gzipped' : ''} (log scale); diamonds joined by the dashed line are the Pareto front (nothing is both smaller and more accurate).`,
    tradeOffSpec(tradeOffRows(r.runs, (x) => x.gzipBytes ?? x.bytes, true), gz ? 'gzip bytes' : 'bytes', '~s'));
  add('accuracy-speed', 'Accuracy against inference speed',
    'Test accuracy of each variant against its inference images per second (log scale); diamonds joined by the dashed line are the Pareto front (nothing is both faster and more accurate).',
    tradeOffSpec(tradeOffRows(r.runs, (x) => x.inferenceImagesPerSecond, false), 'inference images/s', '~s'));
  add('confusion', 'Confusion matrices (test split)',
    "Counts of each true class (rows) predicted as each class (columns); the distilled student's beside the teacher's, shaded by the share of the true class.",
    confusionSpec(r.runs));
  add('sparsity', 'Sparsity per layer', 'Fraction of each layer’s weights that are zero, per pruned variant.', sparsitySpec(r.runs));
  return out;
}

/** Compiles a vega-lite spec and renders it to an SVG string with vega's headless view. */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<{svg: string; warnings: string[]}> {
  const warnings: string[] = [];
  const logger = vega.logger(vega.Warn, undefined, (_method, _level, input: readonly unknown[]) => {
    warnings.push(input.map(String).join(' '));
  });
  const compiled = vl.compile(spec, {logger}).spec;
  const view = new vega.View(vega.parse(compiled), {renderer: 'none', logger});
  try {
    return {svg: await view.toSVG(), warnings};
  } finally {
    view.finalize();
  }
}
