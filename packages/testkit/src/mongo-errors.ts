/** A command failure as mongod reports it: `{ ok: 0, errmsg, code, codeName }`. */
export class CommandError extends Error {
  readonly code: number;
  readonly codeName: string;
  /** Fields mongod adds to this error's reply (keyPattern and keyValue of a duplicate key). */
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(code: number, codeName: string, message: string, extra: Readonly<Record<string, unknown>> = {}) {
    super(message);
    this.code = code;
    this.codeName = codeName;
    this.extra = extra;
  }
}

/** The codes this server answers with, as mongod names them (src/mongo/base/error_codes.yml). */
export const codes = {
  BadValue: 2,
  FailedToParse: 9,
  Unauthorized: 13,
  TypeMismatch: 14,
  InvalidLength: 16,
  AuthenticationFailed: 18,
  InvalidBSON: 22,
  NamespaceNotFound: 26,
  CursorNotFound: 43,
  NamespaceExists: 48,
  DollarPrefixedFieldName: 52,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidNamespace: 73,
  NotImplemented: 238,
  DuplicateKey: 11000,
  UnknownField: 40415,
} as const;

export function badValue(message: string): CommandError {
  return new CommandError(codes.BadValue, 'BadValue', message);
}

/** What mongod would do but this server does not: refused by name, never ignored. */
export function notImplemented(what: string): CommandError {
  return new CommandError(codes.NotImplemented, 'NotImplemented', `the MongoDB test server does not implement ${what}`);
}
