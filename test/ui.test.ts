import { statSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { apiClient, dropPrefix, type FerryProcess, startFerry, uniquePrefix } from './support/api.js';
import { artifactPath, launchChromium } from './support/browser.js';
import { configFile, redisUrl } from './support/cli.js';
import { TestStreams } from './support/streams.js';

// The dashboard in a real headless Chromium: opened with the token, a flow
// started and another cancelled from the page, the numbers checked against
// Redis, and a screenshot kept in test/artifacts/.

const streams = new TestStreams();
const token = 'ui-test-token';
const prefix = uniquePrefix('ui');
const copyIn = streams.name('ui.copy.in');
const copyOut = streams.name('ui.copy.out');
const deadLetters = streams.name('ui.copy.dlq');
const followIn = streams.name('ui.follow.in');
const followOut = streams.name('ui.follow.out');
const total = 5_000;

const config = configFile(
  [
    'connections:',
    `  default: { kind: redis-stream, url: "${redisUrl}" }`,
    'flows:',
    '  ui-copy:',
    `    source: { stream: ${copyIn} }`,
    `    sink: { stream: ${copyOut} }`,
    `    deadLetter: { stream: ${deadLetters} }`,
    '    batchSize: 250',
    '  ui-follow:',
    `    source: { stream: ${followIn} }`,
    `    sink: { stream: ${followOut} }`,
    '    stopWhenEmpty: false',
    '    pollIntervalMs: 200',
  ].join('\n'),
);

let server: FerryProcess;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  await streams.seed(copyIn, total);
  await streams.seed(followIn, 300);
  // A dead letter as the pump writes one, so that the page has a reason to show.
  await streams.redis.xadd(
    deadLetters,
    '*',
    'reason',
    'body is not JSON: Unexpected token',
    'sourceId',
    '17-0',
    'rejectedAt',
    new Date().toISOString(),
  );
  [server, browser] = await Promise.all([
    startFerry('serve', ['--config', config, '--prefix', prefix, '--concurrency', '2'], { FERRY_API_TOKEN: token }),
    launchChromium(),
  ]);
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop(5000);
  await dropPrefix(prefix);
  await streams.cleanup();
});

/** Keeps what the page showed when a test failed, next to the screenshot. */
function screenshotOnFailure(name: string) {
  onTestFailed(async () => {
    await page?.screenshot({ path: artifactPath(`ui-failed-${name}.png`), fullPage: true }).catch(() => {});
  });
}

/** Clicks a flow's Start button and resolves to the id of the job the page says it queued. */
async function startFromPage(flow: string): Promise<string> {
  // The notice of an earlier action goes first, so that the one read below is this start's.
  const earlier = page.locator('[data-testid="notice"]');
  if ((await earlier.count()) > 0) {
    await earlier.locator('button').click();
    await earlier.waitFor({ state: 'detached' });
  }
  await page.click(`[data-testid="start-${flow}"]`);
  const notice = page.locator('[data-testid="notice"][data-job-id]');
  await notice.waitFor({ timeout: 10_000 });
  expect(await notice.textContent()).toContain(`queued ${flow} as job`);
  return (await notice.getAttribute('data-job-id'))!;
}

const row = (id: string) => `tr[data-job-id="${id}"]`;

describe('the dashboard in headless Chromium', () => {
  it('opens with the token, starts an S2S flow from the page and shows its final count', async () => {
    screenshotOnFailure('start');
    const response = await page.goto(`${server.url}/ui?token=${token}`);
    expect(response?.status()).toBe(200);
    // The token became the session cookie and left the address bar.
    expect(page.url()).toBe(`${server.url}/ui/`);
    await page.waitForSelector('[data-testid="live"]:text-is("live")', { timeout: 10_000 });
    expect(await page.locator(`td[data-edge="S2S"] .chip`).allTextContents()).toEqual(['ui-copy', 'ui-follow']);

    const id = await startFromPage('ui-copy');
    await page.waitForSelector(`${row(id)}[data-state="completed"]`, { timeout: 30_000 });
    const records = page.locator(`${row(id)} [data-testid="records"]`);
    expect(await records.getAttribute('data-value')).toBe(String(total));
    expect(await records.textContent()).toBe('5,000');
    expect(await page.locator(`${row(id)} [data-testid="outcome"]`).textContent()).toBe('source empty');
    expect(await streams.len(copyOut)).toBe(total);
    expect(await streams.len(copyIn)).toBe(0);

    // The depths of what the config names follow the flow; the dead letters show their reason.
    await expect
      .poll(() => page.locator(`[data-endpoint="default/${copyOut}"] [data-testid="depth"]`).textContent(), {
        timeout: 10_000,
      })
      .toBe('5,000');
    expect(await page.locator(`[data-endpoint="default/${copyIn}"] [data-testid="depth"]`).textContent()).toBe('0');
    const dead = page.locator('.dead[data-flow="ui-copy"]');
    expect(await dead.locator('[data-testid="dead-count"]').textContent()).toBe('1');
    expect(await dead.textContent()).toContain('body is not JSON: Unexpected token');
  });

  it('cancels a running follow-mode flow from the page: it ends cancelled, what it moved kept', async () => {
    screenshotOnFailure('cancel');
    const id = await startFromPage('ui-follow');
    // Active, and through its 300 records: it now waits for more, as follow mode does.
    await page.waitForSelector(`${row(id)}[data-state="active"] [data-testid="records"][data-value="300"]`, {
      timeout: 30_000,
    });
    await page.click(`${row(id)} [data-testid="cancel"]`);
    await page.waitForSelector(`${row(id)}[data-state="cancelled"]`, { timeout: 20_000 });
    expect(await page.locator(`${row(id)} [data-testid="outcome"]`).textContent()).toBe('cancelled');
    expect(await page.locator(`${row(id)} [data-testid="cancel"]`).count()).toBe(0);

    const job = await apiClient(server.url, token).job(id);
    expect(job).toMatchObject({ state: 'cancelled', result: { records: 300, stopReason: 'aborted' } });
    expect(await streams.len(followOut)).toBe(300);

    const shot = artifactPath('ui-dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
  });

  it('schedules a flow from the page and removes the schedule', async () => {
    screenshotOnFailure('schedule');
    await page.selectOption('.schedule-form select', 'ui-copy');
    await page.fill('.schedule-form input[type="number"]', '3600');
    await page.fill('.schedule-form input[type="text"]', 'ui-copy-hourly');
    await page.click('[data-testid="schedule"]');
    const scheduled = page.locator('tr[data-schedule="ui-copy-hourly"]');
    await scheduled.waitFor({ timeout: 10_000 });
    expect(await scheduled.textContent()).toContain('every 3600 s');
    const listed = (await (await apiClient(server.url, token).get('/schedules')).json()) as {
      schedules: { id: string; name: string; everySeconds?: number }[];
    };
    expect(listed.schedules).toEqual([
      expect.objectContaining({ id: 'ui-copy-hourly', name: 'ui-copy', everySeconds: 3600 }),
    ]);

    await scheduled.locator('button').click();
    await scheduled.waitFor({ state: 'detached', timeout: 10_000 });
    expect(
      ((await (await apiClient(server.url, token).get('/schedules')).json()) as { schedules: [] }).schedules,
    ).toEqual([]);
  });

  it('refuses without the token: 401 and a login form; a change with the cookie alone needs the page header', async () => {
    screenshotOnFailure('token');
    for (const path of ['/ui/', '/ui/events', '/ui/snapshot', '/ui?token=wrong', '/jobs']) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(401);
    }
    const context = await browser.newContext();
    try {
      const stranger = await context.newPage();
      const refused = await stranger.goto(`${server.url}/ui/`);
      expect(refused?.status()).toBe(401);
      await stranger.fill('input[name="token"]', 'not-the-token');
      await stranger.click('button[type="submit"]');
      expect(await stranger.locator('[role="alert"]').textContent()).toBe('wrong token');
      await stranger.fill('input[name="token"]', token);
      await stranger.click('button[type="submit"]');
      await stranger.waitForSelector('[data-testid="live"]:text-is("live")', { timeout: 10_000 });
      expect(stranger.url()).toBe(`${server.url}/ui/`);

      // The cookie opens the API to the page's own requests, not to a form another site posts.
      const cookie = (await context.cookies()).find((c) => c.name === 'ferry_session')!;
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
      expect(cookie.value).not.toContain(token);
      const headers = { cookie: `ferry_session=${cookie.value}`, 'content-type': 'application/json' };
      const forged = await fetch(`${server.url}/flows`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ flow: 'ui-copy' }),
      });
      expect(forged.status).toBe(403);
      expect((await fetch(`${server.url}/jobs`, { headers })).status).toBe(200);
    } finally {
      await context.close();
    }
  });
});
