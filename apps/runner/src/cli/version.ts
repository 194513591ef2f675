import { readFileSync } from 'node:fs';

/** The runner's version, from its package.json: the same path from src/cli (tests) and dist/cli. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
