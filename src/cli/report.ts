// `hafif report --in DIR`: DIR/report.html and DIR/charts/*.png from DIR/results.json.
import {Command} from 'commander';
import path from 'node:path';

import {writeReport} from '../report/index.js';

export function reportCommand(): Command {
  return new Command('report')
    .description('write DIR/report.html (one offline page: results, curves, trade-offs, confusion matrices) and DIR/charts/*.png from DIR/results.json')
    .requiredOption('--in <dir>', 'directory with results.json, e.g. the --out of hafif demo or hafif run')
    .option('--no-png', 'skip the PNG copies of the charts')
    .option('--json', 'print the written files as JSON')
    .action(async (flags: {in: string; png: boolean; json?: boolean}) => {
      const r = await writeReport(path.resolve(flags.in), {png: flags.png});
      if (flags.json) process.stdout.write(JSON.stringify({report: r.html, charts: r.charts.map((c) => c.id), pngs: r.pngs}) + '\n');
      else process.stdout.write(`report: ${r.html} (${r.charts.length} charts${r.pngs.length ? `, PNGs in ${path.dirname(r.pngs[0])}` : ''})\n`);
    });
}
