import { describe, expect, it } from 'vitest';
import { createMemorySink, createMemorySource } from '../memory.js';
import { createPump } from './pump.js';

describe('pump errors', () => {
  it('refuses a batch size that is not a positive integer', () => {
    expect(() => createPump({ source: createMemorySource(), sink: createMemorySink(), batchSize: 0 })).toThrow(
      /batchSize must be a positive integer, got 0/,
    );
  });
});
