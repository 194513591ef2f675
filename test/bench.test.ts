import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redisUrl, repoRoot } from './support/cli.js';

// The benchmark in a small quick mode, so that it cannot rot between full runs.
// It asserts that it ran and moved everything, never how fast: speed is `npm run bench`.
describe('npm run bench -- --quick', () => {
  it('moves every record through the pump and the hand-written loop and prints both rates', () => {
    const run = spawnSync(process.execPath, [join(repoRoot, 'bench/dist/main.js'), 's2s', '--quick'], {
      encoding: 'utf8',
      env: { ...process.env, REDIS_URL: redisUrl },
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^S2S: pump [\d,]+ records\/s, loop [\d,]+ records\/s, ratio \d+\.\d\d, peak RSS \d+ MB \(5,000 records × 1 rounds, batch 1000\)$/m,
    );
    expect(run.stdout).toMatch(/^\| S2S \| 5,000 × 1 \| [\d,]+ \| [\d,]+ \| \d+\.\d\d \| \d+ MB \|$/m);
    expect(run.stdout).not.toContain('results written');
  });

  it('refuses an edge it does not know, naming it', () => {
    const run = spawnSync(process.execPath, [join(repoRoot, 'bench/dist/main.js'), 'x2y', '--quick'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('bench: unknown edge x2y');
  });
});
