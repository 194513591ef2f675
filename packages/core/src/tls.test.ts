import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { parseOptions } from './options.js';
import { resolveTls, tlsSchema } from './tls.js';

describe('the tls option', () => {
  it('reads the files it names, keeps inline PEM, and verifies servers unless told not to', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-tls-'));
    try {
      await writeFile(join(dir, 'ca.pem'), 'CA PEM');
      const options = parseOptions(tlsSchema, { caFile: join(dir, 'ca.pem'), cert: 'C', key: 'K' }, 'tls');
      expect(resolveTls(options, 'connection "r"')).toEqual({
        ca: 'CA PEM',
        cert: 'C',
        key: 'K',
        rejectUnauthorized: true,
      });
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('names a file it cannot read', () => {
    const options = parseOptions(tlsSchema, { caFile: '/nonexistent/ca.pem' }, 'tls');
    expect(() => resolveTls(options, 'connection "r"')).toThrow(ConfigError);
    expect(() => resolveTls(options, 'connection "r"')).toThrow(
      '[ferry] connection "r": tls.caFile "/nonexistent/ca.pem" cannot be read (ENOENT)',
    );
  });

  it('refuses a PEM given twice, half a client certificate, and keys it does not know', () => {
    expect(() => parseOptions(tlsSchema, { ca: 'x', caFile: '/x' }, 'tls')).toThrow(
      /caFile: give ca or caFile, not both/,
    );
    expect(() => parseOptions(tlsSchema, { cert: 'x' }, 'tls')).toThrow(
      /key: a client certificate needs both cert and key/,
    );
    expect(() => parseOptions(tlsSchema, { verify: false }, 'tls')).toThrow(/Unrecognized key: "verify"/);
  });
});
