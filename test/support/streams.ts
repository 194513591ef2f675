import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { redisUrl } from './cli.js';

/** Stream names of their own for each test run, remembered so that they are deleted after. */
export class TestStreams {
  readonly redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  readonly #names: string[] = [];
  readonly #run = `${process.pid}.${randomBytes(3).toString('hex')}`;

  name(label: string): string {
    const name = `ferry.test.e2e.${this.#run}.${label}`;
    this.#names.push(name);
    return name;
  }

  /** Adds `count` small JSON-dict messages (one stream field per key); resolves to their entry ids. */
  async seed(stream: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let start = 0; start < count; start += 1000) {
      const pipeline = this.redis.pipeline();
      for (let i = start; i < Math.min(count, start + 1000); i++) {
        pipeline.xadd(stream, '*', 'n', String(i), 'name', `msg-${i}`, 'tags', '["e2e"]');
      }
      const results = (await pipeline.exec()) ?? [];
      for (const [error, id] of results) {
        if (error) throw error;
        ids.push(id as string);
      }
    }
    return ids;
  }

  len(stream: string): Promise<number> {
    return this.redis.xlen(stream);
  }

  /** Every entry of a stream as field maps, oldest first. */
  async entries(stream: string): Promise<Record<string, string>[]> {
    const raw = await this.redis.xrange(stream, '-', '+');
    return raw.map(([, fields]) => {
      const out: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) out[fields[i]!] = fields[i + 1]!;
      return out;
    });
  }

  async cleanup(): Promise<void> {
    if (this.#names.length > 0) await this.redis.del(...this.#names);
    await this.redis.quit();
  }
}
