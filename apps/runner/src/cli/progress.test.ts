import type { PumpProgress } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { createProgressReporter, formatDuration, formatProgress, formatResult } from './progress.js';

const p = (over: Partial<PumpProgress> = {}): PumpProgress => ({
  records: 5000,
  deadLettered: 0,
  batches: 5,
  bytes: 100_000,
  elapsedMs: 213,
  rate: 23_400,
  ...over,
});

describe('progress lines', () => {
  it('draws a bar with the ETA when the total is known', () => {
    expect(formatProgress(p(), 10_000)).toBe('[##########----------] 5,000/10,000 records  23,400 rec/s  ETA 0:00');
    expect(formatProgress(p({ records: 1000, rate: 100 }), 10_000)).toMatch(/ETA 1:30$/);
  });

  it('counts with the rate when the total is not known, and says what it waits for', () => {
    expect(formatProgress(p())).toBe('5,000 records  23,400 rec/s');
    expect(formatProgress(p({ waiting: 'full' }))).toBe('5,000 records  23,400 rec/s  waiting: target full');
    expect(formatProgress(p({ waiting: 'empty' }))).toBe('5,000 records  23,400 rec/s  waiting for records');
  });

  it('formats durations', () => {
    expect(formatDuration(2)).toBe('0:02');
    expect(formatDuration(61)).toBe('1:01');
    expect(formatDuration(3723)).toBe('1:02:03');
  });

  it('words the final line and the stop reasons', () => {
    const result = { ...p({ records: 10_000, elapsedMs: 430, rate: 23_255.8 }), stopReason: 'empty' as const };
    expect(formatResult(result)).toBe('moved 10000 records in 0.43 s (23,256 records/s); stopped: source empty');
    expect(formatResult({ ...result, stopReason: 'maxBatches' })).toMatch(/stopped: maxBatches reached$/);
    expect(formatResult({ ...result, stopReason: 'full' })).toMatch(/stopped: target full$/);
    expect(formatResult({ ...result, stopReason: 'aborted' })).toMatch(/stopped: cancelled$/);
    expect(formatResult({ ...result, deadLettered: 3 })).toBe(
      'moved 10000 records in 0.43 s (23,256 records/s); dead-lettered 3; stopped: source empty',
    );
  });
});

function sink() {
  const chunks: string[] = [];
  return { chunks, stream: { write: (s: string) => chunks.push(s) } as unknown as NodeJS.WriteStream };
}

describe('createProgressReporter', () => {
  it('redraws one line on a TTY at most every 100 ms and clears it at the end', () => {
    let now = 0;
    const out = sink();
    const reporter = createProgressReporter({ stream: out.stream, tty: true, now: () => now });
    now = 150;
    reporter.update(p({ records: 0, backlog: 10_000 }));
    now = 200;
    reporter.update(p({ records: 1000 }));
    now = 260;
    reporter.update(p({ records: 2000 }));
    reporter.finish();
    expect(out.chunks).toHaveLength(3);
    expect(out.chunks[0]).toBe(`\r\x1b[2K[${'-'.repeat(20)}] 0/10,000 records  23,400 rec/s  ETA 0:00`);
    expect(out.chunks[1]).toMatch(/2,000\/10,000 records/);
    expect(out.chunks[2]).toBe('\r\x1b[2K');
  });

  it('prints plain lines, seldom, when not a TTY', () => {
    let now = 0;
    const out = sink();
    const reporter = createProgressReporter({ stream: out.stream, tty: false, now: () => now });
    for (now = 0; now < 25_000; now += 100) reporter.update(p());
    reporter.finish();
    expect(out.chunks).toHaveLength(2);
    expect(out.chunks.every((c) => c.endsWith('\n') && !c.includes('\r'))).toBe(true);
  });
});

describe('records that lost keys at the sink', () => {
  const skipped = { skippedFields: 12, firstSkipped: { id: '1-0', keys: ['extra', 'more'] } };

  it('are counted on the progress line and in the final line', () => {
    expect(formatProgress(p(skipped))).toBe('5,000 records  23,400 rec/s  12 lost keys');
    expect(formatResult({ ...p(skipped), stopReason: 'empty' })).toBe(
      'moved 5000 records in 0.21 s (23,400 records/s); 12 lost keys the sink has no place for; stopped: source empty',
    );
  });

  it('the first is named in one warning per run', () => {
    const out = sink();
    const reporter = createProgressReporter({ stream: out.stream, tty: false, lineMs: 0 });
    reporter.update(p(skipped));
    reporter.update(p({ ...skipped, skippedFields: 20 }));
    reporter.finish();
    const warnings = out.chunks.filter((chunk) => chunk.includes('warning'));
    expect(warnings).toEqual([
      'ferry: warning: record 1-0 was written without "extra", "more": the sink has no place for them (unknownFields: skip); every such record is counted as "lost keys"\n',
    ]);
  });
});
