import { describe, expect, it } from 'vitest';
import { authenticatedBy, bearerMatches, cookieValue, sessionMatches, sessionValue } from './auth.js';

describe('bearerMatches', () => {
  it('accepts the token after Bearer, and only it', () => {
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('Bearer s3cre', 's3cret')).toBe(false);
    expect(bearerMatches('Bearer s3cret-and-more', 's3cret')).toBe(false);
    expect(bearerMatches('Basic s3cret', 's3cret')).toBe(false);
    expect(bearerMatches('s3cret', 's3cret')).toBe(false);
    expect(bearerMatches(undefined, 's3cret')).toBe(false);
    expect(bearerMatches('Bearer ', 's3cret')).toBe(false);
  });
});

describe('the dashboard session cookie', () => {
  it('is a keyed hash of the token, not the token, and matches only that token', () => {
    const value = sessionValue('s3cret');
    expect(value).not.toContain('s3cret');
    expect(value).toBe(sessionValue('s3cret'));
    expect(value).not.toBe(sessionValue('s3cret2'));
    expect(sessionMatches(`a=1; ferry_session=${value}; b=2`, 's3cret')).toBe(true);
    expect(sessionMatches(`ferry_session=${value}`, 'other')).toBe(false);
    expect(sessionMatches('ferry_session=s3cret', 's3cret')).toBe(false);
    expect(sessionMatches(undefined, 's3cret')).toBe(false);
  });

  it('reads one cookie of a Cookie header', () => {
    expect(cookieValue('a=1; b = two ;c=', 'b')).toBe('two');
    expect(cookieValue('a=1; c=', 'c')).toBe('');
    expect(cookieValue('ab=1', 'a')).toBeUndefined();
    expect(cookieValue(undefined, 'a')).toBeUndefined();
  });

  it('tells how a request knows the token: the bearer header first, then the cookie', () => {
    const cookie = `ferry_session=${sessionValue('t')}`;
    expect(authenticatedBy({ authorization: 'Bearer t', cookie }, 't')).toBe('bearer');
    expect(authenticatedBy({ authorization: 'Bearer wrong', cookie }, 't')).toBe('cookie');
    expect(authenticatedBy({ authorization: 'Bearer wrong' }, 't')).toBeUndefined();
    expect(authenticatedBy({}, 't')).toBeUndefined();
  });
});
