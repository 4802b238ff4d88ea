// `anteroom demo --hosted`: three fictional practices on one process, each found by the
// request's Host (Chromium resolves every NAME.localhost to 127.0.0.1 by itself).
//
// - A visitor on a phone asks for a first appointment at willow.localhost (Willow Counselling
//   books "on request": the counsellor confirms, so the last page says "Request sent"), with
//   axe, the urgent-help block and the privacy checks on every page, never leaving that host.
// - The therapist of harbour.localhost signs in and sees Harbour's back office; that session
//   cookie does not open adeyemi-holt.localhost's back office, and Harbour's email and
//   password do not sign in there (the account belongs to another practice).
// - nobody.localhost answers 404 "There is no practice at this address.", naming no practice.
//
// The demo clock is Thursday 25 March 2027, 09:00 UTC. Willow asks for 48 hours' notice and
// opens Chapel Allerton on Mondays from 10:00, so the first time offered there is Monday
// 29 March at 10am (British Summer Time, 09:00 UTC: the clocks go forward on the 28th).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertNoProblems,
  axeViolations,
  crisisBlockProblems,
  launchBrowser,
  newContext,
  pageChecker,
  redirectChain,
  submitAndWait,
  watchConsole,
  watchRequests,
} from '../support/browser.mjs';
import { freshArtifactDir } from '../support/paths.mjs';
import { DEMO_EMAIL, DEMO_PASSWORD, startServer } from '../support/server.mjs';

const PRACTICES = {
  demo: { host: 'adeyemi-holt.localhost', name: 'Adeyemi-Holt Psychotherapy', email: DEMO_EMAIL },
  willow: { host: 'willow.localhost', name: 'Willow Counselling', email: 'therapist@willow.example.com' },
  harbour: { host: 'harbour.localhost', name: 'Harbour Couples Therapy', email: 'therapist@harbour.example.com' },
};
const NOBODY = 'nobody.localhost';
const NO_PRACTICE = 'There is no practice at this address.';
const VISITOR = { name: 'Robin Request', email: 'robin.request@example.com' };
/** The first time Willow offers at Chapel Allerton: Monday 29 March 2027, 10am BST. */
const FIRST = {
  day: 'Monday 29 March',
  time: '10am',
  long: 'Monday 29 March 2027 at 10am',
  startUtc: '2027-03-29T09:00:00Z',
};
const TIMES_PATH = '/book/times?location=chapel-allerton';
const BAD_SIGN_IN = 'The email address or password is not right';

let server;
let browser;
let visitor; // the visitor's phone; must never hold a cookie
let page;
let requests;
let consoleErrors;
let shots;
const setCookies = []; // every Set-Cookie header any response to the visitor carried
const pendingHeaderReads = [];
const visited = []; // every main-frame URL the visitor's browser went to
const foreignSeen = [];
const done = new Set(); // steps that passed, so later steps can skip with a clear reason
let harbourSession = []; // the Harbour therapist's cookies after signing in

before(async () => {
  server = await startServer({ name: 'hosted', extraArgs: ['--hosted'], readyHost: PRACTICES.willow.host });
  browser = await launchBrowser();
  visitor = await newContext(browser, 'phone');
  requests = watchRequests(visitor, origin('willow'));
  visitor.on('response', (response) => {
    pendingHeaderReads.push(
      response
        .headerValue('set-cookie')
        .then((value) => {
          if (value) setCookies.push(`${response.request().method()} ${response.url()}: Set-Cookie: ${value}`);
        })
        .catch(() => {}),
    );
  });
  visitor.on('request', (request) => {
    if (request.isNavigationRequest()) visited.push(request.url());
  });
  page = await visitor.newPage();
  consoleErrors = watchConsole(page);
  shots = freshArtifactDir('screenshots', 'hosted');
});

after(async () => {
  await visitor?.close();
  await browser?.close();
  await server?.stop();
});

/** http://<practice's host>:<port>, e.g. origin('willow'); a bare host name works too. */
function origin(practiceOrHost) {
  const host = PRACTICES[practiceOrHost]?.host ?? practiceOrHost;
  return `http://${host}:${server.port}`;
}
const at = (practice, path) => new URL(path, origin(practice)).href;
const pathAndQuery = (url) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

function needs(t, step) {
  if (done.has(step)) return false;
  t.skip(`needs "${step}", which did not pass`);
  return true;
}

async function takeSetCookies() {
  await Promise.all(pendingHeaderReads.splice(0));
  return setCookies.splice(0);
}

/**
 * A visitor page: the expected status, no axe violations, the urgent-help block, nothing from
 * other origins (willow.localhost:PORT is the only one), no failed sub-resources or console
 * errors, no cookie. Saves artifacts/screenshots/hosted/<name>.png first.
 */
async function assertGoodPage(name, what, response, expectedStatus = 200) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const problems = [];
  if (!response) problems.push('no response');
  else if (response.status() !== expectedStatus) {
    problems.push(`status ${response.status()} at ${response.url()}, expected ${expectedStatus}`);
  }
  if (new URL(page.url()).host !== new URL(origin('willow')).host) problems.push(`the page is not on ${PRACTICES.willow.host}`);
  problems.push(...(await axeViolations(page)));
  problems.push(...(await crisisBlockProblems(page)));
  const { foreign, failed } = requests.take();
  foreignSeen.push(...foreign);
  problems.push(...foreign.map((url) => `request to another origin: ${url}`));
  problems.push(...failed.map((r) => `a resource failed to load: ${r}`));
  problems.push(...consoleErrors.take());
  problems.push(...(await takeSetCookies()).map((header) => `a cookie was set: ${header}`));
  problems.push(...(await visitor.cookies()).map((c) => `the browser holds a cookie: ${c.name} (domain ${c.domain})`));
  assertNoProblems(problems, `${what} (${page.url()})`);
}

/** The text a sighted visitor sees in an element (visually hidden parts left out). */
function visibleText(locator) {
  return locator.evaluate((element) => {
    const copy = element.cloneNode(true);
    for (const hidden of copy.querySelectorAll('.visually-hidden')) hidden.remove();
    return copy.textContent.replace(/\s+/g, ' ').trim();
  });
}

/** The text of a summary-list row (<dt>label</dt><dd>value</dd>). */
async function summaryValue(label) {
  const dd = page.locator('dl.summary-list > div').filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('dd');
  assert.equal(await dd.count(), 1, `the summary should have one "${label}" row`);
  return (await dd.innerText()).trim();
}

// --- A visitor asks Willow Counselling for a first appointment, on a phone --------------

test('willow.localhost shows Willow Counselling\'s home page', async () => {
  const response = await page.goto(at('willow', '/'));
  assert.equal(response?.status(), 200, `GET ${at('willow', '/')} should answer 200`);
  assert.match(await page.title(), /Willow Counselling/, 'the home page title should name Willow Counselling');
  const text = await page.locator('body').innerText();
  assert.ok(text.includes('Ruth Hallam'), 'the home page should introduce Ruth Hallam');
  for (const other of [PRACTICES.demo.name, PRACTICES.harbour.name]) {
    assert.ok(!text.includes(other), `Willow's home page should not mention another practice, "${other}"`);
  }
  done.add('home');
  await assertGoodPage('01-willow-home', 'Willow\'s home page', response);
});

test('"Book a first consultation" asks how the visitor would like to meet', async (t) => {
  if (needs(t, 'home')) return;
  const response = await submitAndWait(page, page.getByRole('link', { name: 'Book a first consultation', exact: true }));
  assert.equal(pathAndQuery(page.url()), '/book', 'the home page\'s button should lead to /book');
  const group = page.getByRole('group', { name: 'How would you like to meet?' });
  assert.equal(await group.count(), 1, 'there should be one radio group "How would you like to meet?"');
  const radios = await group.getByRole('radio').evaluateAll((inputs) => inputs.map((i) => i.labels?.[0]?.textContent.replace(/\s+/g, ' ').trim() ?? ''));
  for (const label of ['In person in Chapel Allerton', 'Online, by video']) {
    assert.equal(await group.getByRole('radio', { name: label, exact: true }).count(), 1, `there should be a radio "${label}" (radios: ${JSON.stringify(radios)})`);
  }
  assert.equal(await group.getByRole('radio').count(), 2, `Willow has two ways to meet; radios: ${JSON.stringify(radios)}`);
  done.add('location');
  await assertGoodPage('02-willow-location', 'Willow\'s "How would you like to meet?" page', response);
});

test('Chapel Allerton\'s first time is Monday 29 March at 10am (48 hours\' notice)', async (t) => {
  if (needs(t, 'location')) return;
  await page.getByRole('radio', { name: 'In person in Chapel Allerton', exact: true }).check();
  const response = await submitAndWait(page, page.getByRole('button', { name: 'Continue' }));
  assert.equal(pathAndQuery(page.url()), TIMES_PATH, `"Continue" should lead to ${TIMES_PATH}`);
  const days = await page.locator('h2.slot-day').allInnerTexts();
  assert.equal(days[0], FIRST.day, `the first day offered should be ${FIRST.day} (days: ${days.join(', ') || 'none'})`);
  const first = page.locator('a.slot').first();
  assert.equal(await visibleText(first), FIRST.time, `the first time should show "${FIRST.time}"`);
  const href = new URL(await first.getAttribute('href'), page.url());
  assert.equal(href.host, new URL(origin('willow')).host, 'the slot should link within willow.localhost');
  assert.equal(href.pathname, '/book/details', 'the slot should link to /book/details');
  assert.equal(href.searchParams.get('start'), FIRST.startUtc, `10am BST on ${FIRST.day} is ${FIRST.startUtc}`);
  assert.equal(await page.getByRole('link', { name: `${FIRST.day}, ${FIRST.time}`, exact: true }).count(), 1, 'the slot\'s accessible name should carry the day');
  done.add('times');
  await assertGoodPage('03-willow-times', 'Willow\'s Chapel Allerton times', response);
});

test('choosing the time and giving details leads to "Check your booking"', async (t) => {
  if (needs(t, 'times')) return;
  const details = await submitAndWait(page, page.getByRole('link', { name: `${FIRST.day}, ${FIRST.time}`, exact: true }));
  assert.equal(new URL(page.url()).pathname, '/book/details', 'the slot should lead to /book/details');
  assert.ok(await page.getByRole('heading', { level: 1, name: 'Your details' }).isVisible(), 'the details page h1 should be "Your details"');
  assert.match(await page.locator('main').innerText(), new RegExp(FIRST.long), `the details page should say "${FIRST.long}"`);
  await assertGoodPage('04-willow-details', 'Willow\'s details page', details);

  await page.getByLabel('Your name', { exact: true }).fill(VISITOR.name);
  await page.getByLabel('Email address', { exact: true }).fill(VISITOR.email);
  await page
    .getByRole('group', { name: 'If I need to contact you before we meet, how should I?' })
    .getByRole('radio', { name: 'Email', exact: true })
    .check();
  await page.getByLabel(/^I agree/).check();
  const response = await submitAndWait(page, page.getByRole('button', { name: 'Continue' }));
  assert.equal(response.status(), 200, `valid details should be answered 200, got ${response.status()} at ${response.url()}`);
  assert.ok(await page.getByRole('heading', { level: 1, name: 'Check your booking' }).isVisible(), 'the h1 should be "Check your booking"');
  assert.equal(await summaryValue('When'), FIRST.long, `the check page should say when: "${FIRST.long}"`);
  assert.match(await summaryValue('Where'), /Chapel Allerton/, 'the check page should say where: Chapel Allerton');
  assert.match(await summaryValue('Fee'), /^£40(\.00)?$/, 'Willow\'s first appointment costs £40');
  assert.equal(await summaryValue('Name'), VISITOR.name, 'the check page should show the name');
  // Booking "on request": the page says so, and the button sends a request.
  assert.match(await page.locator('main').innerText(), /This sends a request\. I will confirm it by email/, 'the check page should explain that this sends a request');
  assert.equal(await page.getByRole('button', { name: 'Send booking request', exact: true }).count(), 1, 'the button should say "Send booking request"');
  assert.equal(await page.getByRole('button', { name: 'Confirm booking' }).count(), 0, 'there should be no "Confirm booking" button for a practice that books on request');
  done.add('check');
  await assertGoodPage('05-willow-check', 'Willow\'s check page', response);
});

test('sending the request shows "Request sent", held until the counsellor confirms it', async (t) => {
  if (needs(t, 'check')) return;
  const response = await submitAndWait(page, page.getByRole('button', { name: 'Send booking request', exact: true }));
  const chain = redirectChain(response);
  assert.match(chain[0] ?? '', /^POST http:\/\/willow\.localhost:\d+\/book\/confirm$/, `the request should POST willow.localhost/book/confirm (${chain.join(' -> ')})`);
  const url = new URL(page.url());
  assert.match(url.pathname, /^\/booking\/[0-9a-f]{64}$/, `after sending, the visitor should be at /booking/<token>; at ${page.url()} (${chain.join(' -> ')})`);
  assert.equal(url.search, '?new=1', 'the first view of the booking page should carry ?new=1');
  const h1 = page.getByRole('heading', { level: 1 });
  assert.equal((await h1.innerText()).trim(), 'Request sent', 'the page should say "Request sent", not "Consultation booked"');
  assert.equal(await page.getByRole('heading', { name: 'Consultation booked' }).count(), 0, 'a request should not be called booked');
  const main = await page.locator('main').innerText();
  assert.match(main, /I will confirm your request by email, usually within a day\. Until then the time is held for you\./, 'the page should say the counsellor will confirm the request');
  assert.equal(await summaryValue('When'), FIRST.long, `the request's "When" should be "${FIRST.long}"`);
  const status = await summaryValue('Status');
  t.diagnostic(`the request's status reads "${status}"`);
  assert.doesNotMatch(status, /^(Booked|Confirmed)$/i, `the status of a request should not read as booked: "${status}"`);
  assert.match(main, /The Coach House, 6 Moorcroft Yard/, 'the next steps should give Willow\'s address');
  done.add('requested');
  await assertGoodPage('06-willow-request-sent', 'Willow\'s "Request sent" page', response);
});

test('the visitor stayed on willow.localhost, without cookies or other sites', async () => {
  const { foreign } = requests.take();
  foreignSeen.push(...foreign);
  const willowHost = new URL(origin('willow')).host;
  const problems = [
    ...visited.filter((url) => new URL(url).host !== willowHost).map((url) => `the browser went to another host: ${url}`),
    ...foreignSeen.map((url) => `request to another origin: ${url}`),
    ...(await takeSetCookies()).map((header) => `a cookie was set: ${header}`),
    ...(await visitor.cookies()).map((c) => `the browser holds a cookie: ${c.name} (domain ${c.domain})`),
  ];
  assert.ok(visited.length >= 6, `the visit should have gone through at least six pages; saw ${visited.length}`);
  assertNoProblems(problems, 'privacy and hosts over the whole visit');
});

// --- Harbour's therapist, and the wall between practices ---------------------------------

test('Harbour\'s therapist signs in at harbour.localhost and sees Harbour\'s back office', async () => {
  const context = await newContext(browser, 'desktop');
  try {
    const officePage = await context.newPage();
    const check = pageChecker({ page: officePage, requests: watchRequests(context, origin('harbour')), consoleErrors: watchConsole(officePage), shots });
    const signIn = await officePage.goto(at('harbour', '/office/sign-in'));
    assert.match(await officePage.locator('.brand').innerText(), new RegExp(PRACTICES.harbour.name), 'the sign-in page should name Harbour');
    await check('10-harbour-sign-in', 'Harbour\'s sign-in page', signIn);

    await officePage.getByLabel('Email address').fill(PRACTICES.harbour.email);
    await officePage.getByLabel('Password', { exact: true }).fill(DEMO_PASSWORD);
    const landed = await submitAndWait(officePage, officePage.getByRole('button', { name: 'Sign in' }));
    const chain = redirectChain(landed).join(' -> ');
    assert.equal(new URL(officePage.url()).host, new URL(origin('harbour')).host, `signing in should stay on harbour.localhost (${chain})`);
    assert.equal(new URL(officePage.url()).pathname, '/office', `signing in should land on /office (${chain})`);
    assert.match(await officePage.getByRole('heading', { level: 1 }).innerText(), /Today/, 'the dashboard h1 should say "Today"');
    assert.match(await officePage.locator('.brand').innerText(), new RegExp(PRACTICES.harbour.name), 'the dashboard should name Harbour Couples Therapy');
    assert.match(await officePage.title(), new RegExp(PRACTICES.harbour.name), 'the dashboard\'s title should name Harbour Couples Therapy');
    const text = await officePage.locator('body').innerText();
    for (const other of [PRACTICES.demo.name, PRACTICES.willow.name]) {
      assert.ok(!text.includes(other), `Harbour's dashboard should not mention another practice, "${other}"`);
    }
    await check('11-harbour-dashboard', 'Harbour\'s dashboard', landed);

    harbourSession = await context.cookies();
    assert.ok(harbourSession.length >= 1, 'signing in should set a session cookie');
    for (const cookie of harbourSession) {
      assert.equal(cookie.domain, PRACTICES.harbour.host, `the cookie ${cookie.name} should belong to harbour.localhost only (no Domain attribute)`);
      assert.ok(cookie.httpOnly, `the cookie ${cookie.name} should be HttpOnly`);
    }
    done.add('harbour');
  } finally {
    await context.close();
  }
});

test('Harbour\'s session cookie does not open adeyemi-holt.localhost\'s back office', async (t) => {
  if (needs(t, 'harbour')) return;
  const context = await newContext(browser, 'desktop');
  try {
    // The browser would never send it there; hand it over as if it did.
    const demoOrigin = origin('demo');
    await context.addCookies(harbourSession.map(({ name, value, httpOnly, sameSite }) => ({ name, value, url: demoOrigin, httpOnly, sameSite })));
    const officePage = await context.newPage();
    const response = await officePage.goto(at('demo', '/office'));
    const chain = redirectChain(response).join(' -> ');
    await officePage.screenshot({ path: join(shots, '12-demo-office-with-harbour-cookie.png'), fullPage: true });
    t.diagnostic(`GET adeyemi-holt.localhost/office with Harbour's cookie: ${response?.status()} (${chain})`);
    const refused = response.status() >= 400;
    const toSignIn = new URL(officePage.url()).pathname === '/office/sign-in';
    assert.ok(refused || toSignIn, `the request should be refused or sent to sign in; it answered ${response.status()} at ${officePage.url()} (${chain})`);
    assert.equal(new URL(officePage.url()).host, new URL(demoOrigin).host, 'it should stay on adeyemi-holt.localhost');
    assert.equal(await officePage.getByRole('heading', { level: 1, name: /Today/ }).count(), 0, 'the Adeyemi-Holt dashboard should not be shown');
    assert.equal(await officePage.getByRole('button', { name: 'Sign out' }).count(), 0, 'nobody should appear signed in');
  } finally {
    await context.close();
  }
});

test('Harbour\'s email and password do not sign in at adeyemi-holt.localhost', async () => {
  const context = await newContext(browser, 'desktop');
  try {
    const officePage = await context.newPage();
    const check = pageChecker({ page: officePage, requests: watchRequests(context, origin('demo')), consoleErrors: watchConsole(officePage), shots });
    await officePage.goto(at('demo', '/office/sign-in'));
    assert.match(await officePage.locator('.brand').innerText(), new RegExp(PRACTICES.demo.name), 'the sign-in page should name Adeyemi-Holt Psychotherapy');
    await officePage.getByLabel('Email address').fill(PRACTICES.harbour.email);
    await officePage.getByLabel('Password', { exact: true }).fill(DEMO_PASSWORD);
    const answered = await submitAndWait(officePage, officePage.getByRole('button', { name: 'Sign in' }));
    const chain = redirectChain(answered).join(' -> ');
    assert.ok(answered.status() >= 400, `signing in with another practice's account should fail; it answered ${answered.status()} (${chain})`);
    assert.equal(new URL(officePage.url()).pathname, '/office/sign-in', `it should stay on the sign-in page (${chain})`);
    assert.match(await officePage.title(), /^Error: /, 'the title should start with "Error: "');
    assert.match(await officePage.locator('main').innerText(), new RegExp(BAD_SIGN_IN), `the page should say "${BAD_SIGN_IN}"`);
    assert.equal(await officePage.getByLabel('Email address').inputValue(), PRACTICES.harbour.email, 'the email address should be kept');
    assert.deepEqual((await context.cookies()).map((c) => c.name).filter((n) => /session/i.test(n)), [], 'no session cookie should be set');
    await check('13-demo-sign-in-harbour-account', 'Adeyemi-Holt\'s sign-in refusing Harbour\'s account', answered, answered.status());

    // The same form takes the demo practice's own account, so the refusal is about the practice.
    await officePage.getByLabel('Email address').fill(PRACTICES.demo.email);
    await officePage.getByLabel('Password', { exact: true }).fill(DEMO_PASSWORD);
    const own = await submitAndWait(officePage, officePage.getByRole('button', { name: 'Sign in' }));
    assert.equal(new URL(officePage.url()).pathname, '/office', `the demo practice's own account should sign in there (${redirectChain(own).join(' -> ')})`);
    assert.match(await officePage.locator('.brand').innerText(), new RegExp(PRACTICES.demo.name), 'its dashboard should name Adeyemi-Holt Psychotherapy');
    await check('14-demo-dashboard', 'Adeyemi-Holt\'s dashboard', own);
  } finally {
    await context.close();
  }
});

// --- No practice ------------------------------------------------------------------------

test('nobody.localhost answers 404 "There is no practice at this address."', async () => {
  const context = await newContext(browser, 'phone');
  try {
    const otherPage = await context.newPage();
    const response = await otherPage.goto(at(NOBODY, '/'));
    await otherPage.screenshot({ path: join(shots, '20-nobody.png'), fullPage: true });
    assert.equal(response?.status(), 404, `GET ${at(NOBODY, '/')} should answer 404`);
    assert.match(response.headers()['content-type'] ?? '', /^text\/plain/, 'the answer should be plain text');
    const body = await response.text();
    assert.equal(body.trim(), NO_PRACTICE, `the body should be exactly "${NO_PRACTICE}"`);
    for (const practice of Object.values(PRACTICES)) {
      assert.ok(!body.includes(practice.name), `the answer should not name ${practice.name}`);
    }
    assert.deepEqual(await context.cookies(), [], 'no cookie should be set');

    const deeper = await otherPage.goto(at(NOBODY, '/office/sign-in'));
    assert.equal(deeper?.status(), 404, 'another path on nobody.localhost should answer 404 as well');
    assert.equal((await deeper.text()).trim(), NO_PRACTICE, 'with the same text');
  } finally {
    await context.close();
  }
});
