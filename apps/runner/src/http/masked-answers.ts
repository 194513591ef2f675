import { maskSecrets } from '@ferry/core';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Fastify's onSend hook that masks every answer of text (JSON, metrics,
 * errors, the dashboard's data) before it leaves: a URL's credentials, and
 * each secret the server was given, wherever the text carries them.
 */
export async function maskAnswer(_request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  // The dashboard's page and scripts are ferry's own files: masking a word in them could only break them.
  const type = String(reply.getHeader('content-type') ?? '');
  return typeof payload === 'string' && !/html|javascript|css/.test(type) ? maskSecrets(payload) : payload;
}
