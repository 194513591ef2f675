import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { isClusterClient } from './redis-stream-internals.js';

describe('ioredis internals', () => {
  it('tells a Cluster client from a standalone one', () => {
    const standalone = new Redis({ lazyConnect: true });
    const cluster = new Cluster([{ host: '127.0.0.1', port: 6379 }], { lazyConnect: true });
    try {
      expect(isClusterClient(standalone)).toBe(false);
      expect(isClusterClient(cluster)).toBe(true);
    } finally {
      standalone.disconnect();
      cluster.disconnect();
    }
  });
});
