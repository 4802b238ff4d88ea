// The client portal on a phone, as a client meets it: from the footer's "Client sign-in" to a
// sign-in link read from the email the app really sends (the demo delivers to a tiny SMTP
// sink, support/smtp.mjs), "Continue", the coming sessions, cancelling a session that is less
// than 48 hours away with the charge explained before confirming, downloading her data, and
// signing out. The link opened in another browser is refused. Every portal page gets axe (WCAG 2.2 AA), the
// urgent-help block and the privacy checks (nothing from other origins).
//
// The demo clock starts at Thursday 25 March 2027, 09:00 UTC (GMT until Sunday 28 March).
// Eleanor Marsh, in brief work on Tuesdays at 9am at Chancery Lane under policy version 2
// (48 hours' notice, 100% of the £75 fee, one free late cancellation a year), has used her
// free late cancellation. The therapist first moves her next session to today at 3pm, six
// hours away, so that cancelling it is late and charged.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertNoProblems,
  axeViolations,
  crisisBlockProblems,
  launchBrowser,
  newContext,
  redirectChain,
  submitAndWait,
  watchConsole,
  watchRequests,
} from '../support/browser.mjs';
import { freshArtifactDir } from '../support/paths.mjs';
import { DEMO_EMAIL, DEMO_PASSWORD, startServer } from '../support/server.mjs';
import { startSmtpSink } from '../support/smtp.mjs';

const CLIENT = { name: 'Eleanor Marsh', email: 'eleanor.marsh@example.com' };
/** Her next session, moved by the therapist to today at 3pm (GMT). */
const MOVED = { date: '2027-03-25', time: '15:00', when: 'Thursday 25 March 2027 at 3pm' };
const LATE =
  "This is less than 48 hours before your session, so the practice's cancellation policy (version 2) applies: £75.";
const RULE =
  /^How this was worked out: Late cancellation: \d hours' notice, less than the 48 hours the policy \(version 2\) asks for\. 100% of the £75 fee\.$/;
const LINK = /https?:\/\/[^\s/]+\/portal\/link\/[0-9a-f]{64}/;

let sink;
let server;
let browser;
let phone; // the client's context
let page;
let requests;
let consoleErrors;
let shots;
const done = new Set();
const found = { link: null };

before(async () => {
  sink = await startSmtpSink();
  server = await startServer({ name: 'portal', extraArgs: ['--smtp-url', sink.url] });
  browser = await launchBrowser();
  phone = await newContext(browser, 'phone');
  requests = watchRequests(phone, server.origin);
  page = await phone.newPage();
  consoleErrors = watchConsole(page);
  shots = freshArtifactDir('screenshots', 'portal');
});

after(async () => {
  await phone?.close();
  await browser?.close();
  await server?.stop();
  await sink?.close();
});

const at = (path) => new URL(path, server.url).href;
const pathOf = (url) => new URL(url).pathname;
const squash = (text) => text.replace(/\s+/g, ' ').trim();

function needs(t, step) {
  if (done.has(step)) return false;
  t.skip(`needs "${step}", which did not pass`);
  return true;
}

/**
 * A portal page as it must be: the expected status, no "Error: " title, no axe violations,
 * the urgent-help block, never cached, nothing from other origins, no failed sub-resources
 * or console errors. Saves artifacts/screenshots/portal/<name>.png first.
 */
async function assertGoodPage(name, what, response, expectedStatus = 200) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const problems = [];
  if (!response) problems.push('no response');
  else {
    if (response.status() !== expectedStatus) {
      problems.push(`status ${response.status()} at ${response.url()}, expected ${expectedStatus} (${redirectChain(response).join(' -> ')})`);
    }
    const headers = await response.allHeaders();
    if (headers['cache-control'] !== 'no-store') problems.push(`Cache-Control is ${headers['cache-control']}, not no-store`);
    if (headers['x-robots-tag'] !== 'noindex') problems.push(`X-Robots-Tag is ${headers['x-robots-tag']}, not noindex`);
  }
  if (expectedStatus < 400 && /^Error: /.test(await page.title())) problems.push(`the title says there is an error: ${await page.title()}`);
  problems.push(...(await axeViolations(page)));
  problems.push(...(await crisisBlockProblems(page)));
  const { foreign, failed } = requests.take();
  problems.push(...foreign.map((url) => `request to another origin: ${url}`));
  problems.push(...failed.map((r) => `a resource failed to load: ${r}`));
  problems.push(...consoleErrors.take());
  assertNoProblems(problems, `${what} (${page.url()})`);
}

async function h1() {
  return squash(await page.getByRole('heading', { level: 1 }).innerText());
}

// ---------------------------------------------------------------------------------------

test("the therapist moves Eleanor's next session to this afternoon", async () => {
  const office = await newContext(browser, 'desktop');
  try {
    const desk = await office.newPage();
    await desk.goto(at('/office/sign-in'));
    await desk.getByLabel('Email address').fill(DEMO_EMAIL);
    await desk.getByLabel('Password', { exact: true }).fill(DEMO_PASSWORD);
    await submitAndWait(desk, desk.getByRole('button', { name: 'Sign in' }));
    assert.equal(pathOf(desk.url()), '/office', 'the therapist should be signed in');
    await desk.goto(at('/office/clients'));
    await submitAndWait(desk, desk.getByRole('link', { name: CLIENT.name, exact: true }));
    const next = desk.getByRole('table', { name: 'The next sessions, soonest first' }).locator('tbody tr th a').first();
    await submitAndWait(desk, next);
    assert.match(pathOf(desk.url()), /^\/office\/sessions\/\d+$/, "the first coming session should open its page");
    await desk.getByLabel('New date').fill(MOVED.date);
    await desk.getByLabel('New time').fill(MOVED.time);
    const moved = await submitAndWait(desk, desk.getByRole('button', { name: 'Move the session' }));
    assert.equal(moved.status(), 200, `moving the session should succeed, got ${moved.status()}`);
    const when = squash(await desk.locator('dl.summary-list > div').filter({ has: desk.locator('dt', { hasText: /^When$/ }) }).locator('dd').innerText());
    assert.ok(when.startsWith(MOVED.when), `the session should now be ${MOVED.when}; it says ${when}`);
    done.add('moved');
  } finally {
    await office.close();
  }
});

test('a client finds "Client sign-in" and asks for a link; no cookie until they ask', async () => {
  await page.goto(at('/'));
  assert.deepEqual(await phone.cookies(), [], 'reading the site sets no cookie');
  const form = await submitAndWait(page, page.getByRole('link', { name: 'Client sign-in' }));
  assert.equal(pathOf(page.url()), '/portal/sign-in');
  assert.equal(await h1(), 'Sign in to see your sessions');
  assert.deepEqual(await phone.cookies(), [], 'the sign-in form sets no cookie');
  await assertGoodPage('01-sign-in', 'the sign-in page', form);

  await page.getByLabel('Email address').fill(CLIENT.email);
  const asked = await submitAndWait(page, page.getByRole('button', { name: 'Email me a sign-in link' }));
  assert.equal(await h1(), 'Check your email');
  const cookies = await phone.cookies();
  assert.equal(cookies.length, 1, `one cookie, binding the link to this browser: ${JSON.stringify(cookies.map((c) => c.name))}`);
  assert.match(cookies[0].name, /anteroom_portal_link$/);
  assert.equal(cookies[0].httpOnly, true, 'the cookie is HttpOnly');
  assert.equal(cookies[0].sameSite, 'Lax');
  await assertGoodPage('02-check-your-email', '"Check your email"', asked);

  const email = await sink.waitFor((m) => m.to.includes(CLIENT.email) && m.subject.startsWith('Your sign-in link for '), {
    what: `sign-in email to ${CLIENT.email}`,
  });
  for (const words of ['works once', '10 minutes', 'only in the browser where you asked', 'If you did not ask for this link', '116 123']) {
    assert.ok(squash(email.body).includes(words), `the email should say "${words}":\n${email.body}`);
  }
  found.link = LINK.exec(email.body)?.[0];
  assert.ok(found.link, `the email should hold a sign-in link:\n${email.body}`);
  done.add('asked');
});

test('the link opened in another browser does not sign in', async (t) => {
  if (needs(t, 'asked')) return;
  const other = await newContext(browser, 'desktop');
  try {
    const elsewhere = await other.newPage();
    const response = await elsewhere.goto(found.link);
    assert.equal(response?.status(), 403);
    assert.equal(
      squash(await elsewhere.getByRole('heading', { level: 1 }).innerText()),
      'Open the link in the browser where you asked for it',
    );
    assert.equal(await elsewhere.getByRole('button', { name: 'Continue' }).count(), 0, 'no way on from here');
  } finally {
    await other.close();
  }
});

test('opening the link shows "Continue"; pressing it signs in and shows the coming sessions', async (t) => {
  if (needs(t, 'asked')) return;
  const shown = await page.goto(found.link);
  assert.match(await h1(), /^Sign in to /);
  await assertGoodPage('03-continue', 'the "Continue" page', shown);
  // Opening it again (as a mail scanner would) changes nothing.
  await page.reload();
  assert.match(await h1(), /^Sign in to /, 'the link still works after being opened twice');

  const home = await submitAndWait(page, page.getByRole('button', { name: 'Continue' }));
  assert.equal(pathOf(page.url()), '/portal', `Continue should sign in and land on /portal (${redirectChain(home).join(' -> ')})`);
  assert.equal(await h1(), 'Your sessions');
  const first = page.locator('.session-list > li').first();
  assert.equal(squash(await first.getByRole('heading', { level: 2 }).innerText()), MOVED.when, 'the soonest session first');
  const text = squash(await first.innerText());
  assert.match(text, /Where Chancery Lane, /, `the place should be given: ${text}`);
  assert.match(text, /Session Session \d+ of 12/, `"Session N of 12" should be given: ${text}`);
  const links = (await first.getByRole('link').allInnerTexts()).map(squash);
  assert.ok(
    await page.getByRole('link', { name: `Add the session on ${MOVED.when} to your calendar`, exact: true }).isVisible(),
    `the session should offer "Add to your calendar"; its links are ${JSON.stringify(links)}`,
  );
  assert.ok(await page.getByRole('heading', { level: 2, name: 'Your data' }).isVisible(), 'a "Your data" section');
  await assertGoodPage('04-your-sessions', 'the portal home', home);
  done.add('signed in');
});

test('cancelling a session six hours away explains the £75 charge before it is confirmed', async (t) => {
  if (needs(t, 'signed in') || needs(t, 'moved')) return;
  const asked = await submitAndWait(page, page.getByRole('link', { name: `Cancel this session on ${MOVED.when}`, exact: true }));
  assert.equal(await h1(), `Cancel your session on ${MOVED.when}?`);
  assert.equal(squash(await page.locator('.cancel-outcome').innerText()), LATE);
  assert.match(squash(await page.locator('.cancel-outcome + .hint').innerText()), RULE);
  await assertGoodPage('05-cancel-late', 'the cancel page', asked);

  const cancelled = await submitAndWait(page, page.getByRole('button', { name: 'Cancel it and accept the charge' }));
  assert.equal(pathOf(page.url()), '/portal');
  assert.equal(
    squash(await page.getByRole('status').innerText()),
    `Your session on ${MOVED.when} has been cancelled. We have emailed you to confirm it.`,
  );
  const first = squash(await page.locator('.session-list > li').first().innerText());
  assert.match(first, /Status Cancelled \(charge: £75\)/, `the session should show as cancelled with its charge: ${first}`);
  await assertGoodPage('06-cancelled', 'the portal after cancelling', cancelled);

  const confirmation = await sink.waitFor((m) => m.to.includes(CLIENT.email) && m.subject === `Cancelled: your appointment on ${MOVED.when}`, {
    what: 'the cancellation confirmation',
  });
  assert.ok(squash(confirmation.body).includes('there is a charge of £75'), confirmation.body);
  done.add('cancelled');
});

test('"Download your data" gives the client a zip with everything held about her', async (t) => {
  if (needs(t, 'signed in')) return;
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download your data' }).click(),
  ]);
  const zip = readFileSync(await download.path());
  assert.equal(zip.subarray(0, 4).toString('hex'), '504b0304', 'the download should be a zip file');
  assert.match(download.suggestedFilename(), /^client-\d+-data-\d{4}-\d\d-\d\d\.zip$/);
  const text = zip.toString('latin1');
  assert.ok(text.includes('data.json') && text.includes('index.html'), 'the zip should hold data.json and index.html');
  assert.ok(text.includes(CLIENT.email), 'the export should hold her details');
});

test('signing out ends the session', async (t) => {
  if (needs(t, 'signed in')) return;
  const out = await submitAndWait(page, page.getByRole('button', { name: 'Sign out' }));
  assert.equal(pathOf(page.url()), '/portal/sign-in');
  assert.equal(squash(await page.getByRole('status').innerText()), 'You have signed out.');
  await assertGoodPage('07-signed-out', 'the page after signing out', out);
  await page.goto(at('/portal'));
  assert.equal(pathOf(page.url()), '/portal/sign-in', 'the portal needs signing in again');
  // The used link does not sign in again.
  const again = await page.goto(found.link);
  assert.equal(again?.status(), 410);
});
