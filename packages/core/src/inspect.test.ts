import { describe, expect, it } from 'vitest';
import { ConnectionError, FatalError } from './errors.js';
import { deadLetterSummary, explainProbeFailure, inspectCall } from './inspect.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('explainProbeFailure', () => {
  it("words a refused login and an unreachable server, with the driver's own words", () => {
    const wrong = new Error('WRONGPASS invalid username-password pair or user is disabled.');
    expect(
      explainProbeFailure(new ConnectionError('[redis-stream] cannot reach 127.0.0.1:6379: …', { cause: wrong })),
    ).toBe('credentials refused: WRONGPASS invalid username-password pair or user is disabled.');
    // A connector's own classification counts, whatever the driver said.
    const code193 = new Error('Code: 193. DB::Exception: bad login');
    expect(
      explainProbeFailure(new FatalError('[clickhouse] the server at x refused the credentials', { cause: code193 })),
    ).toBe('credentials refused: Code: 193. DB::Exception: bad login');

    const refused = withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED');
    expect(explainProbeFailure(refused)).toBe('unreachable: connect ECONNREFUSED 127.0.0.1:1');
    expect(
      explainProbeFailure(new ConnectionError('[x] lost the connection', { cause: new Error('socket hang up') })),
    ).toBe('unreachable: socket hang up');
    // Node's happy-eyeballs connect fails with an empty message and a code.
    expect(explainProbeFailure(withCode('', 'ECONNREFUSED'))).toBe('unreachable: ECONNREFUSED');
    expect(explainProbeFailure(new Error('XLEN: no answer in 3 s'))).toBe('unreachable: XLEN: no answer in 3 s');
  });

  it('keeps any other reason as the server gave it, shortened, without a password', () => {
    const notFound = new Error(
      `Operation failed: QueueDeclare; 404 (NOT-FOUND) with message "NOT_FOUND - no queue 'q'"`,
    );
    expect(explainProbeFailure(notFound, (text) => /NOT_FOUND - ([^"]+)/.exec(text)?.[1] ?? text)).toBe("no queue 'q'");
    expect(explainProbeFailure(new Error('bad url mongodb://u:secret@h/db'))).toBe('bad url mongodb://u:***@h/db');
    // The innermost words are shortened, not the classification.
    expect(explainProbeFailure(withCode('x ECONNREFUSED', 'ECONNREFUSED'), (text) => text.slice(2))).toBe(
      'unreachable: ECONNREFUSED',
    );
  });
});

describe('inspectCall', () => {
  it('answers, or rejects with the worded reason and the failure as its cause', async () => {
    expect(await inspectCall('PING', 1000, async () => 'PONG')).toBe('PONG');
    const failure = withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED');
    const error = await inspectCall('PING', 1000, () => Promise.reject(failure)).catch((e: Error) => e);
    expect(error).toMatchObject({ message: 'unreachable: connect ECONNREFUSED 127.0.0.1:1', cause: failure });
  });

  it('gives up after timeoutMs', async () => {
    await expect(inspectCall('XLEN', 20, () => new Promise(() => {}))).rejects.toThrow(
      'unreachable: XLEN: no answer in 0.02 s',
    );
  });
});

describe('deadLetterSummary', () => {
  it('reads reason, sourceId and rejectedAt as text or as a timestamp', () => {
    expect(
      deadLetterSummary({ reason: 'too big', sourceId: '1-0', rejectedAt: new Date('2026-01-02T03:04:05.006Z') }, 'a'),
    ).toEqual({ id: 'a', reason: 'too big', sourceId: '1-0', at: '2026-01-02T03:04:05.006Z' });
    expect(deadLetterSummary({ reason: 'r', rejectedAt: '2026-01-01T00:00:00Z' })).toEqual({
      reason: 'r',
      at: '2026-01-01T00:00:00Z',
    });
    expect(deadLetterSummary({ n: 1, sourceId: 5, rejectedAt: new Date(Number.NaN) })).toEqual({
      reason: '(no reason recorded)',
    });
  });
});
