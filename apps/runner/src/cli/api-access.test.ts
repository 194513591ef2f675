import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { controlKeys } from '../control/index.js';
import { isLoopback } from '../http/loopback.js';
import { parseServerConfig } from '../server-config.js';
import { apiAccess, checkApiAccess, dashboardLine } from './api-access.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const prefix = `ferry-unit-access-${process.pid}-${randomBytes(3).toString('hex')}`;
afterAll(async () => {
  await redis.del(controlKeys(prefix).apiToken);
  await redis.quit();
});

const server = parseServerConfig({ connections: {} });
const s2sOpen = parseServerConfig({ connections: {}, api: { s2sWithoutToken: true } });
const control = { url: 'redis://127.0.0.1:6379', prefix };

describe('who may use the API', () => {
  it('tells loopback addresses from the others', () => {
    for (const host of ['127.0.0.1', '127.3.2.1', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) {
      expect(isLoopback(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '128.0.0.1', 'example.com', '127.0.0.1.nip.io', '']) {
      expect(isLoopback(host), host).toBe(false);
    }
  });

  it('refuses --no-auth and api.s2sWithoutToken beyond loopback, and --no-auth with a token', () => {
    expect(() => checkApiAccess('127.0.0.1', true, control, s2sOpen)).not.toThrow();
    expect(() => checkApiAccess('0.0.0.0', true, control, server)).toThrow(
      '[ferry] --no-auth is refused on --host 0.0.0.0: anyone who reaches it could run flows',
    );
    expect(() => checkApiAccess('0.0.0.0', false, control, s2sOpen)).toThrow(
      '[ferry] api.s2sWithoutToken is refused on --host 0.0.0.0',
    );
    expect(() => checkApiAccess('127.0.0.1', true, { ...control, token: 't' }, server)).toThrow(
      '[ferry] --no-auth was given with a token',
    );
    expect(() => checkApiAccess('0.0.0.0', false, control, server)).not.toThrow();
  });

  it('makes one token per control store and finds it again; a configured one wins and is never shown', async () => {
    const first = await apiAccess(redis, control, server, false);
    expect(first.source).toBe('made');
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [again, other] = await Promise.all([
      apiAccess(redis, control, server, false),
      apiAccess(redis, control, server, false),
    ]);
    expect([again.token, other.token]).toEqual([first.token, first.token]);
    expect(await redis.get(controlKeys(prefix).apiToken)).toBe(first.token);
    expect(dashboardLine('http://127.0.0.1:9', first)).toBe(
      `ferry: dashboard at http://127.0.0.1:9/ui?token=${first.token}`,
    );

    const configured = await apiAccess(redis, { ...control, token: 'configured secret' }, server, false);
    expect(configured).toMatchObject({ token: 'configured secret', source: 'configured' });
    expect(dashboardLine('http://127.0.0.1:9', configured)).not.toContain('configured secret');
    expect(await apiAccess(redis, control, server, true)).toEqual({ source: 'none', s2sWithoutToken: false });
  });
});
