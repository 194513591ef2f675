import { randomBytes } from 'node:crypto';

/** The Redis the tests use: `REDIS_URL`, else the standard local port. */
export function redisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/**
 * `prefix.<time>.<random>`: a stream, queue, collection or table name that
 * no parallel or earlier run shares, so tests never see each other's data.
 */
export function uniqueName(prefix: string): string {
  return `${prefix}.${Date.now().toString(36)}.${randomBytes(4).toString('hex')}`;
}
