import type { Collator } from './mongo-compare.js';
import { badValue, CommandError, codes, notImplemented } from './mongo-errors.js';
import { numberType, toJsNumber } from './mongo-numbers.js';
import { isDocument } from './mongo-query.js';

/** ICU's collation keywords (`de@collation=phonebook`) as BCP 47 names them (`de-u-co-phonebk`). */
const keywords: Readonly<Record<string, string>> = {
  big5han: 'big5han',
  compat: 'compat',
  dictionary: 'dict',
  emoji: 'emoji',
  eor: 'eor',
  gb2312han: 'gb2312',
  phonebook: 'phonebk',
  pinyin: 'pinyin',
  reformed: 'reformed',
  search: 'search',
  searchjl: 'searchjl',
  standard: 'standard',
  stroke: 'stroke',
  traditional: 'trad',
  unihan: 'unihan',
  zhuyin: 'zhuyin',
};

const fields = new Set([
  'locale',
  'caseLevel',
  'caseFirst',
  'strength',
  'numericOrdering',
  'alternate',
  'maxVariable',
  'normalization',
  'backwards',
  'version',
]);

/** A collation as mongod parsed and completed it: every field with its value, and the collator. */
interface Parsed {
  readonly spec: Record<string, unknown>;
  readonly collator: Collator;
}

const cache = new Map<string, Parsed>();

/** The ICU version mongod 7.0 reports in a collation's `version`. */
const icuVersion = '57.1';

function invalidLocale(spec: Record<string, unknown>): CommandError {
  return badValue(`Field 'locale' is invalid in: ${JSON.stringify(spec)}`);
}

function flag(spec: Record<string, unknown>, field: string): boolean {
  const value = spec[field];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') {
    throw new CommandError(
      codes.TypeMismatch,
      'TypeMismatch',
      `BSON field 'collation.${field}' is the wrong type, expected type 'bool'`,
    );
  }
  return value;
}

function choice(spec: Record<string, unknown>, field: string, allowed: readonly string[]): string {
  const value = spec[field] ?? allowed[0];
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new CommandError(
      codes.FailedToParse,
      'FailedToParse',
      `Field '${field}' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}. Got: ${String(value)}`,
    );
  }
  return value;
}

/** An ICU locale id as mongod takes it (`en_US`, `de@collation=phonebook`) as a BCP 47 tag, with its `co` keyword. */
function languageTag(locale: string, spec: Record<string, unknown>): [tag: string, collation: string | undefined] {
  const [base = '', extra] = locale.split('@');
  if (!/^[A-Za-z]{2,3}(_[A-Za-z0-9]{2,8})*$/.test(base)) throw invalidLocale(spec);
  const tag = base.replace(/_/g, '-');
  if (extra === undefined) return [tag, undefined];
  const keyword = /^collation=(\w+)$/.exec(extra)?.[1];
  const co = keyword === undefined ? undefined : keywords[keyword];
  if (co === undefined) throw invalidLocale(spec);
  return [`${tag}-u-co-${co}`, co];
}

/**
 * The collation of a command or statement: undefined for the simple one
 * (binary comparison of UTF-8), else the locale's comparison of strings, from
 * ICU as Node carries it (`Intl.Collator`). What Intl cannot set exactly —
 * strengths 4 and 5, caseLevel above strength 1, `maxVariable: 'space'` with
 * `alternate: 'shifted'`, a `backwards` that is not the locale's own — is
 * refused by name.
 */
export function collationOf(spec: unknown): Collator | undefined {
  return parseCollation(spec)?.collator;
}

/**
 * A collation as mongod shows it in an index specification: every field,
 * defaults filled in (`{ locale: 'en_US', caseLevel: false, caseFirst: 'off',
 * strength: 2, … version: '57.1' }`); undefined for the simple one. The
 * defaults are ICU's root ones (plus fr_CA's backwards); a locale whose
 * own defaults differ (Thai's alternate, Danish's caseFirst) shows the root ones.
 */
export function collationSpec(spec: unknown): Record<string, unknown> | undefined {
  return parseCollation(spec)?.spec;
}

function parseCollation(spec: unknown): Parsed | undefined {
  if (spec === undefined) return undefined;
  if (!isDocument(spec)) {
    throw new CommandError(
      codes.TypeMismatch,
      'TypeMismatch',
      "BSON field 'collation' is the wrong type, expected type 'object'",
    );
  }
  for (const key of Object.keys(spec)) {
    if (!fields.has(key)) {
      throw new CommandError(codes.UnknownField, 'Location40415', `BSON field 'collation.${key}' is an unknown field.`);
    }
  }
  const locale = spec.locale;
  if (locale === undefined) {
    throw new CommandError(40414, 'Location40414', "BSON field 'collation.locale' is missing but a required field");
  }
  if (typeof locale !== 'string') {
    throw new CommandError(
      codes.TypeMismatch,
      'TypeMismatch',
      "BSON field 'collation.locale' is the wrong type, expected type 'string'",
    );
  }
  if (locale === 'simple') {
    if (Object.keys(spec).length === 1) return undefined;
    throw notImplemented(`the simple collation with other fields (${JSON.stringify(spec)})`);
  }
  const key = JSON.stringify(spec);
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const parsed = makeCollation(locale, spec);
  cache.set(key, parsed);
  return parsed;
}

function makeCollation(locale: string, spec: Record<string, unknown>): Parsed {
  const [tag, co] = languageTag(locale, spec);
  if (Intl.Collator.supportedLocalesOf(tag).length === 0) throw invalidLocale(spec);
  const raw = spec.strength ?? 3;
  const strength = numberType(raw) === undefined ? Number.NaN : toJsNumber(raw);
  if (!Number.isInteger(strength) || strength < 1 || strength > 5) {
    throw new CommandError(
      codes.FailedToParse,
      'FailedToParse',
      `Field 'strength' must be an integer 1 through 5. Got: ${String(raw)}`,
    );
  }
  if (strength > 3)
    throw notImplemented(`collation strength ${strength} (${strength === 4 ? 'quaternary' : 'identical'})`);
  const caseLevel = flag(spec, 'caseLevel');
  if (caseLevel && strength > 1) throw notImplemented(`collation caseLevel: true with strength ${strength}`);
  const caseFirst = choice(spec, 'caseFirst', ['off', 'upper', 'lower']);
  const alternate = choice(spec, 'alternate', ['non-ignorable', 'shifted']);
  const maxVariable = choice(spec, 'maxVariable', ['punct', 'space']);
  if (alternate === 'shifted' && maxVariable === 'space') {
    throw notImplemented("collation maxVariable: 'space' with alternate: 'shifted'");
  }
  // ICU's normalization setting only matters for text that is not in FCD form; ICU's own checks cover the rest.
  const normalization = flag(spec, 'normalization');
  // French Canadian sorts secondary differences backwards by default; Intl cannot change a locale's default.
  const frenchBackwards = /^fr_CA(@|$)/.test(locale);
  if (spec.backwards !== undefined && flag(spec, 'backwards') !== frenchBackwards) {
    throw notImplemented(`collation backwards: ${String(spec.backwards)} for locale '${locale}'`);
  }
  if (spec.version !== undefined && spec.version !== icuVersion) {
    throw badValue(`Field 'version' is invalid: ${JSON.stringify(spec.version)} (this server has ${icuVersion})`);
  }
  const numericOrdering = flag(spec, 'numericOrdering');
  const intl = new Intl.Collator(tag, {
    usage: 'sort',
    sensitivity: strength === 1 ? (caseLevel ? 'case' : 'base') : strength === 2 ? 'accent' : 'variant',
    caseFirst: caseFirst === 'off' ? 'false' : (caseFirst as 'upper' | 'lower'),
    numeric: numericOrdering,
    ignorePunctuation: alternate === 'shifted',
  });
  if (co !== undefined && intl.resolvedOptions().collation !== co) throw invalidLocale(spec);
  const full = {
    locale,
    caseLevel,
    caseFirst,
    strength,
    numericOrdering,
    alternate,
    maxVariable,
    normalization,
    backwards: frenchBackwards,
    version: icuVersion,
  };
  return { spec: full, collator: intl.compare };
}
