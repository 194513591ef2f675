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
const refusedClient =
  /^ERR_SSL_(TLSV13_ALERT_CERTIFICATE_REQUIRED|TLSV1_ALERT_UNKNOWN_CA|SSLV3_ALERT_BAD_CERTIFICATE)$/;

function codeOf(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function problemOf(code: string, message: string): string | undefined {
  const said = `${code}: ${message}`;
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
  if (code.startsWith('ERR_OSSL_')) {
    return `the certificate, key or passphrase of tls cannot be used (${said})`;
  }
  return undefined;
}

/**
 * Why a TLS connection failed on certificates, when it did: retrying cannot
 * change it, so a connector reports it as a ConfigError naming the connection.
 * Looks through `cause`s, as drivers wrap socket errors.
 */
export function tlsProblem(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = codeOf(current);
    const problem = code === undefined ? undefined : problemOf(code, current.message);
    if (problem !== undefined) return problem;
    current = current.cause;
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
