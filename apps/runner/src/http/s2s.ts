import { z } from 'zod';

/**
 * The original worker's config dict, as its callers POST it to `/s2s/`.
 * Unknown keys are allowed (the original ignored them too); the
 * `*_redis_agent_host` keys name the HTTP agent ferry does not need.
 */
export const s2sDictSchema = z.looseObject({
  source_stream: z.string().min(1),
  target_stream: z.string().min(1),
  source_read_batch_num: z.int().positive().max(1_000_000),
  target_write_batch_num: z.int().positive().max(1_000_000),
  target_q_max_len: z.int().positive().optional(),
  max_exec_cnt: z.int().positive(),
  source_connection_hash: z.string().min(1).nullable().optional(),
  target_connection_hash: z.string().min(1).nullable().optional(),
  source_redis_agent_host: z.unknown().optional(),
  target_redis_agent_host: z.unknown().optional(),
});

export type S2sDict = z.output<typeof s2sDictSchema>;

/** The original QManager's default `q_max_len`. */
export const originalQueueMaxLen = 100_000;

/**
 * The flow the original loop ran: per iteration min(read, write) records,
 * oldest first (range mode, deleted after the write), at most `max_exec_cnt`
 * iterations, stop when the source is empty or the target full. A null
 * connection hash is the connection named `default`.
 */
export function s2sFlow(dict: S2sDict): Record<string, unknown> {
  return {
    source: { connection: dict.source_connection_hash ?? 'default', stream: dict.source_stream, mode: 'range' },
    sink: {
      connection: dict.target_connection_hash ?? 'default',
      stream: dict.target_stream,
      maxLen: dict.target_q_max_len ?? originalQueueMaxLen,
    },
    batchSize: Math.min(dict.source_read_batch_num, dict.target_write_batch_num),
    maxBatches: dict.max_exec_cnt,
    stopWhenEmpty: true,
    whenFull: 'stop',
  };
}
