import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors.js';

const pem = z.string().min(1);
const path = z.string().min(1);

/**
 * The `tls` key every connector takes: PEM inline (`ca`, `cert`, `key`) or
 * read from files (`caFile`, `certFile`, `keyFile`), the names Node's own
 * `tls.connect` uses, so that each driver gets the same settings.
 */
export const tlsSchema = z
  .strictObject({
    ca: pem.optional().describe('the CA certificate(s) to trust, PEM'),
    caFile: path.optional().describe('a file holding `ca`'),
    cert: pem.optional().describe('the client certificate, PEM, where the server asks for one'),
    certFile: path.optional().describe('a file holding `cert`'),
    key: pem.optional().describe("the client certificate's private key, PEM"),
    keyFile: path.optional().describe('a file holding `key`'),
    passphrase: z.string().optional().describe("the private key's passphrase"),
    servername: z.string().min(1).optional().describe('the name the server certificate must carry (SNI)'),
    rejectUnauthorized: z
      .boolean()
      .default(true)
      .describe('false: accept any server certificate (never in production)'),
  })
  .superRefine((tls, ctx) => {
    for (const name of ['ca', 'cert', 'key'] as const) {
      if (tls[name] !== undefined && tls[`${name}File`] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [`${name}File`], message: `give ${name} or ${name}File, not both` });
      }
    }
    const hasCert = tls.cert !== undefined || tls.certFile !== undefined;
    const hasKey = tls.key !== undefined || tls.keyFile !== undefined;
    if (hasCert !== hasKey) {
      ctx.addIssue({
        code: 'custom',
        path: [hasCert ? 'key' : 'cert'],
        message: 'a client certificate needs both cert and key',
      });
    }
  });

export type TlsOptions = z.input<typeof tlsSchema>;

/** What a driver's TLS socket takes: the PEM texts read, nothing left to resolve. */
export interface TlsSettings {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly passphrase?: string;
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

function readPem(file: string, key: string, where: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(`[ferry] ${where}: tls.${key} "${file}" cannot be read (${reason})`, { cause: error });
  }
}

/** Reads the files a `tls` option names, once, at open: a missing file is a ConfigError naming it. */
export function resolveTls(options: z.output<typeof tlsSchema>, where: string): TlsSettings {
  const { caFile, certFile, keyFile, ...rest } = options;
  return {
    ...rest,
    ...(caFile === undefined ? {} : { ca: readPem(caFile, 'caFile', where) }),
    ...(certFile === undefined ? {} : { cert: readPem(certFile, 'certFile', where) }),
    ...(keyFile === undefined ? {} : { key: readPem(keyFile, 'keyFile', where) }),
  };
}
