import { describe, expect, it } from 'vitest';
import { clientCertificateHint, tlsProblem } from './tls-failure.js';

function coded(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('tlsProblem', () => {
  it('says the server certificate is not trusted, and what to give', () => {
    const problem = tlsProblem(coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'));
    expect(problem).toBe(
      "the server's certificate is not signed by a CA this connection trusts (UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate): give that CA as tls.ca or tls.caFile",
    );
  });

  it('finds the socket error a driver wrapped', () => {
    const wrapped = new Error('connection failed', { cause: coded('ERR_TLS_CERT_ALTNAME_INVALID', 'IP mismatch') });
    expect(tlsProblem(wrapped)).toContain("the server's certificate is not for this host name");
  });

  it('says the server refused the client certificate', () => {
    const alert = coded('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'tlsv13 alert certificate required');
    expect(tlsProblem(alert)).toContain('give tls.cert and tls.key');
  });

  it('finds the certificate error inside an AggregateError, and says OpenSSL reason rather than its long message', () => {
    const socket = coded('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain');
    expect(tlsProblem(new AggregateError([new Error('monitor closed', { cause: socket })]))).toMatch(
      /^the server's certificate is not signed by a CA this connection trusts \(SELF_SIGNED_CERT_IN_CHAIN: self-signed/,
    );
    const alert = Object.assign(
      coded('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', '80:error:0A00045C:SSL routines:…:SSL alert number 116\n'),
      { reason: 'tlsv13 alert certificate required' },
    );
    expect(tlsProblem(alert)).toBe(
      'the server refused the client certificate or wants one (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: tlsv13 alert certificate required): give tls.cert and tls.key, signed by a CA the server trusts',
    );
  });

  it('says a port speaks no TLS', () => {
    expect(tlsProblem(coded('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'))).toMatch(
      /^the server does not speak TLS on this port/,
    );
  });

  it('leaves other errors alone', () => {
    expect(tlsProblem(coded('ECONNREFUSED', 'connect ECONNREFUSED'))).toBeUndefined();
    expect(tlsProblem('text')).toBeUndefined();
  });

  it('hints at a client certificate only where none was given', () => {
    expect(clientCertificateHint(undefined)).toContain('give tls.cert and tls.key');
    expect(clientCertificateHint({ cert: 'PEM' })).toBe('');
  });
});
