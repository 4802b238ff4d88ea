// `anteroom demo --hosted`'s operator console at operator.localhost (issue 12), in Chromium:
//
// - The operator signs in with the demo password, sets up an authenticator app from the page
//   (the test computes the app's codes from the key shown, with the demo's clock), and sees
//   the three practices with counts, never a client's name.
// - They create a practice (first with a mistake, shown at its field), which emails its
//   therapist a link; the therapist opens it at the new practice's host, chooses a password
//   and signs in to their own back office; the link then no longer works.
// - They open the export page (a key shown once) and the close page of a practice, and
//   suspend and resume it; its website says it is paused meanwhile.
// Every console page is checked with axe, for other origins, failed loads and console errors.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  launchBrowser,
  newContext,
  pageChecker,
  submitAndWait,
  watchConsole,
  watchRequests,
} from '../support/browser.mjs';
import { freshArtifactDir } from '../support/paths.mjs';
import { DEMO_NOW, DEMO_PASSWORD, startServer } from '../support/server.mjs';
import { startSmtpSink } from '../support/smtp.mjs';

const CONSOLE = 'operator.localhost';
const OPERATOR_EMAIL = 'operator@example.com';
/** A client of the demo practice, seeded by the demo: no console page may show it. */
const DEMO_CLIENT_NAMES = ['Alex Carter', 'Jordan Ellis'];
const NEW = { title: 'Fernside Counselling', name: 'fernside', therapist: 'Morgan Fern', email: 'morgan@fernside.example' };
const NEW_PASSWORD = 'a kettle on the stove at dawn';

let sink;
let server;
let browser;
let context;
let page;
let requests;
let consoleErrors;
let check;
let startedAt;
const done = new Set();

before(async () => {
  sink = await startSmtpSink();
  startedAt = Date.now();
  server = await startServer({
    name: 'operator',
    extraArgs: ['--hosted', '--smtp-url', sink.url],
    readyHost: CONSOLE,
  });
  browser = await launchBrowser();
  context = await newContext(browser, 'desktop');
  requests = watchRequests(context, origin(CONSOLE));
  page = await context.newPage();
  consoleErrors = watchConsole(page);
  check = pageChecker({ page, requests, consoleErrors, shots: freshArtifactDir('screenshots', 'operator') });
});

after(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
  await sink?.close();
});

function origin(host) {
  return `http://${host}:${server.port}`;
}
const at = (path) => new URL(path, origin(CONSOLE)).href;

function needs(t, step) {
  if (done.has(step)) return false;
  t.skip(`needs "${step}", which did not pass`);
  return true;
}

/** The demo's clock now: it started at DEMO_NOW when the server started, and runs on. */
function demoNow() {
  return Date.parse(DEMO_NOW) + (Date.now() - startedAt);
}

/** RFC 6238: the 6-digit code for a base32 key at `ms` (SHA-1, 30-second steps). */
function totp(base32, ms) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/\s+/g, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 1000 / 30)));
  const hmac = createHmac('sha1', key).update(counter).digest();
  const offset = hmac[hmac.length - 1] & 0xf;
  const value = (hmac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, '0');
}

let appKey = '';

test('the operator signs in with their password and sets up an authenticator app', async () => {
  let response = await page.goto(at('/'));
  assert.equal(new URL(page.url()).pathname, '/sign-in');
  await check('sign-in', 'the console sign-in page', response);
  await page.getByLabel('Email address').fill(OPERATOR_EMAIL);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  response = await submitAndWait(page, page.getByRole('button', { name: 'Continue' }));
  assert.equal(new URL(page.url()).pathname, '/sign-in/set-up');
  await check('set-up', 'setting up an authenticator app', response);
  appKey = (await page.locator('code.secret-key').textContent()).trim();
  await page.getByLabel('Enter the 6-digit code your app shows').fill(totp(appKey, demoNow()));
  response = await submitAndWait(page, page.getByRole('button', { name: 'Turn on and sign in' }));
  assert.equal(new URL(page.url()).pathname, '/');
  await check('practices', 'the list of practices', response);
  const text = await page.locator('main').innerText();
  for (const name of ['Adeyemi-Holt Psychotherapy', 'Willow Counselling', 'Harbour Couples Therapy']) {
    assert.ok(text.includes(name), `${name} is listed`);
  }
  for (const client of DEMO_CLIENT_NAMES) assert.ok(!text.includes(client), `no client (${client}) is shown`);
  done.add('signed in');
});

test('a new practice, and its therapist chooses their password from the emailed link', async (t) => {
  if (needs(t, 'signed in')) return;
  let response = await page.goto(at('/practices/new'));
  await check('new', 'the new practice form', response);
  await page.getByLabel('Practice name').fill(NEW.title);
  await page.getByLabel('Web address').fill('Not valid!');
  await page.getByLabel("Therapist's full name").fill(NEW.therapist);
  await page.getByLabel("Therapist's email address").fill(NEW.email);
  response = await submitAndWait(page, page.getByRole('button', { name: /Create the practice/ }));
  await check('new-error', 'the new practice form with a mistake', response, 422);
  assert.match(await page.title(), /^Error: /);
  await page.getByLabel('Web address').fill(NEW.name);
  response = await submitAndWait(page, page.getByRole('button', { name: /Create the practice/ }));
  await check('created', 'the new practice', response);
  assert.ok((await page.locator('main').innerText()).includes('emailed a link'));

  const email = await sink.waitFor((m) => m.to.includes(NEW.email), { timeoutMs: 15_000 });
  const link = /http:\/\/fernside\.localhost:\d+\/office\/password\/[0-9a-f]{64}/.exec(email.body)?.[0];
  assert.ok(link, `a link in the email: ${email.body}`);
  const therapist = await newContext(browser, 'desktop');
  try {
    const theirs = await therapist.newPage();
    const theirRequests = watchRequests(therapist, origin('fernside.localhost'));
    const theirCheck = pageChecker({ page: theirs, requests: theirRequests, consoleErrors: watchConsole(theirs), shots: freshArtifactDir('screenshots', 'operator-therapist') });
    response = await theirs.goto(link);
    await theirCheck('password', 'choosing a password', response);
    await theirs.getByLabel('New password').fill(NEW_PASSWORD);
    await theirs.getByLabel('Type it again').fill(NEW_PASSWORD);
    response = await submitAndWait(theirs, theirs.getByRole('button', { name: 'Set my password' }));
    await theirCheck('password-set', 'the password is set', response);
    await theirs.getByRole('link', { name: 'Sign in' }).last().click();
    await theirs.getByLabel('Email address').fill(NEW.email);
    await theirs.getByLabel('Password').fill(NEW_PASSWORD);
    await submitAndWait(theirs, theirs.getByRole('button', { name: 'Sign in' }));
    assert.equal(new URL(theirs.url()).pathname, '/office');
    assert.ok((await theirs.title()).includes(NEW.title), await theirs.title());
    response = await theirs.goto(link);
    await theirCheck('password-gone', 'the used link', response, 404);
  } finally {
    await therapist.close();
  }
});

test('export, close, suspend and resume pages', async (t) => {
  if (needs(t, 'signed in')) return;
  await page.goto(at('/'));
  await page.getByRole('link', { name: 'Willow Counselling' }).click();
  await page.waitForLoadState('load');
  const practicePath = new URL(page.url()).pathname;
  let response = await page.goto(at(`${practicePath}/export`));
  await check('export', 'the export page', response);
  response = await page.goto(at(`${practicePath}/close`));
  await check('close-active', 'closing an active practice', response);
  assert.ok((await page.locator('main').innerText()).includes('suspend it first'));

  response = await page.goto(at(practicePath));
  await check('practice', "a practice's page", response);
  response = await submitAndWait(page, page.getByRole('button', { name: 'Suspend the practice' }));
  await check('suspended', 'the practice suspended', response);
  // A visitor elsewhere (the console's checks watch only the operator's own browser).
  const visitor = await newContext(browser, 'phone');
  const site = await visitor.newPage();
  const paused = await site.goto(origin('willow.localhost'));
  assert.equal(paused.status(), 503);
  assert.ok((await site.locator('h1').innerText()).includes('paused'));
  response = await page.goto(at(`${practicePath}/close`));
  await check('close', 'closing a suspended practice', response);
  response = await page.goto(at(practicePath));
  response = await submitAndWait(page, page.getByRole('button', { name: 'Resume the practice' }));
  await check('resumed', 'the practice resumed', response);
  const back = await site.goto(origin('willow.localhost'));
  assert.equal(back.status(), 200);
  await visitor.close();
});
