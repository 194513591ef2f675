import { randomBytes } from 'node:crypto';
import { type ControlStore, controlKeys } from './index.js';

/**
 * The API token of a control store given none: the first API process makes
 * it (SET NX, so that two starting together agree), every other one and every
 * restart finds it. Deleting the key makes a new one at the next start.
 */
export async function sharedApiToken(redis: ControlStore, prefix: string): Promise<string> {
  const key = controlKeys(prefix).apiToken;
  await redis.set(key, randomBytes(32).toString('base64url'), 'NX');
  const token = await redis.get(key);
  // Only a store that lost the key between the two calls answers nothing: make it again.
  return token ?? sharedApiToken(redis, prefix);
}
