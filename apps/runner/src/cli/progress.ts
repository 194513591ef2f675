import type { PumpProgress, PumpResult } from '@ferry/core';
import { describeStop, formatCount, formatDuration } from './format.js';

export { describeStop, formatCount, formatDuration };

/** `[#####-----]`: `done` of `total`, `width` cells. */
export function formatBar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.min(width, Math.floor((done / total) * width)) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/**
 * One progress line: a bar when the total is known
 * (`[#####-----] 5,000/10,000 records  23,400 rec/s  ETA 0:02`), else a counter
 * with the rate; what the pump waits for, when it waits.
 */
export function formatProgress(p: PumpProgress, total?: number): string {
  const rate = `${formatCount(p.rate)} rec/s`;
  let line: string;
  if (total !== undefined && total > 0) {
    const left = Math.max(0, total - p.records);
    const eta = p.rate > 0 ? `  ETA ${formatDuration(left / p.rate)}` : '';
    line = `${formatBar(p.records, total)} ${formatCount(p.records)}/${formatCount(total)} records  ${rate}${eta}`;
  } else {
    line = `${formatCount(p.records)} records  ${rate}`;
  }
  if (p.waiting === 'full') line += '  waiting: target full';
  else if (p.waiting === 'empty') line += '  waiting for records';
  if (p.skippedFields !== undefined) line += `  ${formatCount(p.skippedFields)} lost keys`;
  if (p.lastError !== undefined && p.waiting === undefined) line += `  (${p.lastError})`;
  return line;
}

/** The warning a run gives once, for its first record that lost keys at the sink. */
export function formatSkippedWarning(first: NonNullable<PumpProgress['firstSkipped']>): string {
  const keys = first.keys.map((key) => JSON.stringify(key)).join(', ');
  return `ferry: warning: record ${first.id} was written without ${keys}: the sink has no place for them (unknownFields: skip); every such record is counted as "lost keys"`;
}

/** The final line: `moved 10000 records in 0.43 s (23,256 records/s); stopped: source empty`. */
export function formatResult(result: PumpResult): string {
  const seconds = result.elapsedMs / 1000;
  return (
    `moved ${result.records} records in ${seconds.toFixed(2)} s (${formatCount(result.rate)} records/s); ` +
    (result.deadLettered > 0 ? `dead-lettered ${result.deadLettered}; ` : '') +
    (result.skippedFields !== undefined ? `${result.skippedFields} lost keys the sink has no place for; ` : '') +
    `stopped: ${describeStop(result.stopReason)}`
  );
}

export interface ProgressReporterOptions {
  readonly stream: NodeJS.WriteStream;
  /** Redraw one line in place; otherwise print a plain line now and then. */
  readonly tty: boolean;
  /** Least time between two redraws on a TTY. */
  readonly redrawMs?: number;
  /** Least time between two lines when not a TTY. */
  readonly lineMs?: number;
  readonly now?: () => number;
}

export interface ProgressReporter {
  update(progress: PumpProgress): void;
  /** Clears the redrawn line so that the next output starts on a clean line. */
  finish(): void;
}

/**
 * Draws the pump's progress: on a TTY a single line redrawn at most ~10 times
 * a second; elsewhere (logs, pipes) no redraws, a line every few seconds at most.
 */
export function createProgressReporter(options: ProgressReporterOptions): ProgressReporter {
  const { stream, tty } = options;
  const now = options.now ?? Date.now;
  const every = tty ? (options.redrawMs ?? 100) : (options.lineMs ?? 10_000);
  let lastAt = now();
  let drawn = false;
  let total: number | undefined;
  let lastBacklog: number | undefined;
  let warned = false;

  return {
    update(p) {
      if (p.firstSkipped !== undefined && !warned) {
        warned = true;
        if (drawn) stream.write('\r\x1b[K');
        stream.write(`${formatSkippedWarning(p.firstSkipped)}\n`);
        drawn = false;
      }
      // The pump refreshes the backlog now and then: the total is what was moved
      // plus what waited when it was last measured.
      if (p.backlog !== undefined && p.backlog !== lastBacklog) {
        lastBacklog = p.backlog;
        total = p.records + p.backlog;
      }
      if (total !== undefined && p.records > total) total = p.records;
      const at = now();
      if (at - lastAt < every) return;
      lastAt = at;
      const line = formatProgress(p, total);
      if (tty) {
        stream.write(`\r\x1b[2K${line}`);
        drawn = true;
      } else {
        stream.write(`${line}\n`);
      }
    },
    finish() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
