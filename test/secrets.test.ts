import { describe, expect, it } from 'vitest';
import { configFile, ferry } from './support/cli.js';

// A password given in a connection URL never shows in what ferry prints:
// errors, validation messages, progress. (The API's answers are covered in api.test.ts.)
const password = 'pa55-w0rd-never-shown';

describe('secrets stay out of messages', () => {
  it('an unreachable server with a password in its URL: the error names host:port, never the password', async () => {
    const file = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "redis://ferry:${password}@127.0.0.1:1" }`,
        `  rabbit: { kind: rabbitmq, url: "amqp://ferry:${password}@127.0.0.1:1" }`,
        'flows:',
        '  s2s: { source: { stream: a }, sink: { stream: b }, retry: { retries: 0 } }',
        '  q2s: { source: { connection: rabbit, queue: q }, sink: { stream: b }, retry: { retries: 0 } }',
      ].join('\n'),
    );
    for (const flow of ['s2s', 'q2s']) {
      const run = await ferry(['run', file, flow]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('127.0.0.1:1');
      expect(run.stdout + run.stderr).not.toContain(password);
    }
  });

  it('a refused option that quotes a URL or a password-named key masks it', async () => {
    const file = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "redis://ferry:${password}@127.0.0.1:6379" }`,
        `  ch: { kind: clickhouse, url: "http://127.0.0.1:8123", password: 12345 }`,
        'flows:',
        '  s2s: { source: { stream: a, mode: nope }, sink: { stream: b, url: 5 } }',
        '  s2c: { source: { stream: a }, sink: { connection: ch, table: t } }',
      ].join('\n'),
    );
    const run = await ferry(['validate', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('mode: Invalid option');
    expect(run.stderr).toContain('password: Invalid input: expected string, received number (got ***)');
    expect(run.stderr).not.toContain(password);
    expect(run.stderr).not.toContain('12345');
  });
});
