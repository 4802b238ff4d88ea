// Booking a first consultation on a phone, as a visitor meets it, with no JavaScript and no
// cookies: where → time → details (with errors first) → check → booked; the calendar file;
// moving to another time; cancelling. Every page gets axe (WCAG 2.2 AA), the urgent-help
// block, and the privacy checks (nothing from other origins, no Set-Cookie, no cookies).
// Then the therapist's outbox shows the three emails the visitor was sent, and the time
// list works from the keyboard.
//
// The demo clock is Thursday 25 March 2027, 09:00 UTC; British Summer Time starts on Sunday
// 28 March, so Tuesday 30 March at 10am in London is 09:00 UTC.

import assert from 'node:assert/strict';
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

const VISITOR = {
  name: 'Sam Booking',
  email: 'sam.booking@example.com',
  note: 'Step-free access would help, please.',
};
/** The first booking: Chancery Lane, Tuesday 30 March 2027 at 10am BST (09:00 UTC). */
const FIRST = {
  day: 'Tuesday 30 March',
  time: '10am',
  long: 'Tuesday 30 March 2027 at 10am',
  startUtc: '2027-03-30T09:00:00Z',
  dtstart: 'DTSTART:20270330T090000Z',
};
/** Where it moves to: Thursday 1 April 2027 at 12pm BST (11:00 UTC). */
const MOVED = {
  day: 'Thursday 1 April',
  time: '12pm',
  long: 'Thursday 1 April 2027 at 12pm',
  startUtc: '2027-04-01T11:00:00Z',
  dtstart: 'DTSTART:20270401T110000Z',
};
const TIMES_PATH = '/book/times?location=chancery-lane';

let server;
let browser;
let context; // the visitor's phone; must never hold a cookie
let page;
let requests;
let consoleErrors;
let shots;
const setCookies = []; // every Set-Cookie header any response to the visitor carried
const pendingHeaderReads = [];
const foreignSeen = []; // every request to another origin, over the whole visit
const done = new Set(); // steps that passed, so later steps can skip with a clear reason
const booking = { token: null, manage: null, uid: null, moveLink: null };

before(async () => {
  server = await startServer({ name: 'booking' });
  browser = await launchBrowser();
  context = await newContext(browser, 'phone');
  requests = watchRequests(context, server.origin);
  context.on('response', (response) => {
    pendingHeaderReads.push(
      response
        .headerValue('set-cookie')
        .then((value) => {
          if (value) setCookies.push(`${response.request().method()} ${response.url()}: Set-Cookie: ${value}`);
        })
        .catch(() => {}),
    );
  });
  page = await context.newPage();
  consoleErrors = watchConsole(page);
  shots = freshArtifactDir('screenshots', 'booking');
});

after(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

const at = (path) => new URL(path, server.url).href;
const pathAndQuery = (url) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

function needs(t, step) {
  if (done.has(step)) return false;
  t.skip(`needs "${step}", which did not pass`);
  return true;
}

/** The Set-Cookie headers seen so far (waits for the header reads still in flight). */
async function takeSetCookies() {
  await Promise.all(pendingHeaderReads.splice(0));
  return setCookies.splice(0);
}

/**
 * Everything a visitor page must be: the expected status, no axe violations, the urgent-help
 * block, nothing from other origins, no failed sub-resources or console errors, no cookie.
 * Saves artifacts/screenshots/booking/<name>.png first, so a failing page can be looked at.
 */
async function assertGoodPage(name, what, response, expectedStatus = 200) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const problems = [];
  if (!response) problems.push('no response');
  else if (response.status() !== expectedStatus) {
    problems.push(`status ${response.status()} at ${response.url()}, expected ${expectedStatus}`);
  }
  problems.push(...(await axeViolations(page)));
  problems.push(...(await crisisBlockProblems(page)));
  const { foreign, failed } = requests.take();
  foreignSeen.push(...foreign);
  problems.push(...foreign.map((url) => `request to another origin: ${url}`));
  problems.push(...failed.map((r) => `a resource failed to load: ${r}`));
  problems.push(...consoleErrors.take());
  problems.push(...(await takeSetCookies()).map((header) => `a cookie was set: ${header}`));
  problems.push(...(await context.cookies()).map((c) => `the browser holds a cookie: ${c.name} (domain ${c.domain})`));
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

/** The slot links listed under the day heading with exactly this text, as {visible, href, link}. */
async function slotsOn(day) {
  const heading = page.locator('h2.slot-day').filter({ hasText: new RegExp(`^\\s*${day}\\s*$`) });
  const count = await heading.count();
  if (count !== 1) {
    const days = await page.locator('h2.slot-day').allInnerTexts();
    assert.fail(`the times page should have one day heading "${day}"; it has ${count} (days listed: ${days.join(', ') || 'none'})`);
  }
  const links = heading.locator('xpath=following-sibling::*[1]').locator('a.slot');
  const out = [];
  for (let i = 0; i < (await links.count()); i += 1) {
    const link = links.nth(i);
    out.push({ visible: await visibleText(link), href: await link.getAttribute('href'), link });
  }
  return out;
}

/** The one slot link showing `time` under `day`, checked for its accessible name and target. */
async function slotLink(day, time, { hrefPath, startUtc }) {
  const slots = await slotsOn(day);
  const matches = slots.filter((slot) => slot.visible === time);
  assert.equal(
    matches.length,
    1,
    `under "${day}" there should be one slot showing "${time}"; the slots show ${slots.map((s) => JSON.stringify(s.visible)).join(', ')}`,
  );
  const { link, href } = matches[0];
  const target = new URL(href, server.url);
  assert.equal(target.pathname, hrefPath, `the ${day} ${time} slot should link to ${hrefPath}, it links to ${href}`);
  assert.equal(target.searchParams.get('start'), startUtc, `the ${day} ${time} slot should start at ${startUtc} (UTC), it links to ${href}`);
  // Screen readers hear the day as well as the time ("Tuesday 30 March, 10am").
  const named = page.getByRole('link', { name: `${day}, ${time}`, exact: true });
  assert.equal(await named.count(), 1, `the slot's accessible name should be "${day}, ${time}" (day and time)`);
  return link;
}

/** The text of a summary-list row (<dt>label</dt><dd>value</dd>). */
async function summaryValue(label) {
  const dd = page.locator('dl.summary-list > div').filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('dd');
  assert.equal(await dd.count(), 1, `the summary should have one "${label}" row`);
  return (await dd.innerText()).trim();
}

/** Fetch the booking's calendar file and return its raw text and unfolded content lines. */
async function calendar(what) {
  const response = await page.request.get(at(`${booking.manage}/calendar.ics`));
  assert.equal(response.status(), 200, `GET ${booking.manage}/calendar.ics ${what} should answer 200`);
  assert.match(response.headers()['content-type'] ?? '', /^text\/calendar/, 'the calendar file should be served as text/calendar');
  const setCookie = response.headersArray().filter((h) => h.name.toLowerCase() === 'set-cookie');
  assert.deepEqual(setCookie, [], 'the calendar file should not set a cookie');
  const raw = await response.text();
  const problems = [];
  // RFC 5545 §3.1: lines end in CRLF and are folded at 75 octets.
  if (/[^\r]\n/.test(raw)) problems.push('a line ends in a bare LF instead of CRLF');
  for (const line of raw.split('\r\n')) {
    if (Buffer.byteLength(line, 'utf8') > 75) problems.push(`a line is longer than 75 octets: ${JSON.stringify(line)}`);
  }
  assertNoProblems(problems, `the calendar file ${what}`);
  const lines = raw.replace(/\r\n[ \t]/g, '').split('\r\n').filter(Boolean);
  return { raw, lines };
}

function icsValue(lines, name) {
  const found = lines.filter((line) => line.startsWith(`${name}:`) || line.startsWith(`${name};`));
  return found.map((line) => line.slice(line.indexOf(':') + 1));
}

// ---------------------------------------------------------------------------------------

test('the booking page asks how the visitor would like to meet', async () => {
  const response = await page.goto(at('/book'));
  assert.equal(response?.status(), 200, 'GET /book should answer 200');
  const group = page.getByRole('group', { name: 'How would you like to meet?' });
  assert.equal(await group.count(), 1, 'there should be one radio group "How would you like to meet?"');
  for (const label of ['In person in Balham', 'In person in Chancery Lane', 'Online, by video']) {
    assert.equal(await group.getByRole('radio', { name: label, exact: true }).count(), 1, `there should be a radio "${label}"`);
  }
  assert.equal(await page.getByRole('button', { name: 'Continue' }).count(), 1, 'there should be a "Continue" button');
  done.add('location');
  await assertGoodPage('01-location', 'the "How would you like to meet?" page', response);
});

test('"Continue" without a choice explains what to do', async (t) => {
  if (needs(t, 'location')) return;
  const response = await submitAndWait(page, page.getByRole('button', { name: 'Continue' }));
  assert.equal(response.status(), 422, `"Continue" with no choice should be answered 422, got ${response.status()}`);
  assert.match(await page.title(), /^Error: /, 'the page title should start with "Error: "');
  const summary = page.getByRole('heading', { name: 'There is a problem' }).locator('xpath=ancestor::*[.//a[starts-with(@href, "#")]][1]');
  const href = await summary.locator('a[href^="#"]').first().getAttribute('href');
  const firstRadio = await page.getByRole('radio').first().getAttribute('id');
  assert.equal(href, `#${firstRadio}`, 'the error summary should link to the first choice');
  await assertGoodPage('02-location-error', 'the "How would you like to meet?" page with an error', response, 422);
});

test('Chancery Lane lists Tuesday 30 March with a 10am slot', async (t) => {
  if (needs(t, 'location')) return;
  const chanceryLane = page.getByRole('radio', { name: 'In person in Chancery Lane', exact: true });
  if ((await chanceryLane.count()) === 0) await page.goto(at('/book'));
  await chanceryLane.check();
  const response = await submitAndWait(page, page.getByRole('button', { name: 'Continue' }));
  assert.equal(pathAndQuery(page.url()), TIMES_PATH, `"Continue" should lead to ${TIMES_PATH}`);
  assert.equal(await page.getByRole('heading', { level: 1 }).count(), 1, 'the times page should have one h1');

  const tuesday = await slotsOn(FIRST.day);
  assert.equal(tuesday[0]?.visible, FIRST.time, `the first time on ${FIRST.day} should show "${FIRST.time}" (10:00 BST)`);
  await slotLink(FIRST.day, FIRST.time, { hrefPath: '/book/details', startUtc: FIRST.startUtc });
  // Thursday 25 March is inside the 24 hours' notice; Thursday 1 April opens at 12pm.
  const days = await page.locator('h2.slot-day').allInnerTexts();
  assert.ok(!days.includes('Thursday 25 March'), `Thursday 25 March is less than 24 hours away and should not be offered (days: ${days.join(', ')})`);
  await slotLink(MOVED.day, MOVED.time, { hrefPath: '/book/details', startUtc: MOVED.startUtc });
  assert.equal(await page.getByRole('link', { name: 'Later dates' }).count(), 1, 'the times page should link to "Later dates"');
  done.add('times');
  await assertGoodPage('03-times', 'the Chancery Lane times page', response);
});

test('later dates skip the Easter break and lead back to earlier dates', async (t) => {
  if (needs(t, 'times')) return;
  const response = await submitAndWait(page, page.getByRole('link', { name: 'Later dates' }));
  const days = await page.locator('h2.slot-day').allInnerTexts();
  assert.ok(days.length > 0, `the later dates page should list days (${page.url()})`);
  const inBreak = days.filter((day) => /^\w+ (5|6|7|8|9|10|11) April$/.test(day));
  assert.deepEqual(inBreak, [], 'no day in the Easter break (5–11 April) should be offered');
  assert.equal(await page.getByRole('link', { name: 'Earlier dates' }).count(), 1, 'the later dates page should link to "Earlier dates"');
  await assertGoodPage('04-times-later', 'the later Chancery Lane times page', response);

  await submitAndWait(page, page.getByRole('link', { name: 'Earlier dates' }));
  assert.ok((await page.locator('h2.slot-day').allInnerTexts()).includes(FIRST.day), `"Earlier dates" should lead back to ${FIRST.day}`);
});

test('choosing 10am asks for the visitor\'s details', async (t) => {
  if (needs(t, 'times')) return;
  if (pathAndQuery(page.url()) !== TIMES_PATH) await page.goto(at(TIMES_PATH));
  const link = await slotLink(FIRST.day, FIRST.time, { hrefPath: '/book/details', startUtc: FIRST.startUtc });
  const response = await submitAndWait(page, link);
  assert.equal(new URL(page.url()).pathname, '/book/details', 'the slot should lead to /book/details');
  assert.ok(await page.getByRole('heading', { level: 1, name: 'Your details' }).isVisible(), 'the details page h1 should be "Your details"');
  assert.match(await page.locator('main').innerText(), new RegExp(FIRST.long), `the details page should say "${FIRST.long}"`);
  for (const label of ['Your name', 'Email address', 'Phone number (optional)', 'Anything you would like me to know before we meet (optional)']) {
    assert.equal(await page.getByLabel(label, { exact: true }).count(), 1, `the details form should have one field labelled "${label}"`);
  }
  const contact = page.getByRole('group', { name: 'If I need to contact you before we meet, how should I?' });
  assert.equal(await contact.getByRole('radio').count(), 2, 'the contact question should offer two radios (Email, Phone)');
  assert.equal(await page.getByLabel(/^I agree/).count(), 1, 'there should be one "I agree…" checkbox');
  done.add('details');
  await assertGoodPage('05-details', 'the details page', response);
});

test('an empty details form is answered with an error summary', async (t) => {
  if (needs(t, 'details')) return;
  const response = await submitAndWait(page, page.getByRole('button', { name: 'Continue' }));
  assert.equal(response.status(), 422, `empty details should be answered 422, got ${response.status()}`);
  assert.match(await page.title(), /^Error: /, 'the page title should start with "Error: "');
  const summary = page.getByRole('heading', { name: 'There is a problem' }).locator('xpath=ancestor::*[.//a[starts-with(@href, "#")]][1]');
  assert.equal(await summary.count(), 1, 'there should be one error summary headed "There is a problem"');
  const hrefs = await summary.locator('a[href^="#"]').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
  for (const label of ['Your name', 'Email address']) {
    const id = await page.getByLabel(label, { exact: true }).getAttribute('id');
    assert.ok(hrefs.includes(`#${id}`), `the error summary should link to "${label}" (#${id}); it links to ${hrefs.join(' ')}`);
  }
  const consentId = await page.getByLabel(/^I agree/).getAttribute('id');
  assert.ok(hrefs.includes(`#${consentId}`), `the error summary should link to the agreement box (#${consentId}); it links to ${hrefs.join(' ')}`);
  assert.match(await page.locator('main').innerText(), new RegExp(FIRST.long), 'the chosen time should still be shown');
  done.add('errors');
  await assertGoodPage('06-details-errors', 'the details page with errors', response, 422);
});

test('valid details lead to "Check your booking"', async (t) => {
  if (needs(t, 'errors')) return;
  await page.getByLabel('Your name', { exact: true }).fill(VISITOR.name);
  await page.getByLabel('Email address', { exact: true }).fill(VISITOR.email);
  await page
    .getByRole('group', { name: 'If I need to contact you before we meet, how should I?' })
    .getByRole('radio', { name: 'Email', exact: true })
    .check();
  await page.getByLabel('Anything you would like me to know before we meet (optional)').fill(VISITOR.note);
  await page.getByLabel(/^I agree/).check();
  const response = await submitAndWait(page, page.getByRole('button', { name: 'Continue' }));
  assert.equal(response.status(), 200, `valid details should be answered 200, got ${response.status()} at ${response.url()}`);
  assert.ok(await page.getByRole('heading', { level: 1, name: 'Check your booking' }).isVisible(), 'the h1 should be "Check your booking"');
  assert.equal(await summaryValue('When'), FIRST.long, `the check page should say when: "${FIRST.long}"`);
  assert.match(await summaryValue('Where'), /Chancery Lane/, 'the check page should say where: Chancery Lane');
  assert.equal(await summaryValue('Name'), VISITOR.name, 'the check page should show the name');
  assert.equal(await summaryValue('Email'), VISITOR.email, 'the check page should show the email address');
  done.add('check');
  await assertGoodPage('07-check', 'the check page', response);
});

test('confirming books the consultation and shows its own page', async (t) => {
  if (needs(t, 'check')) return;
  const response = await submitAndWait(page, page.getByRole('button', { name: 'Confirm booking' }));
  const chain = redirectChain(response);
  assert.match(chain[0] ?? '', /^POST .*\/book\/confirm$/, `"Confirm booking" should POST /book/confirm (${chain.join(' -> ')})`);
  const url = new URL(page.url());
  const match = url.pathname.match(/^\/booking\/([0-9a-f]{64})$/);
  assert.ok(match, `after confirming, the visitor should be at /booking/<64 hex digits>?new=1; at ${page.url()} (${chain.join(' -> ')})`);
  assert.equal(url.search, '?new=1', 'the first view of the booking page should carry ?new=1');
  booking.token = match[1];
  booking.manage = `/booking/${booking.token}`;

  assert.ok(await page.getByRole('heading', { name: 'Consultation booked' }).isVisible(), 'the page should say "Consultation booked"');
  assert.match(await page.locator('main').innerText(), new RegExp(FIRST.long), `the confirmation should say "${FIRST.long}"`);
  assert.equal(await summaryValue('When'), FIRST.long, `the booking's "When" should be "${FIRST.long}"`);
  const calendarLink = page.getByRole('link', { name: 'Add to your calendar' });
  assert.equal(await calendarLink.getAttribute('href'), `${booking.manage}/calendar.ics`, '"Add to your calendar" should link to the calendar file');
  assert.equal(
    await page.getByRole('link', { name: 'Choose a different time' }).getAttribute('href'),
    `${booking.manage}/move`,
    '"Choose a different time" should link to …/move',
  );
  assert.equal(
    await page.getByRole('link', { name: 'Cancel this consultation' }).getAttribute('href'),
    `${booking.manage}/cancel`,
    '"Cancel this consultation" should link to …/cancel',
  );
  done.add('booked');
  await assertGoodPage('08-booked', 'the "Consultation booked" page', response);
});

test('the booking\'s own address shows it again later', async (t) => {
  if (needs(t, 'booked')) return;
  const response = await page.goto(at(booking.manage));
  assert.equal(await summaryValue('When'), FIRST.long, `the booking page should say "${FIRST.long}"`);
  assert.equal(await summaryValue('Status'), 'Booked', 'the booking page should say the status is "Booked"');
  await assertGoodPage('09-manage', 'the booking page', response);
});

test('the calendar file has the booked time (10am BST is 09:00 UTC)', async (t) => {
  if (needs(t, 'booked')) return;
  const { lines } = await calendar('after booking');
  assert.deepEqual(icsValue(lines, 'METHOD'), ['PUBLISH'], 'the calendar file should say METHOD:PUBLISH');
  assert.ok(lines.includes(FIRST.dtstart), `the calendar file should have ${FIRST.dtstart}; it has ${icsValue(lines, 'DTSTART').join(', ')}`);
  assert.ok(lines.includes('DTEND:20270330T095000Z'), 'the consultation should end 50 minutes later (DTEND:20270330T095000Z)');
  const uids = icsValue(lines, 'UID');
  assert.equal(uids.length, 1, 'the calendar file should have one UID');
  assert.ok(uids[0].length > 0, 'the UID should not be empty');
  assert.deepEqual(icsValue(lines, 'SEQUENCE'), ['0'], 'a new booking should be SEQUENCE:0');
  booking.uid = uids[0];
  done.add('ics');
});

test('"Choose a different time" lists other times for this booking', async (t) => {
  if (needs(t, 'booked')) return;
  const response = await submitAndWait(page, page.getByRole('link', { name: 'Choose a different time' }));
  assert.equal(new URL(page.url()).pathname, `${booking.manage}/move`, 'the move page should be …/move');
  const link = await slotLink(MOVED.day, MOVED.time, { hrefPath: `${booking.manage}/move/confirm`, startUtc: MOVED.startUtc });
  done.add('move-times');
  await assertGoodPage('10-move-times', 'the move times page', response);
  // Keep the link's target for the next step (the page stays as it is).
  booking.moveLink = link;
});

test('choosing Thursday 1 April 12pm asks to confirm the move', async (t) => {
  if (needs(t, 'move-times')) return;
  const response = await submitAndWait(page, booking.moveLink);
  assert.equal(new URL(page.url()).pathname, `${booking.manage}/move/confirm`, 'the slot should lead to …/move/confirm');
  const main = await page.locator('main').innerText();
  assert.match(main, new RegExp(FIRST.long), `the move confirmation should name the old time "${FIRST.long}"`);
  assert.match(main, new RegExp(MOVED.long), `the move confirmation should name the new time "${MOVED.long}"`);
  assert.equal(await page.getByRole('button', { name: 'Yes, move it' }).count(), 1, 'there should be a "Yes, move it" button');
  done.add('move-confirm');
  await assertGoodPage('11-move-confirm', 'the "Move your consultation?" page', response);
});

test('"Yes, move it" moves the booking and the calendar file follows', async (t) => {
  if (needs(t, 'move-confirm')) return;
  const response = await submitAndWait(page, page.getByRole('button', { name: 'Yes, move it' }));
  assert.equal(new URL(page.url()).pathname, booking.manage, `after moving, the visitor should be back on the booking page (${redirectChain(response).join(' -> ')})`);
  assert.equal(await summaryValue('When'), MOVED.long, `the booking page should now say "${MOVED.long}"`);
  done.add('moved');
  await assertGoodPage('12-moved', 'the booking page after moving', response);

  if (!done.has('ics')) return t.skip('the first calendar file check did not pass');
  const { lines } = await calendar('after moving');
  assert.ok(lines.includes(MOVED.dtstart), `the calendar file should now have ${MOVED.dtstart}; it has ${icsValue(lines, 'DTSTART').join(', ')}`);
  assert.deepEqual(icsValue(lines, 'SEQUENCE'), ['1'], 'a moved booking should be SEQUENCE:1');
  assert.deepEqual(icsValue(lines, 'UID'), [booking.uid], 'the UID should stay the same, so calendars update the event instead of adding one');
});

test('"Cancel this consultation" asks first', async (t) => {
  if (needs(t, 'moved')) return;
  const response = await submitAndWait(page, page.getByRole('link', { name: 'Cancel this consultation' }));
  assert.equal(new URL(page.url()).pathname, `${booking.manage}/cancel`, 'the cancel link should lead to …/cancel');
  assert.ok(await page.getByRole('heading', { level: 1, name: 'Cancel your consultation?' }).isVisible(), 'the h1 should be "Cancel your consultation?"');
  assert.match(await page.locator('main').innerText(), new RegExp(MOVED.long), `the cancel page should name the time being cancelled, "${MOVED.long}"`);
  done.add('cancel-confirm');
  await assertGoodPage('13-cancel-confirm', 'the "Cancel your consultation?" page', response);
});

test('"Yes, cancel it" cancels the consultation', async (t) => {
  if (needs(t, 'cancel-confirm')) return;
  const response = await submitAndWait(page, page.getByRole('button', { name: 'Yes, cancel it' }));
  assert.equal(new URL(page.url()).pathname, booking.manage, `after cancelling, the visitor should be on the booking page (${redirectChain(response).join(' -> ')})`);
  assert.match(await page.locator('main').innerText(), /This consultation has been cancelled/, 'the booking page should say "This consultation has been cancelled"');
  assert.equal(await page.getByRole('link', { name: 'Choose a different time' }).count(), 0, 'a cancelled consultation should not offer "Choose a different time"');
  assert.equal(await page.getByRole('button', { name: 'Yes, move it' }).count(), 0);
  done.add('cancelled');
  await assertGoodPage('14-cancelled', 'the booking page after cancelling', response);

  if (!done.has('ics')) return t.skip('the first calendar file check did not pass');
  // A calendar that imported the event learns of the cancellation from the same UID.
  const { lines } = await calendar('after cancelling');
  assert.deepEqual(icsValue(lines, 'UID'), [booking.uid], 'the UID should stay the same after cancelling');
  assert.deepEqual(icsValue(lines, 'STATUS'), ['CANCELLED'], 'a cancelled booking\'s calendar file should say STATUS:CANCELLED');
  assert.deepEqual(icsValue(lines, 'SEQUENCE'), ['2'], 'booked (0), moved (1), cancelled: SEQUENCE:2');
});

test('from the top of the times page, Tab reaches a time and Enter follows it', async () => {
  const keyboardPage = await context.newPage();
  const keyboardConsole = watchConsole(keyboardPage);
  try {
    const response = await keyboardPage.goto(at(TIMES_PATH));
    assert.equal(response?.status(), 200, `GET ${TIMES_PATH} should answer 200`);
    const visited = [];
    let focused = null;
    for (let presses = 0; presses < 40; presses += 1) {
      await keyboardPage.keyboard.press('Tab');
      focused = await keyboardPage.evaluate(() => {
        const element = document.activeElement;
        if (!element || element === document.body) return null;
        const style = getComputedStyle(element);
        return {
          tag: element.tagName.toLowerCase(),
          slot: element.matches('a.slot'),
          text: element.textContent.replace(/\s+/g, ' ').trim(),
          href: element.getAttribute('href'),
          focusVisible: element.matches(':focus-visible'),
          outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
        };
      });
      visited.push(focused ? `${focused.tag} "${focused.text}"` : '(nothing)');
      if (focused?.slot) break;
    }
    assert.ok(focused?.slot, `pressing Tab from the top should reach a time; focus went to: ${visited.join(' → ')}`);
    assert.equal(focused.text, `${FIRST.day}, ${FIRST.time}`, 'the first time reached should be the first slot, Tuesday 30 March at 10am');
    assert.ok(focused.focusVisible && focused.outline, 'the focused time should have a visible focus outline');
    await keyboardPage.screenshot({ path: join(shots, '15-keyboard-slot-focused.png') });

    await keyboardPage.keyboard.press('Enter');
    await keyboardPage.waitForURL((url) => url.pathname === '/book/details', { timeout: 15_000 });
    await keyboardPage.waitForLoadState('load');
    const start = new URL(keyboardPage.url()).searchParams.get('start');
    assert.equal(start, FIRST.startUtc, 'Enter on the focused time should open the details for that time');
    assert.ok(await keyboardPage.getByRole('heading', { level: 1, name: 'Your details' }).isVisible(), 'Enter should lead to "Your details"');
    await keyboardPage.screenshot({ path: join(shots, '16-keyboard-details.png'), fullPage: true });
    assertNoProblems(keyboardConsole.take(), 'console on the keyboard pages');
  } finally {
    await keyboardPage.close();
  }
});

test('the visitor was never given a cookie and nothing was loaded from other sites', async () => {
  const { foreign } = requests.take();
  foreignSeen.push(...foreign);
  const problems = [
    ...foreignSeen.map((url) => `request to another origin: ${url}`),
    ...(await takeSetCookies()).map((header) => `a cookie was set: ${header}`),
    ...(await context.cookies()).map((c) => `the browser holds a cookie: ${c.name} (domain ${c.domain})`),
  ];
  assertNoProblems(problems, 'privacy over the whole booking visit');
});

test('the therapist\'s outbox has the three emails the visitor was sent', async (t) => {
  if (needs(t, 'cancelled')) return;
  const office = await newContext(browser, 'desktop');
  const officeRequests = watchRequests(office, server.origin);
  try {
    const officePage = await office.newPage();
    await officePage.goto(at('/office/sign-in'));
    await officePage.getByLabel('Email address').fill(DEMO_EMAIL);
    await officePage.getByLabel('Password', { exact: true }).fill(DEMO_PASSWORD);
    await submitAndWait(officePage, officePage.getByRole('button', { name: 'Sign in' }));
    assert.notEqual(new URL(officePage.url()).pathname, '/office/sign-in', 'signing in should leave the sign-in page');

    const response = await officePage.goto(at('/office/outbox'));
    assert.equal(response?.status(), 200, 'GET /office/outbox should answer 200');
    await officePage.screenshot({ path: join(shots, '17-office-outbox.png'), fullPage: true });
    const rows = await officePage.locator('table tbody tr').evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.replace(/\s+/g, ' ').trim())),
    );
    const toVisitor = rows.filter((cells) => cells[0] === VISITOR.email).map((cells) => cells[1]);
    t.diagnostic(`emails to the visitor, newest first: ${JSON.stringify(toVisitor)}`);
    const expected = [
      ['booked', new RegExp(`^Your first consultation is booked: ${FIRST.long}$`)],
      ['changed', new RegExp(`^Changed: your consultation is now ${MOVED.long}$`)],
      ['cancelled', /^Cancelled: /],
    ];
    const problems = [];
    for (const [what, pattern] of expected) {
      const found = toVisitor.filter((subject) => pattern.test(subject));
      if (found.length !== 1) problems.push(`expected one "${what}" email matching ${pattern}, found ${found.length}`);
    }
    if (toVisitor.length !== 3) problems.push(`expected exactly 3 emails to ${VISITOR.email}, found ${toVisitor.length}: ${JSON.stringify(toVisitor)}`);
    problems.push(...(await axeViolations(officePage)).map((v) => `on the outbox: ${v}`));
    const { foreign, failed } = officeRequests.take();
    problems.push(...foreign.map((url) => `request to another origin: ${url}`), ...failed.map((r) => `a resource failed to load: ${r}`));
    assertNoProblems(problems, 'the outbox');

    // The calendar shows where the booking ended up: moved to Thursday 1 April, then cancelled,
    // with its location named (not only coloured) and the visitor's initials only.
    const calendar = await officePage.goto(at('/office/calendar?view=week&date=2027-03-29'));
    assert.equal(calendar?.status(), 200, 'GET /office/calendar should answer 200');
    await officePage.screenshot({ path: join(shots, '18-office-calendar.png'), fullPage: true });
    const days = await officePage.locator('.calendar-day').evaluateAll((lis) =>
      lis.map((li) => ({
        day: li.querySelector('.calendar-date')?.textContent.replace(/\s+/g, ' ').trim() ?? '',
        entries: [...li.querySelectorAll('.entry')].map((a) => a.textContent.replace(/\s+/g, ' ').trim()),
      })),
    );
    t.diagnostic(`calendar: ${JSON.stringify(days)}`);
    const calendarProblems = [];
    const thursday = days.find((d) => d.day.startsWith('Thursday 1 April'));
    const tuesday = days.find((d) => d.day.startsWith('Tuesday 30 March'));
    const ours = (thursday?.entries ?? []).filter((e) => e.includes('12pm'));
    if (ours.length !== 1) calendarProblems.push(`expected one 12pm entry on Thursday 1 April, found ${JSON.stringify(thursday)}`);
    else {
      if (!ours[0].includes('Chancery Lane')) calendarProblems.push(`the entry should name its location: ${ours[0]}`);
      if (!ours[0].includes('Cancelled')) calendarProblems.push(`the entry should say it was cancelled: ${ours[0]}`);
      if (ours[0].includes(VISITOR.name)) calendarProblems.push(`the calendar should show initials only: ${ours[0]}`);
    }
    if ((tuesday?.entries ?? []).some((e) => e.startsWith('10am'))) calendarProblems.push(`the moved booking should no longer be on Tuesday 30 March at 10am: ${JSON.stringify(tuesday)}`);
    calendarProblems.push(...(await axeViolations(officePage)).map((v) => `on the calendar: ${v}`));
    assertNoProblems(calendarProblems, 'the calendar');
  } finally {
    await office.close();
  }
});
