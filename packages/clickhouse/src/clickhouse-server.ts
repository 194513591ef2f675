import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';

/**
 * What the server at the other end can do, read once at open: the SQL a
 * source or sink writes follows it, so that results are the same on every version.
 */
export interface ServerFeatures {
  /** `version()`: `18.16.1`, `26.7.2.1`. */
  readonly version: string;
  /** `{name:Type}` placeholders (19.x and later): values go beside the SQL, with no session table. */
  readonly queryParameters: boolean;
  /** `insert_deduplication_token` (22.x and later): a retried batch into a deduplicating table is dropped. */
  readonly deduplicationToken: boolean;
  /** The output settings of every JSON answer ferry parses, as far as the server has them. */
  readonly jsonOutput: ClickHouseSettings;
}

/** Settings that make JSON answers read the same on every version, each set where the server knows it. */
const outputSettings: ClickHouseSettings = {
  // 64-bit integers and decimals as strings: never through a JS number.
  output_format_json_quote_64bit_integers: 1,
  output_format_json_quote_decimals: 1,
  // 18.16 always wrote a decimal's scale; later servers drop trailing zeros unless told.
  output_format_decimal_trailing_zeros: 1,
  date_time_output_format: 'simple',
};

/** The settings every version ferry knows of has: what a first query may send before the server is known. */
export const baseJsonOutput: ClickHouseSettings = { output_format_json_quote_64bit_integers: 1 };

/** `18.16.1` → 18. */
function majorVersion(text: string): number {
  return Number.parseInt(text, 10) || 0;
}

/** One round trip: the version, and which of the settings ferry may send the server has (names only, as data). */
export async function readServerFeatures(client: ClickHouseClient): Promise<ServerFeatures> {
  const names = [...Object.keys(outputSettings), 'insert_deduplication_token'];
  const [row] = await (
    await client.query({
      query: `SELECT version() AS version, groupArray(name) AS names FROM system.settings WHERE name IN (${names.map((n) => `'${n}'`).join(', ')})`,
      format: 'JSONEachRow',
      clickhouse_settings: baseJsonOutput,
    })
  ).json<{ version: string; names: string[] }>();
  const version = row?.version ?? '0';
  const known = new Set(row?.names ?? []);
  const jsonOutput = Object.fromEntries(
    Object.entries(outputSettings).filter(([name]) => known.has(name)),
  ) as ClickHouseSettings;
  return {
    version,
    queryParameters: majorVersion(version) >= 19,
    deduplicationToken: known.has('insert_deduplication_token'),
    jsonOutput,
  };
}
