import { describe, expect, it } from 'vitest';
import { nextId } from './redis-stream-source.js';

describe('nextId', () => {
  it('is the smallest stream id above the given one', () => {
    expect(nextId('1700000000000-0')).toBe('1700000000000-1');
    expect(nextId('5-41')).toBe('5-42');
    expect(nextId('1700000000000-18446744073709551615')).toBe('1700000000001-0');
  });
});
