import { valueKinds } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { mongoConnector } from './mongo-connector.js';

describe('the mongo type table', () => {
  it('has one row for each kind of value', () => {
    const kinds = (mongoConnector.types ?? []).map((row) => row.kind);
    expect([...kinds].sort()).toEqual([...valueKinds].sort());
  });
});
