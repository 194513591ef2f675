import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RecordValue } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { configFile, redisUrl } from './support/cli.js';
import { endpointOptions, openSystems, type SystemEdge } from './support/systems.js';

// The worker killed with SIGKILL again and again, half the time right after a
// write and before its ack (the worst moment), half the time at a random
// moment; restarted each time. At the end the target must hold exactly the
// source's records: nothing lost, nothing doubled where the sink can tell.
// Every edge the registry permits between the systems that have a test end.

const fixture = fileURLToPath(new URL('./fixtures/kill-flow.mjs', import.meta.url));
const total = 20_000;
const batch = 200;
const kills = 10;

const systems = await openSystems('crash');

/** Small records like the original worker's; `n` orders them (a store's cursor). */
const values: RecordValue[] = Array.from({ length: total }, (_, i) => ({
  n: BigInt(i),
  name: `msg-${i}`,
  tags: '["e2e"]',
}));

function config(label: string, edge: SystemEdge, from: string, to: string): string {
  return configFile(
    [
      systems.connections(),
      `control: { url: "${redisUrl}", prefix: ferry-crash-${process.pid}-${label} }`,
      'flows:',
      '  flow:',
      `    source: ${systems.endpoint(edge.from, from, 'source')}`,
      `    sink: ${systems.endpoint(edge.to, to, 'sink')}`,
      `    batchSize: ${batch}`,
      '    retry: { retries: 5, initialDelayMs: 50, maxDelayMs: 500 }',
    ].join('\n'),
  );
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runOnce(file: string, killAfterWrite: number, killAfterMs?: number, env?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, file, 'flow', String(killAfterWrite)], {
      stdio: 'pipe',
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Kills the flow `kills` times, then lets it finish; resolves with how many runs were really killed.
 * `direct`: the flow's own sink, unwrapped, so that a same-system edge on one server takes the
 * source's direct move; with no write to kill after, every kill is at a random moment.
 */
async function crashLoop(file: string, direct?: string): Promise<number> {
  const env = direct === undefined ? undefined : { FERRY_TEST_DIRECT: '1' };
  let killed = 0;
  for (let i = 0; i < kills; i++) {
    const run =
      i % 2 === 0 && direct === undefined
        ? await runOnce(file, 1 + Math.floor(Math.random() * 5))
        : await runOnce(file, 0, 50 + Math.floor(Math.random() * 400), env);
    if (run.signal === 'SIGKILL') killed += 1;
    else expect(run.code, run.stderr).toBe(0);
  }
  const last = await runOnce(file, 0, undefined, env);
  expect(last.code, last.stderr).toBe(0);
  const result = JSON.parse(last.stdout);
  expect(result).toMatchObject({ stopReason: 'empty' });
  expect(result.direct).toBe(direct);
  return killed;
}

const sorted = (ids: readonly (string | undefined)[]) => [...ids].sort();

/** The edges whose sink can tell what it holds (`reconcile`): a batch in doubt is then never written twice. */
const exact = new Set(
  systems.edges.filter(
    (edge) => edge.to.definition.createSink(endpointOptions(edge.to, 'probe', 'sink')).reconcile !== undefined,
  ),
);

async function crashEdge(edge: SystemEdge, direct?: string): Promise<void> {
  const label = `${edge.name.toLowerCase()}${direct === undefined ? '' : '.direct'}`;
  const from = edge.from.end.name(`${label}.in`);
  const to = edge.to.end.name(`${label}.out`);
  const ids = await edge.from.end.seed(from, values);
  await edge.to.end.create(to, values[0]!);
  const killed = await crashLoop(config(label, edge, from, to), direct);
  expect(killed).toBeGreaterThanOrEqual(kills / 2);
  const left = await edge.from.end.left(from);
  if (left !== undefined) expect(left).toBe(0);
  const held = await edge.to.end.readBack(to);
  const heldIds = held.map((record) => record.id);
  if (exact.has(edge)) {
    // The sink can tell what it holds: every record once.
    expect(sorted(heldIds)).toEqual(sorted(ids));
  } else {
    // It cannot be asked: a batch in doubt is written again, at most one per crash, each copy with its id.
    expect(new Set(heldIds)).toEqual(new Set(ids));
    expect(held.length - ids.length).toBeLessThanOrEqual(killed * batch);
  }
  const sample = held.find((record) => record.id === ids[123]);
  expect(sample?.value).toMatchObject({ n: '123', name: 'msg-123', tags: '["e2e"]' });
}

function crashTests(edges: readonly SystemEdge[]): void {
  for (const edge of edges) {
    it(edge.name, () => crashEdge(edge), 300_000);
    const directMove = edge.from === edge.to ? edge.from.end.directMove : undefined;
    if (directMove !== undefined) {
      it(`${edge.name} on the source's direct move (${directMove})`, () => crashEdge(edge, directMove), 300_000);
    }
  }
}

const killedAndRestarted = `the worker killed with SIGKILL ${kills} times and restarted`;

// Each edge has names, a journal and a config of its own: they run side by side (two at a time, the
// config's maxConcurrency). Not those into a sink that cannot be asked: its bound of one batch
// doubled per crash assumes each ack lands before the next write, which a loaded machine stretches.
describe.concurrent(`${killedAndRestarted}, at a sink that can tell: exactly the source's records at the end`, () =>
  crashTests(systems.edges.filter((edge) => exact.has(edge))));
describe(`${killedAndRestarted}, at a sink that cannot be asked: every record, within one batch doubled per crash`, () =>
  crashTests(systems.edges.filter((edge) => !exact.has(edge))));
