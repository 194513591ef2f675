import { valueKinds } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { clickHouseConnector } from './clickhouse-connector.js';

describe('the clickhouse type table', () => {
  it('has one row for each kind of value', () => {
    const kinds = (clickHouseConnector.types ?? []).map((row) => row.kind);
    expect([...kinds].sort()).toEqual([...valueKinds].sort());
  });
});
