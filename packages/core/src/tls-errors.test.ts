import { describe, expect, it } from 'vitest';
import { certificateProblem } from './tls-errors.js';

const coded = (code: string, message: string, cause?: unknown) =>
  Object.assign(new Error(message, { cause }), { code });

describe('certificateProblem', () => {
  it('names an untrusted server certificate, found through the causes a driver wraps it in', () => {
    const socket = coded('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain');
    const driver = new Error('connection <monitor> to 127.0.0.1:27017 closed', { cause: socket });
    expect(certificateProblem(driver)).toBe(
      "the server's certificate is not trusted (self-signed certificate in certificate chain): give the CA that signed it as tls.ca or tls.caFile, or the name it carries as tls.servername",
    );
    expect(certificateProblem(new AggregateError([socket]))).toMatch(/^the server's certificate is not trusted/);
  });

  it('names a refused client certificate and a port without TLS; other errors are none of its business', () => {
    const alert = Object.assign(
      coded('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', '80:error:0A00045C:SSL routines:…:SSL alert number 116\n'),
      { reason: 'tlsv13 alert certificate required' },
    );
    expect(certificateProblem(alert)).toBe(
      'the server refused the TLS handshake, asking for a client certificate it trusts (tlsv13 alert certificate required): give tls.cert and tls.key (or certFile and keyFile)',
    );
    expect(certificateProblem(coded('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'))).toMatch(
      /does not speak TLS on this port/,
    );
    expect(certificateProblem(coded('ECONNREFUSED', 'connect ECONNREFUSED'))).toBeUndefined();
    expect(certificateProblem('text')).toBeUndefined();
  });
});
