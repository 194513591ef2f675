import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sessionCookie, tokenMatches } from '../http/auth.js';
import { refuseUi, sessionCookieHeader } from '../http/login-page.js';
import { repeatedParameter } from '../http/repeated-query.js';
import { BadRequestError } from '../jobs/job-spec.js';

/**
 * The dashboard's session: `/ui?token=…` and the login form trade the token
 * for the session cookie, `/ui/logout` clears it. Without a token the
 * dashboard is open and `/ui` is the page.
 */
export async function registerLogin(
  app: FastifyInstance,
  token: string | undefined,
  page: (reply: FastifyReply) => FastifyReply,
): Promise<void> {
  // `/ui?token=…`: the token becomes the session cookie and leaves the address bar.
  const entry = async (request: FastifyRequest, reply: FastifyReply) => {
    const given = (request.query as { token?: unknown }).token;
    if (typeof given !== 'string') return page(reply);
    if (token !== undefined) {
      if (!tokenMatches(given, token)) return refuseUi(request, reply, 'wrong token');
      reply.header('set-cookie', sessionCookieHeader(token));
    }
    return reply.code(303).header('location', '/ui/').send();
  };
  app.get('/ui', entry);
  app.get('/ui/', entry);

  await app.register(async (scope) => {
    // The login form posts urlencoded: parsed here only, so that no other route accepts a form.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_request, body, done) => {
        const params = new URLSearchParams(String(body));
        const repeated = repeatedParameter(params);
        if (repeated === undefined) return done(null, Object.fromEntries(params));
        const error = new BadRequestError(`[ferry] invalid form:\n  - ${repeated}: given more than once`);
        return done(error, undefined);
      },
    );
    scope.post('/ui/login', async (request, reply) => {
      const given = (request.body as { token?: unknown } | undefined)?.token;
      if (token === undefined) return reply.code(303).header('location', '/ui/').send();
      if (typeof given !== 'string' || !tokenMatches(given, token)) return refuseUi(request, reply, 'wrong token');
      return reply.code(303).header('set-cookie', sessionCookieHeader(token)).header('location', '/ui/').send();
    });
  });

  app.post('/ui/logout', async (_request, reply) =>
    reply
      .code(303)
      .header('set-cookie', `${sessionCookie}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`)
      .header('location', '/ui/')
      .send(),
  );
}
