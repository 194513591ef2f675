/** A command failure as mongod reports it: `{ ok: 0, errmsg, code, codeName }`. */
export class CommandError extends Error {
  readonly code: number;
  readonly codeName: string;

  constructor(code: number, codeName: string, message: string) {
    super(message);
    this.code = code;
    this.codeName = codeName;
  }
}

/** The codes this server answers with, as mongod names them (src/mongo/base/error_codes.yml). */
export const codes = {
  BadValue: 2,
  FailedToParse: 9,
  Unauthorized: 13,
  TypeMismatch: 14,
  AuthenticationFailed: 18,
  NamespaceNotFound: 26,
  CursorNotFound: 43,
  NamespaceExists: 48,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidNamespace: 73,
  InvalidLength: 16,
  Location10334: 10334,
  DuplicateKey: 11000,
  InvalidBSON: 22,
} as const;

export function badValue(message: string): CommandError {
  return new CommandError(codes.BadValue, 'BadValue', message);
}
