// Notes save themselves while the therapist types, and typing is never lost: the therapist
// opens a session of the demo client Eleanor Marsh, writes a note without pressing "Save",
// reloads and finds it; then the connection drops while they type, the page says the words
// are not saved yet, the connection comes back and the words are saved without a click.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertNoProblems,
  axeViolations,
  launchBrowser,
  newContext,
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

before(async () => {
  server = await startServer({ name: 'notes' });
  browser = await launchBrowser();
  context = await newContext(browser, 'desktop');
  requests = watchRequests(context, server.origin);
  page = await context.newPage();
  consoleErrors = watchConsole(page);
  shots = freshArtifactDir('screenshots', 'notes');
});

after(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

const at = (path) => new URL(path, server.url).href;
const status = () => page.locator('[data-autosave-status]').first();

test('a session note saves itself while typing and survives a lost connection', async () => {
  await page.goto(at('/office/sign-in'));
  await page.getByLabel('Email address').fill(DEMO_EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(DEMO_PASSWORD);
  await submitAndWait(page, page.getByRole('button', { name: 'Sign in' }));

  await page.goto(at('/office/clients'));
  await submitAndWait(page, page.getByRole('link', { name: 'Eleanor Marsh' }));
  const session = page.locator('a[href^="/office/sessions/"]').first();
  await submitAndWait(page, session);
  assert.match(new URL(page.url()).pathname, /^\/office\/sessions\/\d+$/);

  const box = page.getByLabel('Your note on this session');
  await box.fill('');
  await box.pressSequentially('She arrived early and talked about the new job.', { delay: 5 });
  await status().filter({ hasText: /^Saved at \d\d:\d\d\.$/ }).waitFor({ timeout: 15_000 });
  await page.screenshot({ path: join(shots, '01-saved-while-typing.png'), fullPage: true });

  await page.reload();
  assert.equal(await box.inputValue(), 'She arrived early and talked about the new job.', 'the note should be there after a reload, without pressing Save');

  // The connection drops mid-sentence: nothing is lost, and it is saved when it comes back.
  await context.setOffline(true);
  await box.press('End');
  await box.pressSequentially(' Then about her sister.', { delay: 5 });
  await status().filter({ hasText: /^Not saved yet/ }).waitFor({ timeout: 15_000 });
  await page.screenshot({ path: join(shots, '02-offline.png'), fullPage: true });
  await context.setOffline(false);
  await status().filter({ hasText: /^Saved at / }).waitFor({ timeout: 20_000 });
  await page.reload();
  assert.equal(
    await box.inputValue(),
    'She arrived early and talked about the new job. Then about her sister.',
    'the words typed while offline should have been saved once the connection came back',
  );

  const problems = [...(await axeViolations(page))];
  const { foreign } = requests.take();
  problems.push(...foreign.map((url) => `request to another origin: ${url}`));
  // The offline attempts log failed fetches in the console; nothing else may.
  problems.push(...consoleErrors.take().filter((e) => !/Failed to fetch|ERR_INTERNET_DISCONNECTED/.test(e)));
  assertNoProblems(problems, `the session page (${page.url()})`);
});
