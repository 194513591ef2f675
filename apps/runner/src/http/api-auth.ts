import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticatedBy } from './auth.js';
import { refuseUi } from './login-page.js';
import { isLoopback } from './loopback.js';

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `POST /s2s/` from this machine: what `api.s2sWithoutToken` opens, and nothing else. */
function s2sOpen(request: FastifyRequest, path: string): boolean {
  return (
    request.method === 'POST' && (path === '/s2s/' || path === '/s2s') && isLoopback(request.socket.remoteAddress ?? '')
  );
}

/** The header the dashboard page sends with every change it asks for; a form on another site cannot. */
export const uiRequestHeader = 'x-ferry-ui';

/**
 * The API's token rule: every route but /health needs `Authorization: Bearer
 * <token>` or the dashboard's session cookie (which the browser got for the
 * token at /ui). A change asked with the cookie must also carry the
 * X-Ferry-UI header, so that another site's page cannot make the browser
 * start or cancel a job. A browser without the token gets the login page.
 * With `s2sWithoutToken`, `POST /s2s/` from a loopback peer needs none.
 */
export function createAuthHook(token: string, options: { readonly s2sWithoutToken?: boolean } = {}) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const [path = '', query = ''] = request.url.split('?', 2);
    if (path === '/health' || path === '/ui/login') return;
    if (options.s2sWithoutToken === true && s2sOpen(request, path)) return;
    const by = authenticatedBy(request.headers, token);
    if (by === 'cookie' && !safeMethods.has(request.method) && request.headers[uiRequestHeader] === undefined) {
      return reply.code(403).send({
        error: `a change asked with the dashboard's cookie must come from the dashboard page (header ${uiRequestHeader})`,
      });
    }
    if (by !== undefined) return;
    const ui = path === '/ui' || path.startsWith('/ui/');
    // `/ui?token=…` is the token exchange: its route checks the token and sets the cookie.
    if ((path === '/ui' || path === '/ui/') && new URLSearchParams(query).has('token')) return;
    if (ui) return refuseUi(request, reply);
    reply.header('www-authenticate', 'Bearer realm="ferry"');
    return reply.code(401).send({ error: 'missing or wrong bearer token: send Authorization: Bearer <token>' });
  };
}
