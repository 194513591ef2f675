import { Decimal } from './value.js';

/** A finite float as a JSON literal that reads back as a float: `5.0`, `-0.0`, `0.1`, `1e+21`. */
export function floatLiteral(value: number): string {
  if (Object.is(value, -0)) return '-0.0';
  const text = String(value);
  for (let i = text.length - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */ || c === 101 /* e */) return text;
  }
  return `${text}.0`;
}

/** The text JSON would give a float, or the name of one that is not finite: the shortest that reads back the same. */
export function floatText(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}

/**
 * True when a number literal's decimal value is the float it parses to, as
 * the float's shortest text says it (`0.1`, `1.0`, `1e5`, `2.50`): reading
 * it as a float loses no digit that was written.
 */
export function isFloatLiteralExact(literal: string, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  if (value === 0) return true;
  return normalDecimal(literal) === normalDecimal(String(value));
}

/** `-1.500e3` → `-15e2`: sign, digits without leading or trailing zeros, exponent. */
function normalDecimal(text: string): string {
  let sign = '';
  let i = 0;
  if (text.charCodeAt(0) === 45 /* - */) {
    sign = '-';
    i = 1;
  }
  const e = text.search(/[eE]/);
  const mantissa = e === -1 ? text.slice(i) : text.slice(i, e);
  let exponent = e === -1 ? 0 : Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  let digits = mantissa;
  if (dot !== -1) {
    digits = mantissa.slice(0, dot) + mantissa.slice(dot + 1);
    exponent -= mantissa.length - dot - 1;
  }
  let start = 0;
  while (start < digits.length - 1 && digits.charCodeAt(start) === 48) start += 1;
  let end = digits.length;
  while (end > start + 1 && digits.charCodeAt(end - 1) === 48) {
    end -= 1;
    exponent += 1;
  }
  return `${sign}${digits.slice(start, end)}e${exponent}`;
}

/** A number literal as a value: an integer literal is an integer, a literal a float holds exactly a float, else a decimal. */
export function numberFromLiteral(literal: string): bigint | number | Decimal {
  let integer = true;
  for (let i = 0; i < literal.length; i++) {
    const c = literal.charCodeAt(i);
    if (c === 46 || c === 101 || c === 69) {
      integer = false;
      break;
    }
  }
  // A float holds every integer of up to 15 digits, and BigInt of a number is several times faster than of text.
  if (integer) return literal.length <= 15 ? BigInt(Number(literal)) : BigInt(literal);
  const value = Number(literal);
  return isFloatLiteralExact(literal, value) ? value : new Decimal(literal);
}
