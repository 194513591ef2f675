import { ConfigError, rememberSecrets } from '@ferry/core';
import { sharedApiToken } from '../control/api-token.js';
import type { ControlStore } from '../control/index.js';
import { isLoopback } from '../http/loopback.js';
import type { ControlSettings, ServerConfig } from '../server-config.js';
import { UsageError } from './run-args.js';

/** Who may use the API: its token and where it came from, and whether `POST /s2s/` needs none. */
export interface ApiAccess {
  readonly token?: string;
  /** configured: FERRY_API_TOKEN or api.token; made: kept in the control store; none: --no-auth. */
  readonly source: 'configured' | 'made' | 'none';
  readonly s2sWithoutToken: boolean;
}

/** Refuses, before anything starts, an API that would be open beyond this machine. */
export function checkApiAccess(host: string, noAuth: boolean, control: ControlSettings, server: ServerConfig): void {
  if (noAuth && control.token !== undefined) {
    throw new UsageError('[ferry] --no-auth was given with a token (FERRY_API_TOKEN or api.token): drop one of them');
  }
  if (noAuth && !isLoopback(host)) {
    throw new UsageError(
      `[ferry] --no-auth is refused on --host ${host}: anyone who reaches it could run flows with the config's connections; bind a loopback address (127.0.0.1) or keep the token`,
    );
  }
  if (server.s2sWithoutToken && !isLoopback(host)) {
    throw new ConfigError(
      `[ferry] api.s2sWithoutToken is refused on --host ${host}: POST /s2s/ without a token is for callers on this machine; bind a loopback address (127.0.0.1) or give the callers the token`,
    );
  }
}

/** The configured token, none with --no-auth, else the one this control store keeps (made at the first start). */
export async function apiAccess(
  redis: ControlStore,
  control: ControlSettings,
  server: ServerConfig,
  noAuth: boolean,
): Promise<ApiAccess> {
  const s2sWithoutToken = server.s2sWithoutToken;
  if (control.token !== undefined) return { token: control.token, source: 'configured', s2sWithoutToken };
  if (noAuth) return { source: 'none', s2sWithoutToken };
  const token = await sharedApiToken(redis, control.prefix);
  // Masked wherever else it would appear: only the dashboard line shows it.
  rememberSecrets([token]);
  return { token, source: 'made', s2sWithoutToken };
}

/** The startup line of the dashboard: the one place a made token is shown, as notebook servers do. */
export function dashboardLine(address: string, access: ApiAccess): string {
  if (access.source === 'made') return `ferry: dashboard at ${address}/ui?token=${access.token}`;
  if (access.source === 'configured') return `ferry: dashboard at ${address}/ui (sign in with the configured token)`;
  return `ferry: dashboard at ${address}/ui (no token: --no-auth)`;
}
