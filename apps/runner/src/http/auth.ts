import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * True when `given` is the token. Both sides are hashed first, so that the
 * comparison takes the same time whatever the length or the content of a
 * wrong token.
 */
export function tokenMatches(given: string, token: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(token));
}

/** True when an Authorization header carries `Bearer <token>`. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  const match = /^Bearer +(.+)$/i.exec(header.trim());
  if (match === null) return false;
  return tokenMatches(match[1]!, token);
}

/** The cookie a browser holds once it gave the token to the dashboard: browsers cannot set headers on EventSource. */
export const sessionCookie = 'ferry_session';

/**
 * The session cookie's value: a keyed hash of the token rather than the token
 * itself, so that the token never sits in a browser's cookie jar. It is the
 * same for every API process that has the token (no server-side session), and
 * changes when the token does.
 */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('ferry dashboard session v1').digest('base64url');
}

/** The value of one cookie of a Cookie header; undefined when absent. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** True when a Cookie header carries the session cookie of this token. */
export function sessionMatches(cookieHeader: string | undefined, token: string): boolean {
  const value = cookieValue(cookieHeader, sessionCookie);
  return value !== undefined && tokenMatches(value, sessionValue(token));
}

/**
 * How a request proved it knows the token: its Authorization header (API
 * clients), the session cookie (the dashboard), or not at all.
 */
export function authenticatedBy(
  headers: { authorization?: string | undefined; cookie?: string | undefined },
  token: string,
): 'bearer' | 'cookie' | undefined {
  if (bearerMatches(headers.authorization, token)) return 'bearer';
  if (sessionMatches(headers.cookie, token)) return 'cookie';
  return undefined;
}
