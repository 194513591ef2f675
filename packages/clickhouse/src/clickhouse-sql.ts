import { ConfigError } from '@ferry/core';

/** What a database, table or column name may be: letters, digits and `_`, not starting with a digit. */
export const identifierPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isIdentifier(name: string): boolean {
  return identifierPattern.test(name);
}

/** A name checked against `identifierPattern` and quoted with backticks; anything else is a ConfigError naming it. */
export function quoteIdentifier(name: string, what = 'identifier'): string {
  if (!isIdentifier(name)) {
    throw new ConfigError(
      `[clickhouse] ${what} ${JSON.stringify(name)} is not a valid identifier: expected letters, digits and _ (not starting with a digit)`,
    );
  }
  return `\`${name}\``;
}

/** Any name the server gave (DESCRIBE's columns), quoted so that it can hold nothing but itself. */
export function quoteName(name: string): string {
  return `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;
}

/** `` `db`.`table` ``. */
export function qualifiedName(database: string, table: string): string {
  return `${quoteIdentifier(database, 'database')}.${quoteIdentifier(table, 'table')}`;
}

/**
 * A string as SQL that cannot carry anything but that string: `unhex('6162')`;
 * hex digits cannot end the literal. For the values that must be in the
 * statement on 18.16, which has no query parameters: the read position, and
 * the acked keys of ALTER … DELETE (which cannot see session tables).
 */
export function hexString(value: string): string {
  return `unhex('${Buffer.from(value, 'utf8').toString('hex')}')`;
}

/** A string as a quoted SQL literal: backslashes and quotes escaped (for text ferry wrote, such as a structure). */
export function stringLiteral(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}
