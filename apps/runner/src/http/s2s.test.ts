import { parseFlow } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { originalQueueMaxLen, s2sDictSchema, s2sFlow } from './s2s.js';

const original = {
  target_q_max_len: 100000,
  source_read_batch_num: 1,
  target_write_batch_num: 1,
  source_redis_agent_host: 'http://127.0.0.1:24021/',
  source_connection_hash: null,
  target_redis_agent_host: 'http://127.0.0.1:24021/',
  target_connection_hash: null,
  source_stream: 'STREAM.test.test.stream_in',
  target_stream: 'STREAM.test.test.stream_out',
  max_exec_cnt: 10,
};

describe('the /s2s/ dict', () => {
  it('maps the original example to a range-mode flow of max_exec_cnt batches that stops when full', () => {
    const flow = parseFlow(s2sFlow(s2sDictSchema.parse(original)));
    expect(flow).toMatchObject({
      source: { connection: 'default', stream: 'STREAM.test.test.stream_in', mode: 'range' },
      sink: { connection: 'default', stream: 'STREAM.test.test.stream_out', maxLen: 100000 },
      batchSize: 1,
      maxBatches: 10,
      stopWhenEmpty: true,
      whenFull: 'stop',
    });
  });

  it('takes min(read, write) as the batch and the named connections', () => {
    const flow = s2sFlow(
      s2sDictSchema.parse({
        ...original,
        source_read_batch_num: 500,
        target_write_batch_num: 200,
        source_connection_hash: 'a',
        target_connection_hash: 'b',
      }),
    );
    expect(flow).toMatchObject({ batchSize: 200, source: { connection: 'a' }, sink: { connection: 'b' } });
  });

  it('uses the QManager default max length when target_q_max_len is missing', () => {
    const { target_q_max_len: _, ...rest } = original;
    expect(s2sFlow(s2sDictSchema.parse(rest))).toMatchObject({ sink: { maxLen: originalQueueMaxLen } });
  });

  it('refuses a negative batch, a missing stream and a wrong type', () => {
    expect(s2sDictSchema.safeParse({ ...original, source_read_batch_num: -1 }).success).toBe(false);
    expect(s2sDictSchema.safeParse({ ...original, source_stream: undefined }).success).toBe(false);
    expect(s2sDictSchema.safeParse({ ...original, max_exec_cnt: '10' }).success).toBe(false);
  });
});
