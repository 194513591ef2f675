import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { controlSettings, parseServerConfig } from './server-config.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-control-tls-'));
const caFile = join(dir, 'ca.pem');
writeFileSync(caFile, 'CA PEM');

describe("the control store's tls", () => {
  it('reads control.tls of a rediss:// store, or the files the environment names instead', () => {
    const server = parseServerConfig({ control: { url: 'rediss://10.0.0.5:6380', tls: { caFile } } });
    expect(controlSettings({}, {}, server).tls).toEqual({ ca: 'CA PEM', rejectUnauthorized: true });
    const env = { FERRY_REDIS_URL: 'rediss://10.0.0.6:6380', FERRY_REDIS_CA_FILE: caFile };
    expect(controlSettings({}, env, undefined)).toEqual({
      url: 'rediss://10.0.0.6:6380',
      prefix: 'ferry',
      tls: { ca: 'CA PEM', rejectUnauthorized: true },
    });
    expect(controlSettings({}, {}, undefined).tls).toBeUndefined();
  });

  it('refuses tls beside a redis:// store, and names a file it cannot read', () => {
    const server = parseServerConfig({ control: { url: 'rediss://10.0.0.5:6380', tls: { caFile } } });
    expect(() => controlSettings({ redis: 'redis://10.0.0.5:6379' }, {}, server)).toThrow(
      "[ferry] the control store's tls applies to a rediss:// URL: use rediss:// to connect over TLS",
    );
    const env = { FERRY_REDIS_URL: 'rediss://10.0.0.6:6380', FERRY_REDIS_CERT_FILE: caFile };
    expect(() => controlSettings({}, env, undefined)).toThrow(/key: a client certificate needs both cert and key/);
    const missing = { FERRY_REDIS_URL: 'rediss://h', FERRY_REDIS_CA_FILE: join(dir, 'none.pem') };
    expect(() => controlSettings({}, missing, undefined)).toThrow(
      `[ferry] the control store: tls.caFile "${join(dir, 'none.pem')}" cannot be read (ENOENT)`,
    );
  });
});
