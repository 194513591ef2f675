/**
 * The page's changes go through the API's own routes. The session cookie
 * authenticates them; the X-Ferry-UI header tells the server that this page,
 * not a form on another site, asks.
 */
export interface ApiAnswer {
  readonly ok: boolean;
  readonly status: number;
  readonly data: unknown;
  /** The API's `error` text, or what went wrong on the way. */
  readonly error?: string;
}

async function call(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const headers: Record<string, string> = { 'x-ferry-ui': '1', accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let data: unknown = text;
    try {
      data = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Plain text (a job id from /s2s/, an error page): kept as is.
    }
    const error = (data as { error?: unknown } | undefined)?.error;
    return {
      ok: res.ok,
      status: res.status,
      data,
      ...(res.ok ? {} : { error: typeof error === 'string' ? error : `HTTP ${res.status}` }),
    };
  } catch (error) {
    return { ok: false, status: 0, data: undefined, error: `the server did not answer: ${String(error)}` };
  }
}

export const startFlow = (flow: string) => call('POST', '/flows', { flow });
export const cancelJob = (id: string) => call('POST', `/jobs/${encodeURIComponent(id)}/cancel`, {});
export const scheduleFlow = (id: string, flow: string, every: number) =>
  call('POST', '/schedules', { id, flow, every });
export const removeSchedule = (id: string) => call('DELETE', `/schedules/${encodeURIComponent(id)}`);
export const logOut = () => call('POST', '/ui/logout');
