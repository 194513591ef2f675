import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, repoRoot } from './support/cli.js';

const units = ['ferry-api.service', 'ferry-worker.service'];
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('deploy/systemd units', () => {
  it('are simple services restarted on failure, stopped by SIGTERM, reading ferry.env and ferry.yaml', () => {
    for (const unit of units) {
      const text = readFileSync(join(repoRoot, 'deploy/systemd', unit), 'utf8');
      expect(text).toMatch(/^Type=simple$/m);
      expect(text).toMatch(/^Restart=on-failure$/m);
      expect(text).toMatch(/^KillSignal=SIGTERM$/m);
      expect(text).toMatch(/^TimeoutStopSec=\d+$/m);
      expect(text).toMatch(/^EnvironmentFile=\/etc\/ferry\/ferry\.env$/m);
      expect(text).toMatch(/^ExecStart=\/usr\/bin\/ferry (api|worker) --config \/etc\/ferry\/ferry\.yaml/m);
    }
  });

  it.runIf(hasAnalyze)('pass systemd-analyze verify', () => {
    // verify wants ExecStart's program to exist: point it at the built CLI.
    const dir = mkdtempSync(join(tmpdir(), 'ferry-units-'));
    const bin = join(dir, 'ferry');
    writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" "${cliPath}" "$@"\n`);
    chmodSync(bin, 0o755);
    const paths = units.map((unit) => {
      const path = join(dir, unit);
      writeFileSync(
        path,
        readFileSync(join(repoRoot, 'deploy/systemd', unit), 'utf8').replaceAll('/usr/bin/ferry', bin),
      );
      return path;
    });
    const run = spawnSync('systemd-analyze', ['verify', '--man=no', ...paths], { encoding: 'utf8' });
    expect(`${run.stdout}${run.stderr}`.trim()).toBe('');
    expect(run.status).toBe(0);
  });

  it.skipIf(hasAnalyze)('pass systemd-analyze verify (skipped: systemd-analyze is not installed here)', () => {});

  it('install.sh is valid bash', () => {
    execFileSync('bash', ['-n', join(repoRoot, 'deploy/install.sh')]);
  });
});
