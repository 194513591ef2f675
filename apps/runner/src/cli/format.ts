import type { StopReason } from '@ferry/core';

// The words and numbers ferry shows people, the same in the terminal and on the
// dashboard: nothing here needs Node, so the page's bundle imports it too.

const stopWords: Record<StopReason, string> = {
  empty: 'source empty',
  maxBatches: 'maxBatches reached',
  full: 'target full',
  aborted: 'cancelled',
};

/** The pump's stop reason in the words `ferry run` prints; a reason it does not know, as it is. */
export function describeStop(reason: string): string {
  return (stopWords as Record<string, string>)[reason] ?? reason;
}

/** 23400 → "23,400". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Seconds as m:ss, or h:mm:ss past an hour. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** `a`, `a and b`, `a, b and c`. */
export function andList(words: readonly string[]): string {
  return words.length < 2 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}
