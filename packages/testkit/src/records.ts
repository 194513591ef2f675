import type { FerryRecord, RecordValue } from '@ferry/core';

/**
 * Values that exercise a codec: an integer (`n`, a bigint as ferry's value
 * model has it), a float, booleans, null, nesting, unicode and text that looks
 * like a number.
 */
export function sampleValues(count: number, tag = 'v'): RecordValue[] {
  return Array.from({ length: count }, (_, n) => ({
    n: BigInt(n),
    tag: `${tag}-${n}`,
    ok: n % 2 === 0,
    none: null,
    ratio: n / 4,
    looksNumeric: String(n),
    text: 'grüße, 世界 🚀',
    nested: { list: [BigInt(n), 'x', { deep: true }] },
  }));
}

/** Records as a source would hand them over, with ids `<tag>-0`, `<tag>-1`… */
export function sampleRecords(count: number, tag = 'rec'): FerryRecord[] {
  const readAt = Date.now();
  return sampleValues(count, tag).map((value, n) => ({ id: `${tag}-${n}`, value, readAt, bytes: 0 }));
}
