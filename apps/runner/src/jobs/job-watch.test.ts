import { describe, expect, it } from 'vitest';
import type { JobView } from '../control/jobs.js';
import { formatJobEnd, watchJob } from './job-watch.js';

function stream(tty: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { write: (s: string) => chunks.push(s), isTTY: tty } as unknown as NodeJS.WriteStream };
}

/** A job read that gives each view in turn, then the last one again. */
function reads(views: (JobView | undefined)[]) {
  let i = 0;
  return async () => views[Math.min(i++, views.length - 1)];
}

const base = { id: 'j1', name: 'copy', attempts: 0 } as const;
const active = (records: number): JobView => ({
  ...base,
  state: 'active',
  progress: { records, rate: 1000, elapsedMs: records, backlog: 1000 - records, edge: 'S2S' },
});
const completed: JobView = {
  ...base,
  state: 'completed',
  result: { records: 1000, rate: 1000, elapsedMs: 1000, stopReason: 'empty', edge: 'S2S', deadLettered: 0 },
};

describe('ferry jobs --watch', () => {
  it('redraws a bar with the rate and ETA on a terminal, then says how the job ended', async () => {
    const out = stream(false);
    const err = stream(true);
    const views: JobView[] = [
      { ...base, state: 'waiting' },
      active(0),
      active(250),
      active(500),
      active(750),
      completed,
    ];
    const code = await watchJob(reads(views), 'j1', { stdout: out.stream, stderr: err.stream }, { pollMs: 120 });
    expect(code).toBe(0);
    const drawn = err.chunks.join('');
    expect(drawn).toContain('ferry: job j1 (copy) waiting');
    expect(drawn).toContain('ferry: job j1 (copy, S2S) active');
    expect(drawn).toContain('\r\x1b[2K[#####---------------] 250/1,000 records  1,000 rec/s  ETA 0:01');
    expect(out.chunks.join('')).toBe(
      'job j1 (copy, S2S) completed: moved 1000 records in 1.00 s (1,000 records/s); stopped: source empty\n',
    );
  });

  it('writes no redraws in a pipe, and exits as ferry run would: 1 failed, 130 cancelled', async () => {
    const err = stream(false);
    const out = stream(false);
    const failed: JobView = { ...base, state: 'failed', error: '[redis-stream] default: connect ECONNREFUSED' };
    const io = { stdout: out.stream, stderr: err.stream };
    expect(await watchJob(reads([active(10), failed]), 'j1', io, { pollMs: 5 })).toBe(1);
    expect(err.chunks.join('')).not.toContain('\r');
    expect(out.chunks.join('')).toBe('job j1 (copy) failed: [redis-stream] default: connect ECONNREFUSED\n');

    const cancelled: JobView = { ...base, state: 'cancelled' };
    const quiet = stream(false);
    expect(await watchJob(reads([cancelled]), 'j1', { stdout: quiet.stream, stderr: stream(false).stream })).toBe(130);
    expect(quiet.chunks.join('')).toBe('job j1 (copy) cancelled before it started\n');
  });

  it('prints the job as JSON with --json, and fails on an unknown job', async () => {
    const out = stream(false);
    expect(
      await watchJob(reads([completed]), 'j1', { stdout: out.stream, stderr: stream(false).stream }, { json: true }),
    ).toBe(0);
    expect(JSON.parse(out.chunks.join(''))).toEqual(completed);
    const err = stream(false);
    expect(await watchJob(reads([undefined]), 'nope', { stdout: out.stream, stderr: err.stream })).toBe(1);
    expect(err.chunks.join('')).toBe('error: no job "nope"\n');
  });

  it('stops watching on a signal and leaves the job running', async () => {
    const controller = new AbortController();
    const err = stream(false);
    let n = 0;
    const read = async () => {
      n += 1;
      if (n === 3) controller.abort();
      return active(n * 10);
    };
    const code = await watchJob(
      read,
      'j1',
      { stdout: stream(false).stream, stderr: err.stream },
      { signal: controller.signal, pollMs: 5 },
    );
    expect(code).toBe(130);
    expect(err.chunks.join('')).toContain('stopped watching; job j1 goes on (ferry cancel j1 stops it)');
  });

  it('names the dead letters in the final line', () => {
    const result = { ...(completed.result as object), deadLettered: 3, stopReason: 'maxBatches' };
    expect(formatJobEnd({ ...completed, result })).toBe(
      'job j1 (copy, S2S) completed: moved 1000 records in 1.00 s (1,000 records/s); dead-lettered 3; stopped: maxBatches reached',
    );
  });

  it('counts records that lost keys at the sink in the final line', () => {
    const result = { ...(completed.result as object), skippedFields: 7, firstSkipped: { id: '1-0', keys: ['x'] } };
    expect(formatJobEnd({ ...completed, result })).toBe(
      'job j1 (copy, S2S) completed: moved 1000 records in 1.00 s (1,000 records/s); 7 lost keys the sink has no place for; stopped: source empty',
    );
  });
});
