import { fromJson, toJson } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { redisUrl, uniqueName } from './names.js';
import { sampleRecords } from './records.js';

describe('names', () => {
  it('uniqueName never repeats and keeps the prefix', () => {
    const names = new Set(Array.from({ length: 1000 }, () => uniqueName('ferry.test')));
    expect(names.size).toBe(1000);
    for (const name of names) expect(name).toMatch(/^ferry\.test\.[0-9a-z]+\.[0-9a-f]{8}$/);
  });

  it('redisUrl defaults to the local server and follows REDIS_URL', () => {
    const saved = process.env.REDIS_URL;
    delete process.env.REDIS_URL;
    expect(redisUrl()).toBe('redis://127.0.0.1:6379');
    process.env.REDIS_URL = 'redis://10.0.0.1:7000';
    expect(redisUrl()).toBe('redis://10.0.0.1:7000');
    if (saved === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = saved;
  });

  it('sampleRecords gives distinct ids and values JSON holds without a types annotation', () => {
    const records = sampleRecords(3, 'x');
    expect(records.map((r) => r.id)).toEqual(['x-0', 'x-1', 'x-2']);
    const { text, types } = toJson(records[1]!.value);
    expect(types).toBeUndefined();
    expect(fromJson(text)).toEqual(records[1]!.value);
  });
});
