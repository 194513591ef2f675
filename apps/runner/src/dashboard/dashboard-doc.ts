import { z } from 'zod';
import type { RouteDoc } from '../http/api-route.js';

const snapshot = z
  .looseObject({
    at: z.iso.datetime(),
    version: z.string().optional(),
    systems: z.array(z.looseObject({})),
    edges: z.array(z.looseObject({})).describe('the edge matrix with the flows on each edge and the jobs running it'),
    flows: z.array(z.looseObject({})),
    jobs: z.array(z.looseObject({})).describe('the newest jobs, with their rates'),
    endpoints: z.array(z.looseObject({})).describe('the depth of each endpoint the config names, over time'),
    deadLetters: z.array(z.looseObject({})),
    schedules: z.array(z.looseObject({})),
    controlError: z.string().optional(),
  })
  .describe('the picture the dashboard draws (dashboard-snapshot.ts)');

/** The dashboard's routes as the OpenAPI document lists them (its static files and login form aside). */
export const dashboardRouteDocs: readonly RouteDoc[] = [
  {
    method: 'GET',
    url: '/ui',
    summary:
      'The dashboard page; with ?token=<token> the token becomes an HttpOnly session cookie (303 to /ui/) that the page and the API accept',
    query: z.object({ token: z.string().optional().describe("the API's token, exchanged for the session cookie") }),
    answers: {
      200: { description: 'the page', media: 'text/html' },
      303: { description: 'token taken: the session cookie is set' },
      401: { description: 'no or wrong token: a login form (HTML) or an Error (JSON)' },
    },
  },
  {
    method: 'GET',
    url: '/ui/events',
    summary:
      'Server-Sent Events: a `snapshot` event (jobs with rates, depths over time, dead letters, schedules, edges) when something changed, at most once a second',
    answers: { 200: { description: 'an event stream of snapshots', media: 'text/event-stream' } },
  },
  {
    method: 'GET',
    url: '/ui/snapshot',
    summary: "The dashboard's picture now, as the event stream sends it",
    answers: { 200: { description: 'the picture', schema: snapshot } },
  },
];
