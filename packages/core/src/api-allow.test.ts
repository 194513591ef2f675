import { describe, expect, it } from 'vitest';
import { apiAllowSchema, matchesName } from './api-allow.js';

describe('api.allow', () => {
  it('matches names by * and ?, everything else literally', () => {
    expect(matchesName('orders-eu', ['orders-*'])).toBe(true);
    expect(matchesName('orders', ['orders-*'])).toBe(false);
    expect(matchesName('a.b', ['a?b'])).toBe(true);
    expect(matchesName('axb', ['a.b'])).toBe(false);
    expect(matchesName('x(1)', ['x(?)', 'y'])).toBe(true);
  });

  it('fills its defaults and refuses what it cannot open', () => {
    expect(apiAllowSchema.parse({ c: {} })).toEqual({ c: { keys: [], destructive: true } });
    expect(apiAllowSchema.safeParse({ c: { keys: ['client'] } }).success).toBe(false);
    expect(apiAllowSchema.safeParse({ c: { nope: 1 } }).success).toBe(false);
    expect(apiAllowSchema.safeParse({ c: { names: ['a b'] } }).success).toBe(false);
  });
});
