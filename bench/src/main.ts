import { mkdir, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { api, originalRate } from './api.js';
import type { BenchCase, Timed } from './bench-case.js';
import { c2s, s2c } from './clickhouse.js';
import { m2s, s2m } from './mongo.js';
import { q2q, q2s, s2q } from './rabbit.js';
import { s2s } from './s2s.js';

const cases: Record<string, BenchCase> = { s2s, s2q, q2s, q2q, s2c, c2s, s2m, m2s, api };

interface Row {
  edge: string;
  records: number;
  rounds: number;
  pumpRate: number;
  loopRate: number;
  ratio: number;
  peakRssMb: number;
}

const usage = `usage: npm run bench -- [EDGE...] [--records N] [--rounds N] [--batch N] [--quick]
  EDGE      one of: ${Object.keys(cases).join(', ')} (default: all)
  --records records moved per run (default: each edge's own: 200,000 for s2s, s2c, c2s; 100,000 for the others)
  --rounds  runs of each side, interleaved pump/loop/loop/pump… to cancel drift (default 3)
  --batch   batch size (default 1000)
  --quick   a small run that only checks the benchmark still works; writes no results`;

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`bench: --${name} must be a positive integer, got "${value}"`);
    process.exit(2);
  }
  return n;
}

const rate = (runs: Timed[]) =>
  runs.reduce((sum, r) => sum + r.records, 0) / runs.reduce((sum, r) => sum + r.seconds, 0);

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function markdown(rows: Row[], machine: string): string {
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}.`,
    '',
    '| edge | records | pump records/s | loop records/s | ratio | peak RSS |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.edge} | ${fmt(r.records)} × ${r.rounds} | ${fmt(r.pumpRate)} | ${fmt(r.loopRate)} | ${r.ratio.toFixed(2)} | ${r.peakRssMb} MB |`,
    ),
  ];
  if (rows.some((r) => r.edge === api.edge)) {
    lines.push(
      '',
      `S2S via API: "pump" is a job through the HTTP API (submitted to \`ferry serve\`, polled to its end), "loop" is \`ferry run\` of the same flow, both timed from the request or spawn to the end. The original Flask + Celery worker moved about ${fmt(originalRate)} records/s here with batch 1000.`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      records: { type: 'string' },
      rounds: { type: 'string' },
      batch: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const names = positionals.length > 0 ? positionals.map((p) => p.toLowerCase()) : Object.keys(cases);
  const unknown = names.filter((n) => !(n in cases));
  if (unknown.length > 0) {
    console.error(`bench: unknown edge ${unknown.join(', ')}\n${usage}`);
    process.exit(2);
  }
  const quick = values.quick;
  const rounds = positiveInt(values.rounds, 'rounds', quick ? 1 : 3);
  const batchSize = positiveInt(values.batch, 'batch', 1000);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;

  const rows: Row[] = [];
  for (const name of names) {
    const bench = cases[name]!;
    const records = positiveInt(values.records, 'records', quick ? 5000 : bench.defaultRecords);
    const pumpRuns: Timed[] = [];
    const loopRuns: Timed[] = [];
    for (let round = 0; round < rounds; round++) {
      const prepared = await bench.prepare({ redisUrl, records, batchSize, round });
      try {
        // Alternate which side goes first, so that drift of the machine favours neither.
        if (round % 2 === 0) {
          pumpRuns.push(await prepared.pump());
          loopRuns.push(await prepared.loop());
        } else {
          loopRuns.push(await prepared.loop());
          pumpRuns.push(await prepared.pump());
        }
      } finally {
        await prepared.close();
      }
    }
    const row: Row = {
      edge: bench.edge,
      records,
      rounds,
      pumpRate: rate(pumpRuns),
      loopRate: rate(loopRuns),
      ratio: rate(pumpRuns) / rate(loopRuns),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    rows.push(row);
    if (bench === api) {
      console.log(
        `S2S via API: the pump column is a job submitted to ferry serve and polled to its end, the loop column is ferry run of the same flow; ${(row.pumpRate / originalRate).toFixed(1)}× the original Flask + Celery worker (${fmt(originalRate)} records/s here)`,
      );
    }
    console.log(
      `${row.edge}: pump ${fmt(row.pumpRate)} records/s, loop ${fmt(row.loopRate)} records/s, ratio ${row.ratio.toFixed(2)}, peak RSS ${row.peakRssMb} MB (${fmt(records)} records × ${rounds} rounds, batch ${batchSize})`,
    );
  }

  const table = markdown(rows, machine);
  console.log(`\n${table}`);
  if (!quick) {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'latest.json'),
      `${JSON.stringify({ machine, date: new Date().toISOString(), rows }, null, 2)}\n`,
    );
    await writeFile(join(dir, 'latest.md'), table);
    console.log(`results written to ${dir}/latest.{json,md}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `bench failed: ${error.message}` : error);
  process.exit(1);
});
