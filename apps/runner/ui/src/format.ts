/** 23400 → "23,400". */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Records per second, short: "23.4k/s", "950/s". */
export function rate(n: number): string {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M/s`;
  if (n >= 10_000) return `${(n / 1000).toFixed(0)}k/s`;
  if (n >= 1000) return `${(n / 1000).toFixed(1)}k/s`;
  return `${Math.round(n)}/s`;
}

/** Seconds as m:ss, or h:mm:ss past an hour. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** An ISO time as the local clock time, or "-". */
export function clock(iso: string | undefined): string {
  if (iso === undefined) return '-';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '-' : d.toLocaleTimeString('en-GB');
}

const stopWords: Record<string, string> = {
  empty: 'source empty',
  maxBatches: 'maxBatches reached',
  full: 'target full',
  aborted: 'cancelled',
};

/** The pump's stop reason in the words `ferry run` prints. */
export function stopReason(reason: string | undefined): string {
  return reason === undefined ? '' : (stopWords[reason] ?? reason);
}

export const systemTitles: Record<string, string> = {
  S: 'Redis Streams',
  Q: 'RabbitMQ',
  M: 'MongoDB',
  C: 'ClickHouse',
};
