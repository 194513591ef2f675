// ioredis reached past its API, in one place: none of it fails the commands a dropped connection left unanswered, cuts a socket, or tells a Cluster client of another ioredis copy.
import type { Cluster, Redis } from 'ioredis';

/** Rejects every command sent on the connection and not yet answered (ioredis keeps them in `commandQueue`). */
export function rejectUnanswered(redis: Redis, error: Error): void {
  const queue = redis.commandQueue;
  while (queue.length > 0) queue.shift()?.command.reject(error);
}

/** True for an ioredis Cluster client, from whichever copy of ioredis made it (`instanceof` sees only ours). */
export function isClusterClient(redis: Redis | Cluster): boolean {
  return redis.isCluster === true;
}

/** Destroys the connection's socket, as a network cut would: for tests. */
export function cutConnection(redis: Redis): void {
  redis.stream.destroy();
}
