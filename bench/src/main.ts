import { mkdir, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startTestMongo, type TestMongo } from '@ferry/testkit/mongo-test-server';
import { api, originalRate } from './api.js';
import type { Timed } from './bench-case.js';
import { cases } from './cases.js';
import { registry } from './connectors.js';
import { type EdgeResult, runInChild } from './edge-process.js';
import { s2s, s2sClient, s2sScript } from './s2s.js';

/** The memory case: edges moving a large backlog through the pump alone, each in its own process. */
const memoryEdges = ['s2s', 's2s-client', 's2c'];
const memoryLimitMb = 200;

interface Row {
  edge: string;
  records: number;
  rounds: number;
  pumpRate: number;
  loopRate: number;
  ratio: number;
  /** The lowest and highest ratio of one round's pump run to the same round's loop run. */
  ratioLow: number;
  ratioHigh: number;
  /** Each round's rates, in round order: the pump went first in odd rounds (1, 3, …), the loop in even ones. */
  pumpRates: number[];
  loopRates: number[];
  /** The pump's moves' peak RSS (see `peak-rss.ts`); the API case's is its worker's. */
  peakRssMb: number;
  /** The edge's whole process: seeding, hand loop and pump, every round. */
  processPeakRssMb: number;
}

interface MemoryRow {
  edge: string;
  records: number;
  pumpRate: number;
  peakRssMb: number;
  processPeakRssMb: number;
  limitMb: number;
}

const longer = Object.keys(cases).filter((name) => cases[name]!.defaultRecords > 100_000);

const usage = `usage: npm run bench -- [EDGE...] [--records N] [--rounds N] [--batch N] [--quick]
  EDGE      one of: ${Object.keys(cases).join(', ')}, memory (default: all of them)
            memory: ${memoryEdges.join(', ')} moving 1,000,000 records through the pump alone; fails when
            the pump's peak RSS reaches ${memoryLimitMb} MB
  --records records moved per run (default: each edge's own: 200,000 for ${longer.join(', ')}; 100,000 for the others)
  --rounds  runs of each side, interleaved pump/loop/loop/pump… to cancel drift (default 6: an even
            count lets each side go first as often); a row shows the median rate of each side and the
            median of the rounds' pump/loop ratios. Before them an uncounted round of a tenth of the
            records warms the edge's process up
  --batch   batch size (default 1000)
  --quick   a small run that only checks the benchmark still works (2,000 records, 50,000 for memory,
            1 round); writes no results (nor does a run of memory alone)
Each edge runs in a process of its own: the table shows its peak RSS while the pump moved records, and
over the whole process (seeding and hand loop included).`;

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`bench: --${name} must be a positive integer, got "${value}"`);
    process.exit(2);
  }
  return n;
}

const runRate = (run: Timed) => run.records / run.seconds;

/**
 * The middle value. The brokers on a 2-core machine shared with the bench
 * have slow spells (a RabbitMQ queue here delivers at 25,000 or 55,000
 * messages a second from one run to the next): one round caught in one
 * must not decide a row, as it would in a total over the rounds.
 */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const rate = (runs: readonly Timed[]) => median(runs.map(runRate));

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const mb = (kb: number) => Math.round(kb / 1024);

const spread = (row: Row) => `${row.ratioLow.toFixed(2)}–${row.ratioHigh.toFixed(2)}`;

function memoryLine(row: MemoryRow): string {
  return `Memory, ${row.edge}: ${fmt(row.records)} records through the pump (all waiting at the source when it started), ${fmt(row.pumpRate)} records/s, peak RSS ${row.peakRssMb} MB (limit ${row.limitMb} MB; the process with its seeding ${row.processPeakRssMb} MB)`;
}

/** An edge that could not run, and why: a system without a bench end. */
interface Skipped {
  edge: string;
  reason: string;
}

function markdown(rows: Row[], memory: MemoryRow[], skipped: Skipped[], machine: string): string {
  const lines = [`Measured ${new Date().toISOString().slice(0, 10)} on ${machine}.`];
  if (rows.length > 0) {
    lines.push(
      '',
      '| edge | records | pump records/s | loop records/s | ratio | rounds’ ratios | peak RSS | process peak RSS |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${r.edge} | ${fmt(r.records)} × ${r.rounds} | ${fmt(r.pumpRate)} | ${fmt(r.loopRate)} | ${r.ratio.toFixed(2)} | ${spread(r)} | ${r.peakRssMb} MB | ${r.processPeakRssMb} MB |`,
      ),
    );
  }
  if (skipped.length > 0) lines.push('', `Skipped: ${skipped.map((s) => `${s.edge} (${s.reason})`).join(', ')}.`);
  if (memory.length > 0) lines.push('', ...memory.map((row) => `${memoryLine(row)}.`));
  lines.push(
    '',
    "Each edge runs in a process of its own with only its two systems' connector packages loaded; MongoDB runs outside it (the test server in the parent process). Peak RSS is that process's highest while the pump moved records, each move starting from a collected heap and a reset peak; process peak RSS is the whole process's, its seeding and hand loop included, every round.",
  );
  if (rows.some((r) => r.edge === s2s.edge)) {
    lines.push(
      '',
      `S2S moves each batch inside Redis in one script call (the Redis source's \`direct\`, on by default for a stream sink on the same server), which the hand loop's XRANGE, XADD script and XTRIM do not; ${s2sClient.edge} is the pump through the client with the loop's calls, and ${s2sScript.edge} the direct move against its script called by hand.`,
    );
  }
  if (rows.some((r) => r.edge === api.edge)) {
    lines.push(
      '',
      `S2S via API: "pump" is a job through the HTTP API (submitted to \`ferry serve\`, polled to its end), "loop" is \`ferry run\` of the same flow, both timed from the request or spawn to the end; its peak RSS is the \`ferry serve\` worker's. The original Flask + Celery worker moved about ${fmt(originalRate)} records/s here with batch 1000.`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Why the registry refuses an edge such as M2C, or undefined for a name that is no refused edge. */
function refused(name: string): string | undefined {
  const edge = registry.edges().find((e) => e.name === name.toUpperCase());
  return edge === undefined || edge.allowed ? undefined : `edge ${edge.name} is not permitted: ${edge.reason}`;
}

/**
 * A MongoDB for the edges that need one (MONGO_URL when given, else one
 * started in this process, so that no edge's RSS counts it); the ends find
 * it in MONGO_URL.
 */
async function mongoFor(names: string[]): Promise<TestMongo | undefined> {
  const needs = names.some((name) => cases[name]!.kinds.includes('mongo') && cases[name]!.skipped === undefined);
  return needs ? startTestMongo() : undefined;
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
  const names = positionals.length > 0 ? positionals.map((p) => p.toLowerCase()) : [...Object.keys(cases), 'memory'];
  const unknown = names.filter((n) => !(n in cases) && n !== 'memory');
  if (unknown.length > 0) {
    for (const name of unknown) console.error(`bench: ${refused(name) ?? `unknown edge ${name}`}`);
    console.error(usage);
    process.exit(2);
  }
  const quick = values.quick;
  const rounds = positiveInt(values.rounds, 'rounds', quick ? 1 : 6);
  const batchSize = positiveInt(values.batch, 'batch', 1000);
  const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;

  const edgeNames = names.filter((n) => n !== 'memory');
  const withMemory = names.includes('memory');
  const mongo = await mongoFor(edgeNames);
  const env = mongo === undefined ? process.env : { ...process.env, MONGO_URL: mongo.url };
  const rows: Row[] = [];
  const memory: MemoryRow[] = [];
  const skipped: Skipped[] = [];
  const failed: string[] = [];
  try {
    for (const name of edgeNames) {
      const bench = cases[name]!;
      if (bench.skipped !== undefined) {
        console.log(`${bench.edge}: skipped, ${bench.skipped}`);
        skipped.push({ edge: bench.edge, reason: bench.skipped });
        continue;
      }
      const records = positiveInt(values.records, 'records', quick ? 2000 : bench.defaultRecords);
      let runs: EdgeResult;
      try {
        runs = await runInChild({ name, records, rounds, batchSize, pumpOnly: false }, env);
      } catch (error) {
        console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
        failed.push(bench.edge);
        continue;
      }
      // Each round's pump run and loop run ran back to back: their ratio is what drift touches least.
      const ratios = runs.pump.map((pump, round) => runRate(pump) / runRate(runs.loop[round]!));
      const row: Row = {
        edge: bench.edge,
        records,
        rounds,
        pumpRate: rate(runs.pump),
        loopRate: rate(runs.loop),
        ratio: median(ratios),
        ratioLow: Math.min(...ratios),
        ratioHigh: Math.max(...ratios),
        pumpRates: runs.pump.map((run) => Math.round(runRate(run))),
        loopRates: runs.loop.map((run) => Math.round(runRate(run))),
        peakRssMb: mb(runs.peakRssKb),
        processPeakRssMb: mb(runs.processPeakRssKb),
      };
      rows.push(row);
      if (bench === api) {
        console.log(
          `S2S via API: the pump column is a job submitted to ferry serve and polled to its end, the loop column is ferry run of the same flow; ${(row.pumpRate / originalRate).toFixed(1)}× the original Flask + Celery worker (${fmt(originalRate)} records/s here)`,
        );
      }
      console.log(
        `${row.edge}: pump ${fmt(row.pumpRate)} records/s, loop ${fmt(row.loopRate)} records/s, ratio ${row.ratio.toFixed(2)} (rounds ${spread(row)}), peak RSS ${row.peakRssMb} MB, process ${row.processPeakRssMb} MB (${fmt(records)} records × ${rounds} rounds, batch ${batchSize})`,
      );
    }
    if (withMemory) {
      const records = positiveInt(values.records, 'records', quick ? 50_000 : 1_000_000);
      for (const name of memoryEdges) {
        const edge = cases[name]!.edge;
        try {
          const runs = await runInChild({ name, records, rounds: 1, batchSize, pumpOnly: true }, env);
          const row = {
            edge,
            records,
            pumpRate: rate(runs.pump),
            peakRssMb: mb(runs.peakRssKb),
            processPeakRssMb: mb(runs.processPeakRssKb),
            limitMb: memoryLimitMb,
          };
          memory.push(row);
          console.log(memoryLine(row));
          if (row.peakRssMb >= memoryLimitMb) {
            console.error(
              `bench: memory, ${edge}: peak RSS ${row.peakRssMb} MB moving ${fmt(records)} records, at or over the ${memoryLimitMb} MB limit`,
            );
            failed.push(`memory ${edge}`);
          }
        } catch (error) {
          console.error(`bench: memory, ${error instanceof Error ? error.message : String(error)}`);
          failed.push(`memory ${edge}`);
        }
      }
    }
  } finally {
    await mongo?.close();
  }

  const table = markdown(rows, memory, skipped, machine);
  console.log(`\n${table}`);
  // A run where an edge broke would leave a table with holes: keep the last whole one.
  const complete =
    rows.length + skipped.length === edgeNames.length && memory.length === (withMemory ? memoryEdges.length : 0);
  if (!quick && complete && rows.length > 0) {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'latest.json'),
      `${JSON.stringify({ machine, date: new Date().toISOString(), rows, memory }, null, 2)}\n`,
    );
    await writeFile(join(dir, 'latest.md'), table);
    console.log(`results written to ${dir}/latest.{json,md}`);
  }
  if (failed.length > 0) {
    console.error(`bench failed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `bench failed: ${error.message}` : error);
  process.exit(1);
});
