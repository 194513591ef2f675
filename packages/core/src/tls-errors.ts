/** Node's codes for a server certificate the client cannot trust: the CA, the chain, the dates or the name. */
const untrustedCodes = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** The errors an error wraps: its `cause`, then any `errors` (an AggregateError's). */
function* chain(error: unknown, depth = 0): Generator<Error> {
  if (!(error instanceof Error) || depth > 8) return;
  yield error;
  yield* chain(error.cause, depth + 1);
  const inner = (error as { errors?: unknown }).errors;
  if (Array.isArray(inner)) for (const item of inner) yield* chain(item, depth + 1);
}

/**
 * What went wrong in a TLS handshake, in words that say what to change, or
 * undefined when the error is not one: an untrusted server certificate, a
 * client certificate the server refused, or a port that does not speak TLS.
 * Retrying cannot fix any of them: a connector makes them fatal.
 */
export function certificateProblem(error: unknown): string | undefined {
  for (const item of chain(error)) {
    const code = (item as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    // OpenSSL's errors carry the words alone in `reason`; their message adds library, file and line.
    const reason = String((item as { reason?: unknown }).reason ?? item.message).trim();
    if (untrustedCodes.has(code)) {
      return `the server's certificate is not trusted (${reason}): give the CA that signed it as tls.ca or tls.caFile, or the name it carries as tls.servername`;
    }
    if (code.startsWith('ERR_SSL_') && /CERTIFICATE|HANDSHAKE_FAILURE/.test(code)) {
      return `the server refused the TLS handshake, asking for a client certificate it trusts (${reason}): give tls.cert and tls.key (or certFile and keyFile)`;
    }
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
      return `the server does not speak TLS on this port (${reason}): use its TLS port, or a url without TLS`;
    }
  }
  return undefined;
}
