import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseOptions } from './options.js';
import { forgetSecrets, maskError, maskSecrets, maskUrls, rememberSecrets, secretsOf, urlSecrets } from './secrets.js';

afterEach(() => forgetSecrets());

describe('maskUrls: credentials of every URL in a text, found by parsing', () => {
  const cases: [string, string][] = [
    ['redis://default:s3cret@10.0.0.1:6379/0', 'redis://default:***@10.0.0.1:6379/0'],
    ['rediss://:s3cret@h', 'rediss://:***@h'],
    ['amqp://ferry:p@ss@rabbit:5672/vh', 'amqp://ferry:***@rabbit:5672/vh'],
    ['amqps://ferry:p%40ss%20w@rabbit', 'amqps://ferry:***@rabbit'],
    ['mongodb://u:pa ss@h:27017/db?authSource=admin', 'mongodb://u:***@h:27017/db?authSource=admin'],
    ['mongodb+srv://u:pa"ss@cluster.example.net/db', 'mongodb+srv://u:***@cluster.example.net/db'],
    ['http://u%3Ax:pässwörd@127.0.0.1:8123', 'http://u%3Ax:***@127.0.0.1:8123'],
    ['https://user:p%25w@ch.example.com:8443/?database=x', 'https://user:***@ch.example.com:8443/?database=x'],
    ['nats://token-only@127.0.0.1:4222', 'nats://***@127.0.0.1:4222'],
    ['tls://u:pw:with:colons@h:4222', 'tls://u:***@h:4222'],
    ['ftp://user:pw@files', 'ftp://user:***@files'],
    ['chdb://u:pw@local', 'chdb://u:***@local'],
    ['chdb://user:secretpw@/tmp/x', 'chdb://user:***@/tmp/x'],
    ['http://u:pw12345@/x', 'http://u:***@/x'],
    ['weird+scheme://u:pw@h', 'weird+scheme://u:***@h'],
    ['http://h:8123/?user=ch&password=pa%20ss&database=d', 'http://h:8123/?user=ch&password=***&database=d'],
    [
      'mongodb://h/db?authSource=admin&authMechanism=SCRAM-SHA-256',
      'mongodb://h/db?authSource=admin&authMechanism=SCRAM-SHA-256',
    ],
    ['https://h/x?token=abc&secret=def&api_key=ghi&key=jkl', 'https://h/x?token=***&secret=***&api_key=***&key=***'],
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
  ];
  it.each(cases)('%s', (url, masked) => {
    expect(maskUrls(url)).toBe(masked);
    expect(maskUrls(`cannot reach ${url}: ECONNREFUSED`)).toBe(`cannot reach ${masked}: ECONNREFUSED`);
  });

  it('masks each URL of a text, in JSON too, and leaves the JSON whole', () => {
    const json = JSON.stringify({ a: 'redis://u:p"w@h:1', b: 'amqp://h:2', c: 'mail x@y' });
    const masked = maskUrls(json);
    expect(JSON.parse(masked)).toEqual({ a: 'redis://u:***@h:1', b: 'amqp://h:2', c: 'mail x@y' });
    expect(maskUrls('one redis://a:b1@h and two amqp://c:d2@k')).toBe('one redis://a:***@h and two amqp://c:***@k');
  });

  it('reads a long text once: no word or run of @ makes it slow', () => {
    const text = `${'y'.repeat(200_000)} http://u:pw@h ${'a@b '.repeat(50_000)}`;
    const started = Date.now();
    expect(maskUrls(text)).toContain('http://u:***@');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('names what it masked, as written and decoded', () => {
    expect(urlSecrets('amqp://u:p%40ss@h and http://h/?password=x%20y')).toEqual(['p%40ss', 'p@ss', 'x%20y', 'x y']);
    expect(urlSecrets('amqp://guest:guest@h')).toEqual([]);
    expect(urlSecrets('redis://ferry@h')).toEqual([]);
  });
});

describe('maskSecrets: the secrets a process was given, wherever they appear', () => {
  const secrets = ['p@ss word"ünï', 'tok en/+=?', '%41%zz'];
  it.each(secrets)('%s: verbatim, percent-encoded, form-encoded, in JSON', (secret) => {
    rememberSecrets([secret]);
    const texts = [
      `said ${secret} twice: ${secret}`,
      `encoded ${encodeURIComponent(secret)}`,
      `form ${new URLSearchParams({ p: secret })}`,
      `json ${JSON.stringify({ secret })}`,
      `json in json ${JSON.stringify({ error: `no job ${JSON.stringify(secret)}` })}`,
      `url ${Object.assign(new URL('redis://h'), { password: secret }).password}`,
    ];
    for (const text of texts) {
      const masked = maskSecrets(text);
      expect(masked).toContain('***');
      expect(masked).not.toContain(secret);
      expect(masked).not.toContain(encodeURIComponent(secret));
    }
  });

  it('leaves values too short to be told from words', () => {
    rememberSecrets(['ab']);
    expect(maskSecrets('ab cd')).toBe('ab cd');
  });

  it('masks an error in place, message and stack', () => {
    rememberSecrets(['hunter22']);
    const error = maskError(new Error('login hunter22 refused'));
    expect(error.message).toBe('login *** refused');
    expect(error.stack).not.toContain('hunter22');
  });
});

describe('secretsOf: what a config holds', () => {
  it('takes secret-named keys and URL credentials, nothing else', () => {
    const config = {
      connections: {
        a: { url: 'amqp://u:pw%20x@h', password: 'direct', tls: { key: 'PEM', passphrase: 'pp' } },
        b: { url: 'redis://h', stream: 'not-a-secret', port: 1234 },
      },
      api: { token: 't0ken' },
    };
    expect(secretsOf(config).sort()).toEqual(['PEM', 'direct', 'pp', 'pw x', 'pw%20x', 't0ken']);
  });
});

describe('formatIssues: a refused value is shown masked', () => {
  it('shows no secret: not in a URL, not cut short, not a text where a section belongs', () => {
    const token = `${'t'.repeat(70)}-never-shown`;
    rememberSecrets([token]);
    const schema = z.strictObject({ api: z.strictObject({ token: z.string() }), url: z.number() });
    let message = '';
    try {
      parseOptions(schema, { api: token, url: `redis://u:${token}@h` }, '[x] invalid');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('api: Invalid input: expected object, received string (got a text)');
    expect(message).toContain('url: Invalid input: expected number, received string (got "redis://u:***@h")');
    expect(message).not.toContain('tttttttttt');
  });
});
