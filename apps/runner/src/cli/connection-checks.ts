import {
  type ConnectionSpec,
  type ConnectorRegistry,
  describeError,
  explainProbeFailure,
  maskSecrets,
  withTimeout,
} from '@ferry/core';

export interface ConnectionCheck {
  readonly name: string;
  readonly kind: string;
  /** The URL without its password. */
  readonly target: string;
  /** `unchecked`: the connector has no inspector to ask the server with. */
  readonly status: 'ok' | 'failed' | 'unchecked';
  readonly version?: string;
  readonly detail: string;
}

const timeoutMs = 4000;

/** A failure in the words an operator acts on: the inspector's own, or core's classification of what it threw. */
function explain(error: unknown): string {
  const text = describeError(error);
  return /^(credentials refused|unreachable):/.test(text) ? text : explainProbeFailure(error);
}

/**
 * Checks one connection with its connector's inspector: reachable, server
 * version where cheap, credentials; the inspector is closed after.
 */
export async function checkConnection(
  name: string,
  connection: ConnectionSpec,
  registry: ConnectorRegistry,
): Promise<ConnectionCheck> {
  const { kind, ...keys } = connection;
  const base = { name, kind, target: maskSecrets(connection.url) };
  const connector = registry.get(kind);
  if (connector.inspect === undefined) return { ...base, status: 'unchecked', detail: 'no check for this connector' };
  let inspector: ReturnType<NonNullable<typeof connector.inspect>> | undefined;
  try {
    inspector = connector.inspect(keys, { timeoutMs, clientName: 'ferry doctor' });
    const probe = inspector.probe();
    // The inspector bounds each question itself; this bounds one that does not.
    const found = await withTimeout(
      probe,
      timeoutMs + 1000,
      () => new Error(`no answer in ${(timeoutMs + 1000) / 1000} s`),
    );
    return {
      ...base,
      status: 'ok',
      ...(found.version === undefined ? {} : { version: found.version }),
      detail: found.detail,
    };
  } catch (error) {
    return { ...base, status: 'failed', detail: explain(error) };
  } finally {
    await inspector?.close().catch(() => {});
  }
}

const statusWords: Record<ConnectionCheck['status'], string> = { ok: 'ok', failed: 'FAILED', unchecked: '-' };

/** A plain table: one row per connection. */
export function formatChecks(checks: readonly ConnectionCheck[]): string {
  const rows = [
    ['CONNECTION', 'KIND', 'TARGET', 'STATUS', 'VERSION', 'DETAIL'],
    ...checks.map((c) => [c.name, c.kind, c.target, statusWords[c.status], c.version ?? '-', c.detail]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
