// The confidential-records pages, as the therapist uses them: a client's record with "who has
// seen this record" and data rights, recording a subject access request, downloading the
// export, the erase confirmation (not confirmed), the records to review, the audit log with a
// check of its chain, and setting up an authenticator app (QR code drawn in the page). Every
// page gets axe (WCAG 2.2 AA), a screenshot, and no request to another origin.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
import { DEMO_EMAIL, DEMO_PASSWORD, startServer } from '../support/server.mjs';

let server;
let browser;
let context;
let page;
let requests;
let consoleErrors;
let shots;
let assertGoodPage;

before(async () => {
  server = await startServer({ name: 'records' });
  browser = await launchBrowser();
  context = await newContext(browser, 'desktop');
  requests = watchRequests(context, server.origin);
  page = await context.newPage();
  consoleErrors = watchConsole(page);
  shots = freshArtifactDir('screenshots', 'records');
  assertGoodPage = pageChecker({ page, requests, consoleErrors, shots });
});

after(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

const at = (path) => new URL(path, server.url).href;


test('the therapist reads and exports a record, and the log shows who saw it', async () => {
  await page.goto(at('/office/sign-in'));
  await page.getByLabel('Email address').fill(DEMO_EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(DEMO_PASSWORD);
  await submitAndWait(page, page.getByRole('button', { name: 'Sign in' }));

  await page.goto(at('/office/clients'));
  await submitAndWait(page, page.getByRole('link', { name: 'Daniel Okoro' }));
  const clientPath = new URL(page.url()).pathname;
  // Opened twice: the first visit is then listed under "Who has seen this record".
  const record = await page.reload();
  assert.ok(await page.getByRole('heading', { name: 'Who has seen this record' }).isVisible());
  assert.match(await page.locator('#seen-by + table').innerText(), /Adebayo|Adeyemi|\d/, 'the table should list the therapist');
  await assertGoodPage('01-client-record', 'the client record', record);

  // A subject access request, received today: the due date is a month away.
  const form = await page.goto(at(`${clientPath}/subject-access/new`));
  await assertGoodPage('02-subject-access-form', 'the subject access form', form);
  const recorded = await submitAndWait(page, page.getByRole('button', { name: 'Record the request' }));
  assert.equal(new URL(page.url()).pathname, clientPath, 'recording should lead back to the record');
  assert.ok(await page.getByRole('table', { name: 'Subject access requests' }).isVisible(), 'the request should be listed');
  await assertGoodPage('03-request-listed', 'the record with its request', recorded);

  // The export downloads as a zip.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: /^Download everything held about/ }).click(),
  ]);
  const zip = readFileSync(await download.path());
  assert.equal(zip.subarray(0, 4).toString('hex'), '504b0304', 'the download should be a zip file');
  assert.match(download.suggestedFilename(), /\.zip$/);

  // Erasing asks first and says what is destroyed; not confirmed here.
  const erase = await page.goto(at(`${clientPath}/erase`));
  assert.ok(await page.getByRole('button', { name: /^Yes, erase/ }).isVisible());
  await assertGoodPage('04-erase-confirm', 'the erase confirmation', erase);

  const review = await page.goto(at('/office/records-to-review'));
  await assertGoodPage('05-records-to-review', 'the records to review', review);

  const log = await page.goto(at('/office/settings/audit'));
  const rows = await page.locator('table tbody tr').allInnerTexts();
  assert.ok(rows.some((r) => /Exported the client/.test(r)), 'the export should be in the audit log');
  assert.ok(rows.some((r) => /Viewed the client/.test(r)), 'the views should be in the audit log');
  await assertGoodPage('06-audit-log', 'the audit log', log);
  const checked = await submitAndWait(page, page.getByRole('button', { name: 'Check the whole log' }));
  assert.ok(await page.getByText(/^The log is intact/).isVisible(), 'the chain should check out');
  await assertGoodPage('07-audit-log-checked', 'the checked audit log', checked);
});

test('setting up an authenticator app shows a QR code drawn in the page', async () => {
  const security = await page.goto(at('/office/settings/security'));
  await assertGoodPage('08-security', 'sign-in and security', security);
  const setUp = await page.goto(at('/office/settings/security/set-up'));
  const qr = page.locator('svg[role="img"]');
  assert.equal(await qr.count(), 1, 'one QR code, drawn as SVG in the page');
  assert.equal(await page.locator('img[src^="http"]').count(), 0);
  await assertGoodPage('09-set-up-app', 'setting up an app', setUp);
});
