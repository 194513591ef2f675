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

  it('leaves other errors alone', () => {
    expect(tlsProblem(coded('ECONNREFUSED', 'connect ECONNREFUSED'))).toBeUndefined();
    expect(tlsProblem('text')).toBeUndefined();
  });

  it('hints at a client certificate only where none was given', () => {
    expect(clientCertificateHint(undefined)).toContain('give tls.cert and tls.key');
    expect(clientCertificateHint({ cert: 'PEM' })).toBe('');
  });
});
