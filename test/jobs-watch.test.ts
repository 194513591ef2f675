import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix, type FerryProcess, startFerry, uniquePrefix } from './support/api.js';
import { configFile, ferry, lastLine, redisUrl } from './support/cli.js';
import { TestStreams } from './support/streams.js';

// `ferry jobs --watch`: a submitted job followed from the shell until it ends.

const streams = new TestStreams();
const prefix = uniquePrefix('watch');
const processes: FerryProcess[] = [];
const copyIn = streams.name('watch.copy.in');
const copyOut = streams.name('watch.copy.out');
const followIn = streams.name('watch.follow.in');
const followOut = streams.name('watch.follow.out');
const config = configFile(
  [
    'connections:',
    `  default: { kind: redis-stream, url: "${redisUrl}" }`,
    'flows:',
    '  copy:',
    `    source: { stream: ${copyIn} }`,
    `    sink: { stream: ${copyOut} }`,
    '    batchSize: 100',
    '  tail:',
    `    source: { stream: ${followIn} }`,
    `    sink: { stream: ${followOut} }`,
    '    stopWhenEmpty: false',
    '    pollIntervalMs: 200',
  ].join('\n'),
);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop(5000)));
  await dropPrefix(prefix);
  await streams.cleanup();
});

const submit = async (flow: string) => {
  const run = await ferry(['submit', config, flow, '--prefix', prefix]);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trim();
};

describe('ferry jobs --watch', () => {
  it('follows a submitted job until it completes and says what it moved', async () => {
    await streams.seed(copyIn, 3_000);
    const id = await submit('copy');
    const watching = ferry(['jobs', '--watch', id, '--prefix', prefix]);
    processes.push(await startFerry('worker', ['--config', config, '--prefix', prefix, '--concurrency', '2']));
    const watched = await watching;
    expect(watched.code, watched.stderr).toBe(0);
    expect(lastLine(watched.stdout)).toMatch(
      new RegExp(
        `^job ${id} \\(copy, S2S\\) completed: moved 3000 records in [\\d.]+ s \\([\\d,]+ records/s\\); stopped: source empty$`,
      ),
    );
    // Not a terminal: no line is redrawn in place.
    expect(watched.stderr).not.toContain('\r');
    expect(await streams.len(copyOut)).toBe(3_000);
  });

  it('ends with exit code 130 when the job it follows is cancelled; with no id it takes the running job', async () => {
    await streams.seed(followIn, 50);
    const id = await submit('tail');
    await expect.poll(() => streams.len(followOut), { timeout: 15_000 }).toBe(50);
    // Without an id the watcher takes the running job; it is cancelled once the watcher names it.
    let following: () => void = () => {};
    const named = new Promise<void>((resolve) => {
      following = resolve;
    });
    let said = '';
    const watching = ferry(['jobs', '--watch', '--prefix', prefix], {
      onSpawn: (child) =>
        child.stderr?.on('data', (chunk: string) => {
          said += chunk;
          if (said.includes(`job ${id} (tail, S2S) active`)) following();
        }),
    });
    await named;
    const cancel = await ferry(['cancel', id, '--prefix', prefix]);
    expect(cancel.code, cancel.stderr).toBe(0);
    const watched = await watching;
    expect(watched.code).toBe(130);
    expect(lastLine(watched.stdout)).toMatch(
      new RegExp(`^job ${id} \\(tail, S2S\\) cancelled: moved 50 records in [\\d.]+ s .*; stopped: cancelled$`),
    );

    const idle = await ferry(['jobs', '--watch', '--prefix', uniquePrefix('watch-idle')]);
    expect(idle.code).toBe(1);
    expect(idle.stderr).toMatch(/no active or waiting job to watch; give a job id/);
  });
});
