import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * True when an Authorization header carries `Bearer <token>`. Both sides are
 * hashed first, so that the comparison takes the same time whatever the
 * length or the content of a wrong token.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  const match = /^Bearer +(.+)$/i.exec(header.trim());
  if (match === null) return false;
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}
