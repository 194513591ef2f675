import { describeStop } from '../../src/cli/format.js';

// Counts and durations as the terminal shows them.
export { formatCount as count, formatDuration as duration } from '../../src/cli/format.js';

/** Records per second, short: "23.4k/s", "950/s". */
export function rate(n: number): string {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M/s`;
  if (n >= 10_000) return `${(n / 1000).toFixed(0)}k/s`;
  if (n >= 1000) return `${(n / 1000).toFixed(1)}k/s`;
  return `${Math.round(n)}/s`;
}

/** An ISO time as the local clock time, or "-". */
export function clock(iso: string | undefined): string {
  if (iso === undefined) return '-';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '-' : d.toLocaleTimeString('en-GB');
}

/** The pump's stop reason in the words `ferry run` prints. */
export function stopReason(reason: string | undefined): string {
  return reason === undefined ? '' : describeStop(reason);
}
