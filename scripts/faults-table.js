#!/usr/bin/env node
'use strict';
// The table `npm run test:faults` ends with: what each fault/bad-input suite recorded
// with test/faults/tally.ts (one JSON line per record), per suite and in total.
//   node scripts/faults-table.js [tally file]   (default: $XRBD_FAULTS_TALLY, else <repo>/.faults-tally.jsonl)
// Exits 1 when a crash, a hang or a data mismatch was recorded, or a record is unreadable
// (no tally at all is reported, not a failure: jest's own result covers that run).
const fs = require('node:fs');
const path = require('node:path');

const file = process.argv[2] || process.env.XRBD_FAULTS_TALLY || path.join(__dirname, '..', '.faults-tally.jsonl');
const COLUMNS = [
  ['scenarios', 'scenarios'],
  ['faults', 'faults injected'],
  ['survived', 'survived'],
  ['badInputs', 'bad inputs'],
  ['crashes', 'crashes'],
  ['hangs', 'hangs'],
  ['mismatches', 'mismatches'],
];

let text;
try {
  text = fs.readFileSync(file, 'utf8');
} catch (err) {
  console.log(`faults: no tally (${file}: ${err.code || err.message}): no fault suite recorded anything`);
  process.exit(0);
}

const suites = new Map();
const bad = [];
text.split('\n').forEach((line, i) => {
  if (!line.trim()) return;
  let rec;
  try {
    rec = JSON.parse(line);
  } catch {
    bad.push(`line ${i + 1}: not JSON`);
    return;
  }
  if (!rec || typeof rec.suite !== 'string') {
    bad.push(`line ${i + 1}: no suite name`);
    return;
  }
  const row = suites.get(rec.suite) || Object.fromEntries(COLUMNS.map(([k]) => [k, 0]));
  for (const [k] of COLUMNS) {
    const v = rec[k] === undefined ? 0 : rec[k];
    if (!Number.isInteger(v) || v < 0) bad.push(`line ${i + 1} (${rec.suite}): ${k} is ${JSON.stringify(v)}`);
    else row[k] += v;
  }
  suites.set(rec.suite, row);
});

const total = Object.fromEntries(COLUMNS.map(([k]) => [k, 0]));
for (const row of suites.values()) for (const [k] of COLUMNS) total[k] += row[k];

const header = ['suite', ...COLUMNS.map(([, h]) => h)];
const rows = [...suites].map(([name, r]) => [name, ...COLUMNS.map(([k]) => String(r[k]))]);
const totalRow = ['total', ...COLUMNS.map(([k]) => String(total[k]))];
const widths = header.map((h, c) => Math.max(h.length, ...[...rows, totalRow].map((r) => r[c].length)));
const fmt = (r) => '| ' + r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join(' | ') + ' |';
const rule = '|' + widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|';

console.log(`\nfaults: ${file}`);
console.log(fmt(header));
console.log(rule);
for (const r of rows) console.log(fmt(r));
console.log(fmt(totalRow));
for (const b of bad) console.log(`faults: unreadable tally record, ${b}`);

const failures = [];
if (total.crashes) failures.push(`${total.crashes} crash(es)`);
if (total.hangs) failures.push(`${total.hangs} hang(s)`);
if (total.mismatches) failures.push(`${total.mismatches} data mismatch(es)`);
if (bad.length) failures.push(`${bad.length} unreadable record(s)`);
if (failures.length) {
  console.log(`faults: FAILED: ${failures.join(', ')}`);
  process.exit(1);
}
console.log(`faults: ${total.faults} fault(s) injected, ${total.survived} survived; no crash, hang or data mismatch`);
