import { describe, expect, it } from 'vitest';
import { isNetworkError } from './errors.js';

describe('isNetworkError', () => {
  it('knows the socket failures of Node by their code, and nothing else', () => {
    const withCode = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
    expect(isNetworkError(withCode('ECONNREFUSED'))).toBe(true);
    expect(isNetworkError(withCode('ETIMEDOUT'))).toBe(true);
    expect(isNetworkError(withCode('ENOENT'))).toBe(false);
    expect(isNetworkError(new Error('ECONNREFUSED'))).toBe(false);
    expect(isNetworkError('ECONNREFUSED')).toBe(false);
  });
});
