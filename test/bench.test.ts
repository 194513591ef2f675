import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { registry } from '@ferry/bench/connectors';
import { beforeAll, describe, expect, it } from 'vitest';
import { redisUrl, repoRoot } from './support/cli.js';

const bench = join(repoRoot, 'bench/dist/main.js');

const benched = (letter: string) => registry.list().find((c) => c.letter === letter)?.bench !== undefined;
const edges = registry.edges().filter((edge) => edge.allowed && edge.name !== 'S2S');
/** Edges of a connector without a bench end: listed as skipped, with no row. */
const skipped = edges.filter((edge) => !benched(edge.from) || !benched(edge.to)).map((edge) => edge.name);

/**
 * Every edge the bench's registry permits (not M2C, C2M), the S2S pump without its same-server
 * direct move, the direct move against its script called by hand, and the API.
 */
const rows = [
  'S2S',
  'S2S (direct: false)',
  'S2S same server (script loop)',
  ...edges.map((edge) => edge.name).filter((name) => !skipped.includes(name)),
  'S2S via API',
];

const literal = (text: string) => text.replace(/[()]/g, '\\$&');

// The benchmark in a small quick mode, so that it cannot rot between full runs.
// It asserts that it ran and moved everything, never how fast: speed is `npm run bench`.
describe('npm run bench -- --quick', () => {
  let run: SpawnSyncReturns<string>;

  beforeAll(() => {
    run = spawnSync(process.execPath, [bench, '--quick'], {
      encoding: 'utf8',
      env: { ...process.env, REDIS_URL: redisUrl },
      timeout: 170_000,
    });
  }, 180_000);

  it('runs every edge and the memory case, and exits 0', () => {
    expect(run.error).toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).not.toContain('results written');
  });

  it.each(rows)('moves all 2,000 records of %s through the pump and the hand-written loop', (edge) => {
    expect(run.stdout).toMatch(
      new RegExp(
        `^${literal(edge)}: pump [\\d,]+ records/s, loop [\\d,]+ records/s, ratio \\d+\\.\\d\\d \\(rounds \\d+\\.\\d\\d–\\d+\\.\\d\\d\\), peak RSS \\d+ MB, process \\d+ MB \\(2,000 records × 1 rounds, batch 1000\\)$`,
        'm',
      ),
    );
    expect(run.stdout).toMatch(
      new RegExp(
        `^\\| ${literal(edge)} \\| 2,000 × 1 \\| [\\d,]+ \\| [\\d,]+ \\| \\d+\\.\\d\\d \\| \\d+\\.\\d\\d–\\d+\\.\\d\\d \\| \\d+ MB \\| \\d+ MB \\|$`,
        'm',
      ),
    );
  });

  it('has one table row per edge, the four systems’ 17 among them, no more', () => {
    const fourSystems = ['S2Q', 'S2M', 'S2C', 'Q2S', 'Q2Q', 'Q2M', 'Q2C', 'M2S', 'M2Q', 'M2M', 'C2S', 'C2Q', 'C2C'];
    expect(rows).toEqual(expect.arrayContaining(fourSystems));
    expect(rows.length).toBeGreaterThanOrEqual(17);
    expect(run.stdout.match(/^\| [^|]+ \| 2,000 × 1 \|/gm)).toHaveLength(rows.length);
  });

  it('lists the edges of a connector without a bench end as skipped, not failed', () => {
    for (const edge of skipped) expect(run.stdout).toMatch(new RegExp(`^${edge}: skipped, .+ has no bench end$`, 'm'));
  });

  it.each(['S2S', 'S2S (direct: false)', 'S2C'])(
    'moves 50,000 waiting records %s through the pump in a process of its own and prints its peak RSS',
    (edge) => {
      const line = new RegExp(
        `^Memory, ${literal(edge)}: 50,000 records through the pump \\(all waiting at the source when it started\\), [\\d,]+ records/s, peak RSS (\\d+) MB \\(limit 200 MB; the process with its seeding (\\d+) MB\\)$`,
        'm',
      ).exec(run.stdout);
      expect(line, run.stdout).not.toBeNull();
      const [pump, whole] = [Number(line![1]), Number(line![2])];
      // The pump's peak is a part of the process's life: never above it, and never nothing.
      expect(pump).toBeGreaterThan(0);
      expect(pump).toBeLessThanOrEqual(whole);
    },
  );
});

describe('npm run bench -- x2y', () => {
  it('refuses an edge it does not know, naming it', () => {
    const run = spawnSync(process.execPath, [bench, 'x2y', '--quick'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('bench: unknown edge x2y');
  });

  it('refuses M2C, which no flow may take, saying why', () => {
    const run = spawnSync(process.execPath, [bench, 'm2c', '--quick'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('bench: edge M2C is not permitted');
    expect(run.stderr).toContain('move the data through a queue instead');
  });
});
