/** Node's codes for a server certificate it will not trust. */
const untrustedCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
]);

const datedCodes = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** OpenSSL's alerts of a server that refused the client's certificate, or wanted one. */
const refusedClient = /^ERR_SSL_.*(CERTIFICATE|UNKNOWN_CA|HANDSHAKE_FAILURE)/;

/** OpenSSL's answer to a port that speaks plain text. */
const notTls = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG']);

/** The errors an error wraps: its `cause`, then any `errors` (an AggregateError's). */
function* chain(error: unknown, depth = 0): Generator<Error> {
  if (!(error instanceof Error) || depth > 8) return;
  yield error;
  yield* chain(error.cause, depth + 1);
  const inner = (error as { errors?: unknown }).errors;
  if (Array.isArray(inner)) for (const item of inner) yield* chain(item, depth + 1);
}

function problemOf(code: string, error: Error): string | undefined {
  // OpenSSL's errors carry the words alone in `reason`; their message adds library, file and line.
  const said = `${code}: ${String((error as { reason?: unknown }).reason ?? error.message).trim()}`;
  if (untrustedCodes.has(code)) {
    return `the server's certificate is not signed by a CA this connection trusts (${said}): give that CA as tls.ca or tls.caFile`;
  }
  if (datedCodes.has(code)) return `the server's certificate is out of its validity dates (${said})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
    return `the server's certificate is not for this host name (${said}): connect by a name it carries, or set tls.servername`;
  }
  if (refusedClient.test(code)) {
    return `the server refused the client certificate or wants one (${said}): give tls.cert and tls.key, signed by a CA the server trusts`;
  }
  if (notTls.has(code))
    return `the server does not speak TLS on this port (${said}): use its TLS port, or a url without TLS`;
  if (code.startsWith('ERR_OSSL_')) {
    return `the certificate, key or passphrase of tls cannot be used (${said})`;
  }
  return undefined;
}

/**
 * Why a TLS connection failed on certificates, when it did: retrying cannot
 * change it, so a connector reports it as a ConfigError naming the connection.
 * Looks through `cause`s and `errors`, as drivers wrap socket errors.
 */
export function tlsProblem(error: unknown): string | undefined {
  for (const item of chain(error)) {
    const code = (item as { code?: unknown }).code;
    const problem = typeof code === 'string' ? problemOf(code, item) : undefined;
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * Said beside a failed TLS connection made without a client certificate:
 * under TLS 1.3 a server that wants one drops the connection after the
 * handshake, and the client reads only a reset or a timeout.
 */
export function clientCertificateHint(tls: { readonly cert?: string; readonly certFile?: string } | undefined): string {
  if (tls?.cert !== undefined || tls?.certFile !== undefined) return '';
  return ' (over TLS: a server that wants a client certificate drops a client without one unexplained; give tls.cert and tls.key if it does)';
}
