// `anteroom demo --hosted`'s directory at find.localhost (issue 13), in Chromium on a phone:
//
// - Someone searches for help with anxiety, online, with a first consultation free within
//   14 days; every directory page is axe-clean, has the urgent-help block, sets no cookie
//   and asks nothing of another origin.
// - A mistake in the search (a fee that is not an amount) is shown at its field.
// - They open a listing (with its schema.org data), then book a first consultation at that
//   practice: the booking happens on the practice's own site.
// - "How listings are ordered" states the rule and today's seed.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertNoProblems,
  axeViolations,
  crisisBlockProblems,
  launchBrowser,
  newContext,
  submitAndWait,
  watchConsole,
  watchRequests,
} from '../support/browser.mjs';
import { freshArtifactDir } from '../support/paths.mjs';
import { startServer } from '../support/server.mjs';

const FIND = 'find.localhost';
const VISITOR = { name: 'Robin Finder', email: 'robin.finder@example.com' };

let server;
let browser;
let visitor;
let page;
let requests;
let consoleErrors;
let shots;
const setCookies = [];
const pendingHeaderReads = [];
const done = new Set();
let practiceOrigin;

before(async () => {
  server = await startServer({ name: 'directory', extraArgs: ['--hosted'], readyHost: FIND });
  browser = await launchBrowser();
  visitor = await newContext(browser, 'phone');
  requests = watchRequests(visitor, origin(FIND));
  visitor.on('response', (response) => {
    pendingHeaderReads.push(
      response
        .headerValue('set-cookie')
        .then((value) => {
          if (value) setCookies.push(`${response.url()}: Set-Cookie: ${value}`);
        })
        .catch(() => {}),
    );
  });
  page = await visitor.newPage();
  consoleErrors = watchConsole(page);
  shots = freshArtifactDir('screenshots', 'directory');
});

after(async () => {
  await visitor?.close();
  await browser?.close();
  await server?.stop();
});

function origin(host) {
  return `http://${host}:${server.port}`;
}
const at = (path) => new URL(path, origin(FIND)).href;

function needs(t, step) {
  if (done.has(step)) return false;
  t.skip(`needs "${step}", which did not pass`);
  return true;
}

/** A directory page: its status, axe, the urgent-help block, no other origin, no cookie. */
async function assertGoodPage(name, what, response, expectedStatus = 200) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const problems = [];
  if (!response) problems.push('no response');
  else if (response.status() !== expectedStatus) problems.push(`status ${response.status()}, expected ${expectedStatus}`);
  problems.push(...(await axeViolations(page)));
  problems.push(...(await crisisBlockProblems(page)));
  const { foreign, failed } = requests.take();
  problems.push(...foreign.map((url) => `request to another origin: ${url}`));
  problems.push(...failed.map((r) => `a resource failed to load: ${r}`));
  problems.push(...consoleErrors.take());
  await Promise.all(pendingHeaderReads.splice(0));
  problems.push(...setCookies.splice(0).map((h) => `a cookie was set: ${h}`));
  problems.push(...(await visitor.cookies()).map((c) => `the browser holds a cookie: ${c.name}`));
  assertNoProblems(problems, `${what} (${page.url()})`);
}

test('the directory\'s search page lists the demo\'s practices', async () => {
  const response = await page.goto(at('/'));
  assert.match(await page.title(), /Find a counsellor or psychotherapist/);
  const heading = await page.locator('#results-heading').innerText();
  const total = Number(heading.match(/(\d+) therapists/)?.[1]);
  assert.ok(total >= 30, `30 or more practices are listed (heading: ${heading})`);
  done.add('home');
  await assertGoodPage('01-search', 'the directory\'s search page', response);
});

test('a fee that is not an amount is shown at its field', async (t) => {
  if (needs(t, 'home')) return;
  await page.getByLabel('Most you can pay a session, in pounds').fill('lots');
  const response = await submitAndWait(page, page.getByRole('button', { name: 'Search' }));
  assert.match(await page.title(), /^Error: /);
  assert.ok(await page.locator('.error-summary').isVisible(), 'an error summary');
  assert.match(await page.locator('#fee-error').innerText(), /Enter the most you can pay a session in pounds/);
  await assertGoodPage('02-search-error', 'a search with a mistake', response, 422);
  await page.getByLabel('Most you can pay a session, in pounds').fill('');
  done.add('error');
});

test('searching for help with anxiety, online, free within 14 days', async (t) => {
  if (needs(t, 'error')) return;
  await page.locator('summary', { hasText: 'What would you like help with?' }).click();
  await page.getByRole('checkbox', { name: 'Anxiety and worry' }).check();
  await page.getByRole('radio', { name: 'Online', exact: true }).check();
  await page.getByLabel('First consultation free').selectOption('14');
  const response = await submitAndWait(page, page.getByRole('button', { name: 'Search' }));
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('help'), 'anxiety');
  assert.equal(url.searchParams.get('within'), '14');
  const results = page.locator('ol.results > li');
  const count = await results.count();
  assert.ok(count >= 1, 'at least one result');
  for (let i = 0; i < count; i += 1) {
    const text = await results.nth(i).innerText();
    assert.match(text, /Next free: /, `result ${i + 1} has a consultation free soon: ${text}`);
  }
  done.add('search');
  await assertGoodPage('03-results', 'the results', response);
});

test('a listing shows the practice in full, with schema.org data', async (t) => {
  if (needs(t, 'search')) return;
  const first = page.locator('ol.results > li').first().locator('h3 a');
  const name = (await first.innerText()).trim();
  const response = await submitAndWait(page, first);
  assert.match(new URL(page.url()).pathname, /^\/listings\/[0-9a-f-]{36}$/);
  assert.match(await page.locator('main').innerText(), new RegExp(name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  const ld = JSON.parse(await page.locator('script[type="application/ld+json"]').textContent());
  assert.equal(ld['@type'], 'MedicalClinic');
  assert.equal(ld.isAcceptingNewPatients, true);
  done.add('listing');
  await assertGoodPage('04-listing', 'a listing', response);
});

test('"Book a first consultation" books at the practice\'s own site', async (t) => {
  if (needs(t, 'listing')) return;
  const link = page.getByRole('link', { name: 'Book a first consultation' }).first();
  practiceOrigin = new URL(await link.getAttribute('href')).origin;
  assert.notEqual(practiceOrigin, origin(FIND), 'booking is on the practice\'s site');
  await submitAndWait(page, link);
  assert.equal(new URL(page.url()).pathname, '/book');
  requests.take();
  const radios = page.getByRole('group', { name: 'How would you like to meet?' }).getByRole('radio');
  await radios.last().check();
  await submitAndWait(page, page.getByRole('button', { name: 'Continue' }));
  await submitAndWait(page, page.locator('a.slot').first());
  await page.getByLabel('Your name', { exact: true }).fill(VISITOR.name);
  await page.getByLabel('Email address', { exact: true }).fill(VISITOR.email);
  await page
    .getByRole('group', { name: /how should I\?$/ })
    .getByRole('radio', { name: 'Email', exact: true })
    .check();
  await page.getByLabel(/^I agree/).check();
  await submitAndWait(page, page.getByRole('button', { name: 'Continue' }));
  const booked = await submitAndWait(page, page.getByRole('button', { name: 'Confirm booking' }));
  assert.equal(booked.status(), 200);
  assert.equal((await page.getByRole('heading', { level: 1 }).innerText()).trim(), 'Consultation booked');
  assert.equal(new URL(page.url()).origin, practiceOrigin);
  assert.deepEqual(await axeViolations(page), [], 'the booked page is axe-clean');
  requests.take();
  consoleErrors.take();
  done.add('booked');
});

test('"How listings are ordered" states the rule and today\'s seed', async () => {
  const response = await page.goto(at('/how-listings-are-ordered'));
  const main = await page.locator('main').innerText();
  assert.match(main, /No one can pay to be listed here/);
  assert.match(main, /20270325/, 'the demo\'s date as the seed\'s number');
  await assertGoodPage('05-ordering', 'how listings are ordered', response);
});
