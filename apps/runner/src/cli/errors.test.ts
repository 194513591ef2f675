import { ConfigError, FerryError, forgetSecrets, rememberSecrets } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { exitCodeOf, formatError } from './errors.js';
import { UsageError } from './run-args.js';

describe('errors', () => {
  it('prints the cause chain without repeating what the message says', () => {
    const root = new Error('connect ECONNREFUSED 127.0.0.1:1');
    const mid = new FerryError('[redis-stream] cannot reach 127.0.0.1:1', { cause: root });
    const top = new FerryError('[ferry] flow failed: [redis-stream] cannot reach 127.0.0.1:1', { cause: mid });
    expect(formatError(top)).toBe(
      'error: [ferry] flow failed: [redis-stream] cannot reach 127.0.0.1:1\n  caused by: connect ECONNREFUSED 127.0.0.1:1',
    );
  });

  it('masks the secrets of every cause', () => {
    rememberSecrets(['hunter 2@x']);
    const root = new Error('AUTH hunter 2@x refused by redis://u:pw@h:1');
    const text = formatError(new FerryError('[redis-stream] cannot log in', { cause: root }));
    forgetSecrets();
    expect(text).toBe('error: [redis-stream] cannot log in\n  caused by: AUTH *** refused by redis://u:***@h:1');
  });

  it('maps errors to exit codes', () => {
    expect(exitCodeOf(new ConfigError('x'))).toBe(2);
    expect(exitCodeOf(new UsageError('x'))).toBe(2);
    expect(exitCodeOf(Object.assign(new TypeError('x'), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }))).toBe(2);
    expect(exitCodeOf(new FerryError('x'))).toBe(1);
    expect(exitCodeOf(new Error('x'))).toBe(1);
  });
});
