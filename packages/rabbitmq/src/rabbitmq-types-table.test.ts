import { valueKinds } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { rabbitMqConnector } from './rabbitmq-connector.js';

describe('the rabbitmq type table', () => {
  it('has one row for each kind of value', () => {
    const kinds = (rabbitMqConnector.types ?? []).map((row) => row.kind);
    expect([...kinds].sort()).toEqual([...valueKinds].sort());
  });
});
