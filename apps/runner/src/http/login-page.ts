import type { FastifyReply, FastifyRequest } from 'fastify';
import { sessionCookie, sessionValue } from './auth.js';

/** The login page is one HTML document with its own small style and no script. */
const loginPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The page a browser gets without the token: what to give, and where. */
export function loginPage(message?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ferry: token needed</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;background:#0f172a;color:#e2e8f0;display:grid;place-items:center;min-height:100vh;margin:0}
form{background:#1e293b;padding:2rem;border-radius:10px;min-width:20rem;box-shadow:0 10px 30px #0006}
h1{margin:0 0 .5rem;font-size:1.3rem}p{color:#94a3b8;margin:.25rem 0 1rem}
input{width:100%;box-sizing:border-box;padding:.6rem;border-radius:6px;border:1px solid #475569;background:#0f172a;color:inherit}
button{margin-top:1rem;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#38bdf8;color:#0f172a;font-weight:600;cursor:pointer}
.error{color:#fca5a5}
</style></head>
<body><form method="post" action="/ui/login">
<h1>ferry dashboard</h1>
<p>This server needs its API token: <code>FERRY_API_TOKEN</code>, <code>api.token</code>, or the one its startup line shows (<code>ferry: dashboard at …?token=…</code>).</p>
${message === undefined ? '' : `<p class="error" role="alert">${escapeHtml(message)}</p>`}
<input type="password" name="token" placeholder="token" autocomplete="current-password" required autofocus>
<button type="submit">Open the dashboard</button>
</form></body></html>
`;
}

/** A 401 for a browser: the login page; for anything else the API's JSON error. */
export function refuseUi(request: FastifyRequest, reply: FastifyReply, message?: string): FastifyReply {
  reply.code(401).header('www-authenticate', 'Bearer realm="ferry"');
  if (!(request.headers.accept ?? '').includes('text/html')) {
    return reply.send({
      error: message ?? 'missing or wrong token: open /ui?token=<token> or send Authorization: Bearer <token>',
    });
  }
  return reply
    .header('content-security-policy', loginPolicy)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(loginPage(message));
}

/** Sets the session cookie for the token. */
export function sessionCookieHeader(token: string): string {
  return `${sessionCookie}=${sessionValue(token)}; Path=/; HttpOnly; SameSite=Strict`;
}
