// From a first consultation to an invoice: a visitor books a consultation at Balham on a
// phone; the therapist (desktop) records "Working together", agrees brief work of 12 weekly
// sessions on Fridays at 11am in Balham, adds a break that moves the planned ending a week
// later, records two late cancellations (the first free under the policy's allowance, the
// second charged, each with the rule that decided it), invoices the charge and prints the
// invoice. Every back-office page gets axe (WCAG 2.2 AA) and a screenshot.
//
// The demo clock starts at Thursday 25 March 2027, 09:00 UTC and runs on; British Summer Time
// starts on Sunday 28 March. The demo's cancellation policy (version 2) asks for 48 hours'
// notice, charges 100% and lets one late cancellation in 365 days go free. Only Friday 26
// March 11am is inside 48 hours of "now", so the second late cancellation is of session 2,
// first moved from Friday 2 April to Friday 26 March at 3pm (moving one session is something
// the therapist can do; recording "Did not attend" has to wait until a session has started).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertNoProblems,
  axeViolations,
  launchBrowser,
  newContext,
  redirectChain,
  submitAndWait,
  watchConsole,
  watchRequests,
} from '../support/browser.mjs';
import { freshArtifactDir } from '../support/paths.mjs';
import { DEMO_EMAIL, DEMO_PASSWORD, startServer } from '../support/server.mjs';

const VISITOR = { name: 'Robin Testfield', email: 'robin.testfield@example.com', initials: 'R.T.' };
/** The first time the Balham times page offers: Monday 29 March 2027, 9am BST (08:00 UTC). */
const CONSULTATION = {
  day: 'Monday 29 March',
  time: '9am',
  long: 'Monday 29 March 2027 at 9am',
  startUtc: '2027-03-29T08:00:00Z',
};
const CONTRACT = {
  focus: 'Finding a way back to sleep and to work after a bereavement in the winter.',
  sessions: '12',
  reviewsAt: '6',
  day: 'Friday',
  time: '11:00',
  place: 'Balham',
  fee: '60',
  start: '2027-03-26',
};
/** Fridays from 26 March, the Easter break (5–11 April) skipping 9 April: session 12 is 18 June. */
const ENDING_BEFORE = 'Friday 18 June 2027';
/** A break over Friday 7 May moves session 12 a week on. */
const BREAK = { label: 'A week away in May', first: '2027-05-03', last: '2027-05-09', friday: 'Friday 7 May 2027 at 11am' };
const ENDING_AFTER = 'Friday 25 June 2027';
/** Session 1, 26 hours after "now": inside the 48 hours' notice. */
const SESSION_1 = 'Friday 26 March 2027 at 11am';
/** Session 2, moved into the 48 hours so that its cancellation is late too. */
const SESSION_2 = { was: 'Friday 2 April 2027 at 11am', date: '2027-03-26', time: '15:00', when: 'Friday 26 March 2027 at 3pm' };
const FREE_RULE = 'Late cancellation: free — the one free late cancellation allowed in any 365 days (policy version 2).';
const CHARGED_RULE = /^Late cancellation: (\d+) hours' notice, less than the 48 hours the policy \(version 2\) asks for\. 100% of the £60 fee\.$/;
const BANK_DETAILS = ['Sort code 00-00-00', 'Account 00000000'];

let server;
let browser;
let office; // the therapist's desktop context
let page;
let requests;
let consoleErrors;
let shots;
const done = new Set(); // steps that passed, so later steps can skip with a clear reason
const found = { booking: null, client: null, session1: null, session2: null, invoice: null, invoiceNumber: null };

before(async () => {
  server = await startServer({ name: 'therapy' });
  browser = await launchBrowser();
  office = await newContext(browser, 'desktop');
  requests = watchRequests(office, server.origin);
  page = await office.newPage();
  consoleErrors = watchConsole(page);
  shots = freshArtifactDir('screenshots', 'therapy');
});

after(async () => {
  await office?.close();
  await browser?.close();
  await server?.stop();
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
 * A back-office page as it must be: the expected status, no "Error: " title, no axe
 * violations, nothing from other origins, no failed sub-resources or console errors.
 * Saves artifacts/screenshots/therapy/<name>.png first, so a failing page can be looked at.
 */
async function assertGoodPage(name, what, response, expectedStatus = 200) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const problems = [];
  if (!response) problems.push('no response');
  else if (response.status() !== expectedStatus) {
    problems.push(`status ${response.status()} at ${response.url()}, expected ${expectedStatus} (${redirectChain(response).join(' -> ')})`);
  }
  if (expectedStatus < 400 && /^Error: /.test(await page.title())) problems.push(`the title says there is an error: ${await page.title()}`);
  problems.push(...(await axeViolations(page)));
  const { foreign, failed } = requests.take();
  problems.push(...foreign.map((url) => `request to another origin: ${url}`));
  problems.push(...failed.map((r) => `a resource failed to load: ${r}`));
  problems.push(...consoleErrors.take());
  assertNoProblems(problems, `${what} (${page.url()})`);
}

/** The error messages a form page shows (summary and fields), for failure messages. */
async function shownErrors() {
  const texts = await page.locator('.error-summary, .error-message').allInnerTexts();
  return texts.map(squash).join(' | ') || '(none shown)';
}

/** The value of the summary-list row with this label (<dt>label</dt><dd>value</dd>). */
async function summaryValue(label, scope = page.locator('main')) {
  const dd = scope.locator('dl.summary-list > div').filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('dd');
  assert.equal(await dd.count(), 1, `the page should have one "${label}" row (${page.url()})`);
  return squash(await dd.innerText());
}

/** The rows of a client page's session table (named by its caption), as plain text. */
async function sessionRows(caption) {
  const table = page.getByRole('table', { name: caption });
  assert.equal(await table.count(), 1, `the client page should have one table "${caption}"`);
  return table.locator('tbody tr').evaluateAll((trs) =>
    trs.map((tr) => {
      const text = (el) => (el ? el.textContent.replace(/\s+/g, ' ').trim() : '');
      const cells = tr.querySelectorAll('td');
      const link = tr.querySelector('th a');
      return {
        when: text(link),
        href: link?.getAttribute('href') ?? null,
        moved: text(tr.querySelector('th .hint')) === 'Moved',
        place: text(cells[0]),
        number: text(cells[1]),
        status: text(cells[2]),
        charge: text(cells[3]?.firstChild),
        rule: text(cells[3]?.querySelector('.hint')),
      };
    }),
  );
}

/** The "Coming up" rows of the client's page, loaded afresh. */
async function clientPage() {
  const response = await page.goto(at(found.client));
  assert.equal(response?.status(), 200, `GET ${found.client} should answer 200`);
  return { response, coming: await sessionRows('The next sessions, soonest first') };
}

/** Record "The client cancelled", told now (the form's default), on the open session page. */
async function recordClientCancelled() {
  const toldDate = await page.getByLabel('Date', { exact: true }).inputValue();
  assert.equal(toldDate, '2027-03-25', 'the "when did they tell you" date should default to today, 2027-03-25');
  await page.getByRole('radio', { name: 'The client cancelled', exact: true }).check();
  const response = await submitAndWait(page, page.getByRole('button', { name: 'Save what happened' }));
  assert.equal(response.status(), 200, `saving the outcome should end on a 200 page, got ${response.status()}: ${await shownErrors()}`);
  return response;
}

// ---------------------------------------------------------------------------------------

test('a visitor on a phone books a first consultation at Balham', async () => {
  const visitor = await newContext(browser, 'phone');
  try {
    const phone = await visitor.newPage();
    await phone.goto(at('/book'));
    await phone.getByRole('radio', { name: 'In person in Balham', exact: true }).check();
    await submitAndWait(phone, phone.getByRole('button', { name: 'Continue' }));
    assert.equal(pathOf(phone.url()) + new URL(phone.url()).search, '/book/times?location=balham', '"Continue" should lead to the Balham times');

    const first = phone.locator('a.slot').first();
    assert.equal(squash(await first.innerText()), `${CONSULTATION.day}, ${CONSULTATION.time}`, `the first Balham time should be ${CONSULTATION.day} at ${CONSULTATION.time}`);
    const href = new URL(await first.getAttribute('href'), server.url);
    assert.equal(href.searchParams.get('start'), CONSULTATION.startUtc, `the first Balham time should start at ${CONSULTATION.startUtc} (9am BST)`);
    await submitAndWait(phone, first);
    assert.equal(pathOf(phone.url()), '/book/details', 'the time should lead to /book/details');

    await phone.getByLabel('Your name', { exact: true }).fill(VISITOR.name);
    await phone.getByLabel('Email address', { exact: true }).fill(VISITOR.email);
    await phone
      .getByRole('group', { name: 'If I need to contact you before we meet, how should I?' })
      .getByRole('radio', { name: 'Email', exact: true })
      .check();
    await phone.getByLabel(/^I agree/).check();
    const checked = await submitAndWait(phone, phone.getByRole('button', { name: 'Continue' }));
    assert.equal(checked.status(), 200, `valid details should lead to "Check your booking", got ${checked.status()}`);
    const booked = await submitAndWait(phone, phone.getByRole('button', { name: 'Confirm booking' }));
    assert.match(pathOf(phone.url()), /^\/booking\/[0-9a-f]{64}$/, `confirming should lead to the booking's own page (${redirectChain(booked).join(' -> ')})`);
    assert.ok(await phone.getByRole('heading', { level: 1, name: 'Consultation booked' }).isVisible(), 'the page should say "Consultation booked"');
    assert.match(await phone.locator('main').innerText(), new RegExp(`${CONSULTATION.long}, in person in Balham`), `the confirmation should say "${CONSULTATION.long}, in person in Balham"`);
    await phone.screenshot({ path: join(shots, '01-visitor-booked.png'), fullPage: true });
    assertNoProblems(await axeViolations(phone), 'axe on the visitor\'s "Consultation booked" page');
    done.add('booked');
  } finally {
    await visitor.close();
  }
});

test('the therapist signs in and finds the consultation in the calendar', async (t) => {
  if (needs(t, 'booked')) return;
  await page.goto(at('/office/sign-in'));
  await page.getByLabel('Email address').fill(DEMO_EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(DEMO_PASSWORD);
  const landed = await submitAndWait(page, page.getByRole('button', { name: 'Sign in' }));
  assert.equal(pathOf(page.url()), '/office', `signing in should land on /office (${redirectChain(landed).join(' -> ')})`);
  requests.take();
  consoleErrors.take();

  const calendar = await page.goto(at('/office/calendar?view=week&date=2027-03-29'));
  const monday = page.locator('.calendar-day').filter({ has: page.locator('.calendar-date', { hasText: CONSULTATION.day }) });
  const entry = monday.locator('a.entry').filter({ hasText: VISITOR.initials });
  const entries = (await monday.locator('a.entry').allInnerTexts()).map(squash);
  assert.equal(await entry.count(), 1, `${CONSULTATION.day} should show one entry for ${VISITOR.initials}; it shows ${JSON.stringify(entries)}`);
  assert.match(squash(await entry.innerText()), /^9am–9:50am Balham Consultation, R\.T\./, 'the entry should give the time, the place and "Consultation"');
  await assertGoodPage('02-calendar', 'the calendar', calendar);

  const response = await submitAndWait(page, entry);
  assert.match(pathOf(page.url()), /^\/office\/bookings\/\d+$/, 'the entry should lead to /office/bookings/{id}');
  assert.ok(await page.getByRole('heading', { level: 1, name: `Consultation with ${VISITOR.name}` }).isVisible(), `the h1 should be "Consultation with ${VISITOR.name}"`);
  assert.equal(await summaryValue('When'), CONSULTATION.long, `the consultation should be ${CONSULTATION.long}`);
  assert.equal(await summaryValue('Email'), VISITOR.email, 'the consultation should show the visitor\'s email');
  found.booking = pathOf(page.url());
  done.add('consultation');
  await assertGoodPage('03-consultation', 'the consultation page', response);
});

test('"Working together" makes the visitor a client and opens the contract form', async (t) => {
  if (needs(t, 'consultation')) return;
  const outcome = await submitAndWait(page, page.getByRole('link', { name: 'Record what came of it' }));
  assert.equal(pathOf(page.url()), `${found.booking}/outcome`, 'the link should lead to …/outcome');
  assert.ok(
    await page.getByRole('heading', { level: 1, name: `What came of the consultation with ${VISITOR.name}?` }).isVisible(),
    'the h1 should ask what came of the consultation',
  );
  await assertGoodPage('04-outcome', 'the "What came of the consultation" page', outcome);

  await page.getByRole('radio', { name: 'Working together', exact: true }).check();
  const response = await submitAndWait(page, page.getByRole('button', { name: 'Record what came of it' }));
  const match = pathOf(page.url()).match(/^\/office\/clients\/(\d+)\/contract\/new$/);
  assert.ok(match, `"Working together" should lead to the new client's contract form; at ${page.url()} (${redirectChain(response).join(' -> ')}): ${await shownErrors()}`);
  found.client = `/office/clients/${match[1]}`;
  assert.ok(await page.getByRole('heading', { level: 1, name: `Agree a contract with ${VISITOR.name}` }).isVisible(), `the h1 should be "Agree a contract with ${VISITOR.name}"`);
  assert.match(
    squash(await page.locator('main .inset').last().innerText()),
    /^Cancellation policy, version 2: .*48 hours' notice.*One late cancellation in any 365 days is free of charge\.$/,
    'the form should state the cancellation policy being agreed (version 2)',
  );
  done.add('contract form');
  await assertGoodPage('05-contract-form', 'the contract form', response);
});

test('brief work of 12 weekly sessions at Balham is agreed and planned', async (t) => {
  if (needs(t, 'contract form')) return;
  await page.getByRole('radio', { name: 'Brief work', exact: true }).check();
  await page.getByLabel('The agreed focus').fill(CONTRACT.focus);
  await page.getByLabel('Number of sessions').fill(CONTRACT.sessions);
  await page.getByLabel('Review at sessions (optional)').fill(CONTRACT.reviewsAt);
  await page.getByRole('radio', { name: 'Weekly', exact: true }).check();
  await page.getByLabel('Day', { exact: true }).selectOption({ label: CONTRACT.day });
  await page.getByLabel('Time', { exact: true }).fill(CONTRACT.time);
  await page.getByLabel('Where', { exact: true }).selectOption({ label: CONTRACT.place });
  await page.getByLabel('Fee for each session, in pounds').fill(CONTRACT.fee);
  await page.getByLabel('Start date').fill(CONTRACT.start);
  const response = await submitAndWait(page, page.getByRole('button', { name: 'Agree the contract and plan the sessions' }));
  assert.equal(pathOf(page.url()), found.client, `agreeing should lead to the client's page; at ${page.url()} (status ${response.status()}): ${await shownErrors()}`);
  assert.ok(await page.getByRole('heading', { level: 1, name: VISITOR.name }).isVisible(), `the client page's h1 should be "${VISITOR.name}"`);
  assert.equal(await summaryValue('Email'), VISITOR.email, 'the client should carry over the email from the booking');
  assert.ok(await page.getByRole('heading', { level: 3, name: 'Brief work' }).isVisible(), 'the client page should say "Brief work"');
  assert.match(await page.locator('main').innerText(), new RegExp(CONTRACT.focus), 'the client page should show the agreed focus');
  assert.equal(await summaryValue('Next session'), `Session 1 of 12: ${SESSION_1}, Balham`);
  assert.equal(await summaryValue('Sessions remaining'), '12 of 12');
  assert.equal(await summaryValue('Planned ending'), ENDING_BEFORE, 'twelve Fridays from 26 March, skipping Easter (9 April), end on 18 June');
  assert.equal(await summaryValue('Reviews'), 'Session 6 (Friday 7 May 2027)');
  assert.equal(await summaryValue('When'), 'Weekly: Fridays at 11am');
  assert.equal(await summaryValue('Fee'), '£60 a session');
  assert.equal(await summaryValue('Cancellation policy'), 'Version 2');

  const coming = await sessionRows('The next sessions, soonest first');
  t.diagnostic(`coming up: ${JSON.stringify(coming.map((r) => [r.when, r.number, r.status]))}`);
  const problems = [];
  const numbered = coming.filter((r) => r.number !== '');
  const numbers = numbered.map((r) => r.number);
  const expected = Array.from({ length: 12 }, (_, i) => `Session ${i + 1} of 12`);
  if (JSON.stringify(numbers) !== JSON.stringify(expected)) problems.push(`the sessions should be numbered 1 to 12 of 12; they are ${JSON.stringify(numbers)}`);
  for (const row of coming) {
    // 11am stays 11am across the clock change on 28 March.
    if (!/^Friday \d+ \w+ 2027 at 11am$/.test(row.when)) problems.push(`every session should be on a Friday at 11am: ${row.when}`);
    if (row.place !== 'Balham') problems.push(`every session should be at Balham: ${row.when} is at ${row.place}`);
  }
  if (numbered[0]?.when !== SESSION_1) problems.push(`session 1 should be ${SESSION_1}, it is ${numbered[0]?.when}`);
  if (numbered.at(-1)?.when !== `${ENDING_BEFORE} at 11am`) problems.push(`session 12 should be on the planned ending, ${ENDING_BEFORE}; it is ${numbered.at(-1)?.when}`);
  const easter = coming.find((r) => r.when === 'Friday 9 April 2027 at 11am');
  if (easter?.status !== 'Break: not happening' || easter.number !== '') problems.push(`Friday 9 April (Easter break) should be "Break: not happening" with no number: ${JSON.stringify(easter)}`);
  assertNoProblems(problems, 'the planned sessions');
  found.session1 = coming.find((r) => r.when === SESSION_1)?.href;
  found.session2 = coming.find((r) => r.when === SESSION_2.was)?.href;
  done.add('contract');
  await assertGoodPage('06-client-planned', 'the client page with the sessions planned', response);
});

test('a break in May marks that Friday as not happening and moves the ending a week on', async (t) => {
  if (needs(t, 'contract')) return;
  await page.goto(at('/office'));
  await submitAndWait(page, page.getByRole('navigation', { name: 'Back office' }).getByRole('link', { name: 'Settings' }));
  const breaks = await submitAndWait(page, page.getByRole('link', { name: 'Breaks and holidays' }));
  assert.equal(pathOf(page.url()), '/office/settings/away', '"Breaks and holidays" should lead to /office/settings/away');
  await assertGoodPage('07-breaks', 'the breaks page', breaks);

  await page.getByLabel('What it is').fill(BREAK.label);
  await page.getByLabel('First day away').fill(BREAK.first);
  await page.getByLabel('Last day away').fill(BREAK.last);
  const added = await submitAndWait(page, page.getByRole('button', { name: 'Add break' }));
  assert.equal(added.status(), 200, `adding the break should end on a 200 page, got ${added.status()}: ${await shownErrors()}`);
  const row = page.getByRole('table', { name: 'Your breaks' }).locator('tbody tr').filter({ hasText: BREAK.label });
  assert.equal(await row.count(), 1, `the breaks table should list "${BREAK.label}"`);
  assert.equal(squash(await row.innerText()).replace(/ Remove.*$/, ''), `${BREAK.label} Monday 3 May 2027 Sunday 9 May 2027`);

  const { response, coming } = await clientPage();
  assert.equal(await summaryValue('Planned ending'), ENDING_AFTER, `the break should move the planned ending from ${ENDING_BEFORE} a week on to ${ENDING_AFTER}`);
  assert.equal(await summaryValue('Sessions remaining'), '12 of 12', 'a break should not use up sessions');
  assert.equal(await summaryValue('Reviews'), 'Session 6 (Friday 14 May 2027)', 'the review at session 6 should move to the Friday after the break');
  const inBreak = coming.find((r) => r.when === BREAK.friday);
  assert.deepEqual(
    inBreak && { number: inBreak.number, status: inBreak.status, charge: inBreak.charge },
    { number: '', status: 'Break: not happening', charge: '' },
    `${BREAK.friday} should show as a break, unnumbered and with no charge`,
  );
  const last = coming.filter((r) => r.number !== '').at(-1);
  assert.deepEqual([last?.when, last?.number], [`${ENDING_AFTER} at 11am`, 'Session 12 of 12'], 'session 12 should now be on the new planned ending');
  done.add('break');
  await assertGoodPage('08-client-after-break', 'the client page after the break', response);
});

test('a late cancellation inside 48 hours is free under the allowance, and says why', async (t) => {
  if (needs(t, 'contract')) return;
  assert.ok(found.session1, `the client page should link to ${SESSION_1}`);
  const shown = await page.goto(at(found.session1));
  assert.ok(await page.getByRole('heading', { level: 1, name: `Session with ${VISITOR.name}` }).isVisible(), 'the session page h1 should name the client');
  assert.equal(await summaryValue('When'), SESSION_1);
  assert.equal(await summaryValue('Session'), 'Session 1 of 12');
  assert.equal(await summaryValue('Status'), 'Scheduled');
  await assertGoodPage('09-session-1', 'the page of session 1', shown);

  const response = await recordClientCancelled();
  assert.equal(pathOf(page.url()), found.session1, 'saving should come back to the session page');
  assert.equal(await summaryValue('Status'), 'Late cancellation', 'told 26 hours ahead, under the 48 hours asked for: a late cancellation');
  assert.match(await summaryValue('They told you'), /^Thursday 25 March 2027 at 9(:\d\d)?am$/, 'the session should say when they told you (now)');
  assert.equal(await summaryValue('Charge'), `£0 ${FREE_RULE}`, 'the first late cancellation should be free, with the rule saying so');
  done.add('free');
  await assertGoodPage('10-session-1-free-late-cancellation', 'session 1 after a free late cancellation', response);
});

test('a second late cancellation is charged in full, with the rule that produced the charge', async (t) => {
  if (needs(t, 'free')) return;
  assert.ok(found.session2, `the client page should link to ${SESSION_2.was}`);
  await page.goto(at(found.session2));
  assert.equal(await summaryValue('Session'), 'Session 2 of 12');
  await page.getByLabel('New date').fill(SESSION_2.date);
  await page.getByLabel('New time').fill(SESSION_2.time);
  const moved = await submitAndWait(page, page.getByRole('button', { name: 'Move the session' }));
  assert.equal(moved.status(), 200, `moving session 2 should end on a 200 page, got ${moved.status()}: ${await shownErrors()}`);
  assert.equal(await summaryValue('When'), `${SESSION_2.when} Moved from ${SESSION_2.was}`, `session 2 should be on ${SESSION_2.when}, moved from ${SESSION_2.was}`);
  await assertGoodPage('11-session-2-moved', 'session 2 after moving it', moved);

  const response = await recordClientCancelled();
  assert.equal(await summaryValue('Status'), 'Late cancellation');
  const charge = await summaryValue('Charge');
  const [amount, ...rule] = charge.split(' ');
  assert.equal(amount, '£60', `the second late cancellation should be charged the full £60 fee (charge: "${charge}")`);
  const hours = rule.join(' ').match(CHARGED_RULE);
  assert.ok(hours, `the charge should show the rule that produced it; it says "${rule.join(' ')}"`);
  assert.ok(Number(hours[1]) >= 29 && Number(hours[1]) < 48, `the rule should count about 30 hours' notice, it says ${hours[1]}`);
  assert.equal(await page.getByRole('button', { name: 'Waive the £60 charge' }).count(), 1, 'a charge can be waived: the page should offer "Waive the £60 charge"');
  done.add('charged');
  await assertGoodPage('12-session-2-charged-late-cancellation', 'session 2 after a charged late cancellation', response);

  // Late cancellations count as sessions: the ending stays where it was.
  const { response: shown, coming } = await clientPage();
  const rows = coming.filter((r) => r.status === 'Late cancellation');
  assert.deepEqual(
    rows.map((r) => [r.when, r.number, r.charge, r.rule.replace(/\d+ hours'/, "N hours'")]),
    [
      [SESSION_1, 'Session 1 of 12', '£0', FREE_RULE],
      [SESSION_2.when, 'Session 2 of 12', '£60', "Late cancellation: N hours' notice, less than the 48 hours the policy (version 2) asks for. 100% of the £60 fee."],
    ],
    'the client page should list both late cancellations with their charges and rules',
  );
  assert.equal(await summaryValue('Sessions remaining'), '10 of 12');
  assert.equal(await summaryValue('Planned ending'), done.has('break') ? ENDING_AFTER : ENDING_BEFORE, 'late cancellations count, so the ending should not move');
  assert.equal(await summaryValue('Not yet invoiced'), '£60', 'the client page should show £60 not yet invoiced');
  assert.equal(await page.getByRole('button', { name: 'Invoice now' }).count(), 1, 'the client page should offer "Invoice now"');
  await assertGoodPage('13-client-with-charges', 'the client page with the charges', shown);
});

test('"Invoice now" makes a numbered invoice with the late cancellation, its rule and the bank details', async (t) => {
  if (needs(t, 'charged')) return;
  await page.goto(at('/office'));
  const list = await submitAndWait(page, page.getByRole('navigation', { name: 'Back office' }).getByRole('link', { name: 'Invoices' }));
  assert.equal(pathOf(page.url()), '/office/invoices', '"Invoices" should lead to /office/invoices');
  const owed = page.getByRole('table', { name: 'Charges not yet on an invoice' }).locator('tbody tr').filter({ hasText: VISITOR.name });
  assert.equal(await owed.count(), 1, `"Not yet invoiced" should list ${VISITOR.name}`);
  assert.match(squash(await owed.innerText()), new RegExp(`^${VISITOR.name} 1 £60 `), `${VISITOR.name} should owe £60 for one session`);
  await assertGoodPage('14-invoices-owed', 'the invoices page', list);

  const made = await submitAndWait(page, page.getByRole('button', { name: `Invoice now for ${VISITOR.name}` }));
  const number = new URL(page.url()).searchParams.get('made');
  assert.match(number ?? '', /^\d+$/, `"Invoice now" should come back to /office/invoices?made=<number>; at ${page.url()} (${redirectChain(made).join(' -> ')})`);
  assert.match(await page.getByRole('status').innerText(), new RegExp(`Invoice ${number} made, and a link to it emailed\\.`));
  assert.equal(await page.getByRole('table', { name: 'Charges not yet on an invoice' }).locator('tbody tr').filter({ hasText: VISITOR.name }).count(), 0, `${VISITOR.name} should have nothing left to invoice`);
  const row = page.getByRole('table', { name: 'Invoices, newest first' }).locator('tbody tr').first();
  assert.match(squash(await row.innerText()), new RegExp(`^${number} ${VISITOR.name} the session on 26 March 2027 £60 Due 8 April 2027$`), 'the newest invoice should be this one, due in 14 days');
  found.invoiceNumber = number;

  const response = await submitAndWait(page, row.getByRole('link', { name: number, exact: true }));
  assert.match(pathOf(page.url()), /^\/office\/invoices\/\d+$/, 'the number should lead to the invoice page');
  found.invoice = pathOf(page.url());
  const invoice = page.getByRole('article', { name: `Invoice ${number}` });
  assert.equal(await invoice.count(), 1, `the page should hold the invoice, titled "Invoice ${number}"`);
  assert.ok(await page.getByRole('heading', { level: 1, name: `Invoice ${number}` }).isVisible(), `the h1 should be "Invoice ${number}"`);
  assert.equal(await summaryValue('To', invoice), VISITOR.name);
  assert.equal(await summaryValue('Issued', invoice), '25 March 2027');
  assert.equal(await summaryValue('Status', invoice), 'Waiting for payment');
  const lines = await invoice.locator('table.invoice-lines tbody tr').evaluateAll((trs) =>
    trs.map((tr) => ({
      item: tr.querySelector('td')?.firstChild?.textContent.replace(/\s+/g, ' ').trim(),
      rule: tr.querySelector('td .hint')?.textContent.replace(/\s+/g, ' ').trim(),
      amount: tr.querySelector('td.amount')?.textContent.trim(),
    })),
  );
  assert.equal(lines.length, 1, `the invoice should have one line (the free cancellation costs nothing); it has ${JSON.stringify(lines)}`);
  assert.equal(lines[0].item, `Late cancellation, ${SESSION_2.when}`, 'the line should name the late cancellation and its session');
  assert.match(lines[0].rule ?? '', CHARGED_RULE, 'the line should show the rule that produced the charge');
  assert.equal(lines[0].amount, '£60', 'the line should be £60');
  assert.equal(squash(await invoice.locator('table.invoice-lines tfoot').innerText()), 'Total £60', 'the total should be £60');
  const pay = squash(await invoice.innerText());
  assert.match(pay, new RegExp(`By bank transfer, please, with ${number} as the reference`), 'the invoice should say how to pay, with its number as the reference');
  for (const detail of BANK_DETAILS) assert.ok(pay.includes(detail), `the invoice should show the bank details (${detail})`);
  done.add('invoice');
  await assertGoodPage('15-invoice', 'the invoice page', response);
});

test('the invoice prints without the back office around it', async (t) => {
  if (needs(t, 'invoice')) return;
  await page.emulateMedia({ media: 'print' });
  try {
    const hidden = [
      ['the header', page.locator('header.site-header')],
      ['the navigation', page.getByRole('navigation', { name: 'Back office' })],
      ['"Back to invoices"', page.getByRole('link', { name: 'Back to invoices' })],
      ['the payment form', page.getByRole('button', { name: 'Mark as paid' })],
    ];
    const problems = [];
    for (const [what, locator] of hidden) if (await locator.isVisible()) problems.push(`${what} should be hidden in print`);
    for (const [what, locator] of [
      ['the invoice title', page.getByRole('heading', { level: 1, name: `Invoice ${found.invoiceNumber}` })],
      ['the late cancellation', page.getByText(`Late cancellation, ${SESSION_2.when}`)],
      ['the bank details', page.getByText(BANK_DETAILS[0])],
    ]) {
      if (!(await locator.isVisible())) problems.push(`${what} should be visible in print`);
    }
    await page.screenshot({ path: join(shots, '16-invoice-print.png'), fullPage: true });
    assertNoProblems(problems, 'the invoice in print');
  } finally {
    await page.emulateMedia({ media: null });
  }
});

test('the client was emailed a link to the invoice', async (t) => {
  if (needs(t, 'invoice')) return;
  const response = await page.goto(at('/office/outbox'));
  assert.equal(response?.status(), 200, 'GET /office/outbox should answer 200');
  const rows = await page.locator('table tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.replace(/\s+/g, ' ').trim())),
  );
  const subjects = rows.filter((cells) => cells[0] === VISITOR.email).map((cells) => cells[1]);
  t.diagnostic(`emails to the client, newest first: ${JSON.stringify(subjects)}`);
  assert.equal(
    subjects.filter((s) => s === `Invoice ${found.invoiceNumber} from Adeyemi-Holt Psychotherapy`).length,
    1,
    `the outbox should hold one "Invoice ${found.invoiceNumber}" email to ${VISITOR.email}; it holds ${JSON.stringify(subjects)}`,
  );
  await assertGoodPage('17-outbox', 'the outbox', response);
});

test('the back office made no requests to other sites', () => {
  const { foreign, failed } = requests.take();
  assertNoProblems(
    [...foreign.map((url) => `request to another origin: ${url}`), ...failed.map((r) => `a resource failed to load: ${r}`), ...consoleErrors.take()],
    'requests',
  );
});
