import { valueKinds } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { redisStreamConnector } from './redis-stream-connector.js';

describe('the redis-stream type table', () => {
  it('has one row for each kind of value', () => {
    const kinds = (redisStreamConnector.types ?? []).map((row) => row.kind);
    expect([...kinds].sort()).toEqual([...valueKinds].sort());
  });
});
