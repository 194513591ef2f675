import type { FerryRecord, RecordValue } from '@ferry/core';

/**
 * Values that exercise a codec: numbers, booleans, null, nesting, unicode and
 * strings that look like other JSON types.
 */
export function sampleValues(count: number, tag = 'v'): RecordValue[] {
  return Array.from({ length: count }, (_, n) => ({
    n,
    tag: `${tag}-${n}`,
    ok: n % 2 === 0,
    none: null,
    ratio: n / 4,
    looksNumeric: String(n),
    text: 'grüße, 世界 🚀',
    nested: { list: [n, 'x', { deep: true }] },
  }));
}

/** Records as a source would hand them over, with ids `<tag>-0`, `<tag>-1`… */
export function sampleRecords(count: number, tag = 'rec'): FerryRecord[] {
  const readAt = Date.now();
  return sampleValues(count, tag).map((value, n) => ({ id: `${tag}-${n}`, value, readAt, bytes: 0 }));
}
