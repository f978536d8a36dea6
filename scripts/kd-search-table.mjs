#!/usr/bin/env node
// Turns OUT/runs.jsonl from kd-search.mjs into the README's markdown table.
// Usage: node scripts/kd-search-table.mjs search-out
import {readFileSync} from 'node:fs';
import path from 'node:path';

const runs = readFileSync(path.join(process.argv[2] ?? 'search-out', 'runs.jsonl'), 'utf8')
  .split('\n').filter(Boolean).map((l) => JSON.parse(l));
const pct = (v) => (v * 100).toFixed(2);
const stats = (xs) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return {m, sd, n: xs.length};
};
const group = (items, keyOf) => {
  const g = new Map();
  for (const r of items) {
    const k = keyOf(r);
    if (!g.has(k)) g.set(k, []);
    g.get(k).push(r);
  }
  return g;
};

const teachers = group(runs.filter((r) => r.kind === 'teacher'), (r) => r.arch);
console.log('| teacher | seeds | test accuracy (mean ± sd) |\n|---|---|---|');
for (const [arch, rs] of teachers) {
  const s = stats(rs.map((r) => r.testAccuracy));
  console.log(`| ${arch} | ${rs.map((r) => r.seed).join(',')} | ${pct(s.m)} ± ${pct(s.sd)} |`);
}
const scratch = new Map();
for (const r of runs.filter((r) => r.kind === 'scratch')) scratch.set(`${r.epochs}:${r.seed}`, r.testAccuracy);
console.log('\n| teacher | loss | alpha | T | student epochs | seeds | distilled (mean ± sd) | scratch (mean ± sd) | distilled − scratch (mean ± sd of paired differences) |');
console.log('|---|---|---|---|---|---|---|---|---|');
const rows = [];
for (const [, rs] of group(runs.filter((r) => r.kind === 'distill'), (r) => `${r.teacher}:${r.loss}:${r.alpha}:${r.temperature}:${r.epochs}`)) {
  const paired = rs.filter((r) => scratch.has(`${r.epochs}:${r.seed}`));
  const d = stats(rs.map((r) => r.testAccuracy));
  const s = stats(paired.map((r) => scratch.get(`${r.epochs}:${r.seed}`)));
  const diff = stats(paired.map((r) => r.testAccuracy - scratch.get(`${r.epochs}:${r.seed}`)));
  rows.push({r: rs[0], d, s, diff, seeds: rs.map((r) => r.seed).join(',')});
}
rows.sort((a, b) => a.r.epochs - b.r.epochs || b.diff.m - a.diff.m);
for (const {r, d, s, diff, seeds} of rows) {
  const t = r.loss === 'mse' ? '–' : r.temperature;
  console.log(`| ${r.teacher} | ${r.loss} | ${r.alpha} | ${t} | ${r.epochs} | ${seeds} | ${pct(d.m)} ± ${pct(d.sd)} | ${pct(s.m)} ± ${pct(s.sd)} | ${diff.m >= 0 ? '+' : ''}${pct(diff.m)} ± ${pct(diff.sd)} |`);
}
