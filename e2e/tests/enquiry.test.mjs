// The contact form on a phone, as a visitor meets it: GOV.UK-style errors (summary linking
// to the fields, the message again at the field, "Error: " in the title, input kept), then a
// thank-you page. No cookies for the anonymous visitor at any point.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertNoProblems,
  axeViolations,
  crisisBlockProblems,
  launchBrowser,
  newContext,
  submitAndWait,
  watchRequests,
} from '../support/browser.mjs';
import { ARTIFACTS } from '../support/paths.mjs';
import { startServer } from '../support/server.mjs';

const NAME = 'Sam Test';
const PHONE = '07700 900 982';
const MESSAGE = 'I would like to talk about starting therapy. Weekday mornings suit me best.';

let server;
let browser;
let context;
let page;
let requests;
const shots = join(ARTIFACTS, 'screenshots', 'enquiry');

before(async () => {
  server = await startServer({ name: 'enquiry' });
  browser = await launchBrowser();
  context = await newContext(browser, 'phone');
  requests = watchRequests(context, server.origin);
  page = await context.newPage();
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

const field = {
  name: () => page.getByLabel('Your name'),
  email: () => page.getByLabel('Email address'),
  phone: () => page.getByLabel('Phone number (optional)'),
  contactByEmail: () =>
    page.getByRole('group', { name: 'How would you like me to contact you?' }).getByLabel('Email', { exact: true }),
  message: () => page.getByLabel('Your message'),
  consent: () => page.getByLabel(/I agree/),
  send: () => page.getByRole('button', { name: 'Send enquiry' }),
};

/** The texts of the elements an input points to with aria-describedby (hint, error). */
async function describedBy(locator) {
  return locator.evaluate((input) =>
    (input.getAttribute('aria-describedby') ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((id) => document.getElementById(id)?.textContent?.trim() ?? `(no element #${id})`),
  );
}

/** The error summary: the nearest element around "There is a problem" that holds #links. */
function errorSummary() {
  return page
    .getByRole('heading', { name: 'There is a problem' })
    .locator('xpath=ancestor::*[.//a[starts-with(@href, "#")]][1]');
}

async function assertAccessible(what) {
  assertNoProblems(await axeViolations(page), `axe on ${what}`);
}

let reachedContact = false;
let sawErrors = false;

test('the contact page has the enquiry form', async () => {
  const response = await page.goto(new URL('/contact', server.url).href);
  assert.equal(response?.status(), 200, 'GET /contact should answer 200');
  await page.screenshot({ path: join(shots, '1-contact.png'), fullPage: true });
  for (const [name, locator] of Object.entries(field)) {
    assert.equal(await locator().count(), 1, `the contact form should have exactly one "${name}" control`);
  }
  reachedContact = true;
});

test('an empty form is answered with an error summary linking to the fields', async (t) => {
  if (!reachedContact) return t.skip('the contact page did not load');
  const response = await submitAndWait(page, field.send());
  assert.equal(response.status(), 422, `an empty enquiry should be answered 422, got ${response.status()}`);
  assert.match(await page.title(), /^Error: /, 'the page title should start with "Error: "');
  await page.screenshot({ path: join(shots, '2-empty-errors.png'), fullPage: true });

  const summary = errorSummary();
  assert.equal(await summary.count(), 1, 'there should be one error summary headed "There is a problem" with links to the fields');
  const hrefs = await summary.locator('a[href^="#"]').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
  assert.ok(hrefs.length >= 4, `the summary should link to each field in error (name, email, message, agreement…); it has ${hrefs.join(' ')}`);
  for (const href of hrefs) {
    const id = decodeURIComponent(href.slice(1));
    const targets = await page.locator(`[id="${id.replace(/"/g, '\\"')}"]`).count();
    assert.equal(targets, 1, `the error summary link ${href} should point to one element on the page`);
  }
  for (const name of ['name', 'email', 'message']) {
    const id = await field[name]().getAttribute('id');
    assert.ok(id && hrefs.includes(`#${id}`), `the error summary should link to the "${name}" field (#${id}); it links to ${hrefs.join(' ')}`);
  }
  await assertAccessible('the contact page with errors');
  sawErrors = true;
});

test('a badly typed email address is explained at the field and the input is kept', async (t) => {
  if (!sawErrors) return t.skip('the error page did not appear');
  await field.name().fill(NAME);
  await field.email().fill('not-an-email');
  await field.phone().fill(PHONE);
  await field.contactByEmail().check();
  await field.message().fill(MESSAGE);
  await field.consent().check();

  const response = await submitAndWait(page, field.send());
  assert.equal(response.status(), 422, `a bad email address should be answered 422, got ${response.status()}`);
  assert.match(await page.title(), /^Error: /, 'the page title should start with "Error: "');
  await page.screenshot({ path: join(shots, '3-bad-email.png'), fullPage: true });

  const fieldMessages = await describedBy(field.email());
  assert.ok(
    fieldMessages.some((text) => /email address/i.test(text)),
    `the email field should be described by an error message about the "email address" (aria-describedby); it has ${JSON.stringify(fieldMessages)}`,
  );
  assert.match(await errorSummary().innerText(), /email address/i, 'the error summary should say what is wrong with the email address');

  assert.equal(await field.name().inputValue(), NAME, 'the name typed should be kept after an error');
  assert.equal(await field.email().inputValue(), 'not-an-email', 'the email typed should be kept, so it can be corrected');
  assert.equal(await field.phone().inputValue(), PHONE, 'the phone number typed should be kept');
  assert.ok(await field.contactByEmail().isChecked(), 'the contact choice "Email" should stay selected');
  assert.equal(await field.message().inputValue(), MESSAGE, 'the message typed should be kept');
  assert.ok(await field.consent().isChecked(), 'the agreement box should stay ticked');
  await assertAccessible('the contact page with an email error');
});

test('a valid enquiry is thanked, and the visitor still has no cookies', async (t) => {
  if (!sawErrors) return t.skip('the error page did not appear');
  await field.email().fill('sam@example.com');
  // Fill again in case a field was not kept; the test above reports that separately.
  if ((await field.name().inputValue()) !== NAME) await field.name().fill(NAME);
  if ((await field.message().inputValue()) !== MESSAGE) await field.message().fill(MESSAGE);
  if (!(await field.contactByEmail().isChecked())) await field.contactByEmail().check();
  if (!(await field.consent().isChecked())) await field.consent().check();

  const response = await submitAndWait(page, field.send());
  assert.ok(response.status() < 400, `a valid enquiry should be accepted, got ${response.status()} at ${response.url()}`);
  await page.screenshot({ path: join(shots, '4-thank-you.png'), fullPage: true });
  const heading = page.getByRole('heading', { name: /thank you/i });
  assert.ok((await heading.count()) >= 1, `the page after sending should have a "Thank you" heading (at ${page.url()})`);
  assert.doesNotMatch(await page.title(), /^Error: /, 'the thank-you page title should not start with "Error: "');
  await assertAccessible('the thank-you page');
  assert.deepEqual(await crisisBlockProblems(page), [], 'the thank-you page should carry the urgent-help block');
  assert.deepEqual(await context.cookies(), [], 'an anonymous visitor should get no cookies, even when sending an enquiry');
  const { foreign, failed } = requests.take();
  assertNoProblems(
    [...foreign.map((url) => `request to another origin: ${url}`), ...failed.map((r) => `a resource failed to load: ${r}`)],
    'requests',
  );
});
