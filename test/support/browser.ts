import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { repoRoot } from './cli.js';

/** Debian's Chromium, which `scripts/services.sh ensure_chromium` installs (npm test calls it). */
export const chromiumPath = process.env.FERRY_CHROMIUM ?? '/usr/bin/chromium';

/** Where browser tests keep their screenshots (gitignored). */
export const artifactsDir = join(repoRoot, 'test/artifacts');

export function artifactPath(name: string): string {
  mkdirSync(artifactsDir, { recursive: true });
  return join(artifactsDir, name);
}

/**
 * Headless Chromium through playwright-core, which downloads no browser of its
 * own. Without the background-networking flags Chromium reaches out to its
 * services at start, and on a closed network its own connections are refused.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `no Chromium at ${chromiumPath}: run \`bash scripts/services.sh ensure_chromium\` (npm test does), or set FERRY_CHROMIUM`,
    );
  }
  return chromium.launch({
    executablePath: chromiumPath,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
