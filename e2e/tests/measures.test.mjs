// Measures as a client and a therapist meet them (issue 14). The therapist asks Eleanor Marsh
// for a PHQ-9 before her next session; Eleanor signs in to the portal on her phone from the
// emailed link, leaves a question out (and is told which), answers question 9 "Several days"
// and sees, on the next page, where to find urgent help and that her therapist will see it.
// The therapist finds the flag first on Today, reads the answers item by item, acknowledges
// it with a note, and sees the chart with its table read by the accessibility tree. Every
// page gets axe (WCAG 2.2 AA), a screenshot and no request to another origin; the portal's
// questionnaire works without script (the pages carry none).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  assertNoProblems,
  axeViolations,
  crisisBlockProblems,
  launchBrowser,
  newContext,
  pageChecker,
  submitAndWait,
  watchConsole,
  watchRequests,
} from '../support/browser.mjs';
import { join } from 'node:path';
import { freshArtifactDir } from '../support/paths.mjs';
import { DEMO_EMAIL, DEMO_PASSWORD, startServer } from '../support/server.mjs';
import { startSmtpSink } from '../support/smtp.mjs';

const CLIENT = { name: 'Eleanor Marsh', email: 'eleanor.marsh@example.com' };
const LINK = /https?:\/\/[^\s/]+\/portal\/link\/[0-9a-f]{64}/;
/** Eleanor's answers: 1 to each question but the 3rd (0); question 9 "Several days". */
const ANSWER = 'Several days';

let sink;
let server;
let browser;
let desk; // the therapist's context
let office;
let phone; // the client's context
let page;
let deskRequests;
let phoneRequests;
let deskErrors;
let phoneErrors;
let shots;
let checkOffice;
const done = new Set();
const found = { questionnaire: null };

before(async () => {
  sink = await startSmtpSink();
  server = await startServer({ name: 'measures', extraArgs: ['--smtp-url', sink.url] });
  browser = await launchBrowser();
  desk = await newContext(browser, 'desktop');
  deskRequests = watchRequests(desk, server.origin);
  office = await desk.newPage();
  deskErrors = watchConsole(office);
  phone = await newContext(browser, 'phone');
  phoneRequests = watchRequests(phone, server.origin);
  page = await phone.newPage();
  phoneErrors = watchConsole(page);
  shots = freshArtifactDir('screenshots', 'measures');
  checkOffice = pageChecker({ page: office, requests: deskRequests, consoleErrors: deskErrors, shots });
});

after(async () => {
  await phone?.close();
  await desk?.close();
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

/** A portal page: its status, axe, the urgent-help block, no script, nothing from elsewhere. */
async function checkPortal(name, what, response, expectedStatus = 200) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const problems = [];
  if (response?.status() !== expectedStatus) problems.push(`status ${response?.status()}, expected ${expectedStatus}`);
  problems.push(...(await axeViolations(page)));
  problems.push(...(await crisisBlockProblems(page)));
  if ((await page.locator('script').count()) > 0) problems.push('the page carries a script');
  const { foreign, failed } = phoneRequests.take();
  problems.push(...foreign.map((url) => `request to another origin: ${url}`));
  problems.push(...failed.map((r) => `a resource failed to load: ${r}`));
  problems.push(...phoneErrors.take());
  assertNoProblems(problems, `${what} (${page.url()})`);
}

test('the therapist asks Eleanor for a PHQ-9 before her next session', async () => {
  await office.goto(at('/office/sign-in'));
  await office.getByLabel('Email address').fill(DEMO_EMAIL);
  await office.getByLabel('Password', { exact: true }).fill(DEMO_PASSWORD);
  await submitAndWait(office, office.getByRole('button', { name: 'Sign in' }));
  await office.goto(at('/office/clients'));
  await submitAndWait(office, office.getByRole('link', { name: CLIENT.name, exact: true }));
  found.client = pathOf(office.url());
  const sent = await submitAndWait(office, office.getByRole('button', { name: 'Ask for PHQ-9 before the next session' }));
  assert.match(squash(await office.getByRole('status').first().innerText()), /^Sent\./);
  await checkOffice('01-asked', 'the client page after asking', sent);
  const email = await sink.waitFor((m) => m.to.includes(CLIENT.email) && m.subject === 'A short questionnaire before your session', {
    what: `the questionnaire email to ${CLIENT.email}`,
  });
  assert.ok(!/PHQ/.test(email.body), 'the email does not name the questionnaire');
  assert.ok(email.body.includes('/portal/sign-in'), 'the email links to the portal');
  done.add('asked');
});

test('Eleanor signs in on her phone and finds the questionnaire', async (t) => {
  if (needs(t, 'asked')) return;
  await page.goto(at('/portal/sign-in'));
  await page.getByLabel('Email address').fill(CLIENT.email);
  await submitAndWait(page, page.getByRole('button', { name: 'Email me a sign-in link' }));
  const email = await sink.waitFor((m) => m.to.includes(CLIENT.email) && m.subject.startsWith('Your sign-in link for '), {
    what: `sign-in email to ${CLIENT.email}`,
  });
  const link = LINK.exec(email.body)?.[0];
  assert.ok(link, 'a sign-in link');
  await page.goto(link);
  const home = await submitAndWait(page, page.getByRole('button', { name: 'Continue' }));
  assert.equal(pathOf(page.url()), '/portal');
  await checkPortal('02-portal-home', 'the portal home with a questionnaire', home);
  const form = await submitAndWait(page, page.getByRole('link', { name: /^Fill in the questionnaire/ }));
  found.questionnaire = pathOf(page.url());
  assert.match(found.questionnaire, /^\/portal\/questionnaires\/\d+$/);
  assert.equal(squash(await page.getByRole('heading', { level: 1 }).innerText()), 'A short questionnaire');
  assert.equal(await page.getByRole('group').count(), 10, 'nine questions and the follow-up, each a group');
  await checkPortal('03-questionnaire', 'the questionnaire', form);
  done.add('found');
});

/** The fieldset of question `n`. */
const question = (n) => page.getByRole('group', { name: new RegExp(`^${n}\\. `) });

test('a question left out is named; question 9 answered "Several days" shows help at once', async (t) => {
  if (needs(t, 'found')) return;
  for (let n = 1; n <= 9; n += 1) {
    if (n === 3) continue; // left out at first
    await question(n).getByLabel(n === 9 ? ANSWER : 'Several days', { exact: true }).check();
  }
  const refused = await submitAndWait(page, page.getByRole('button', { name: 'Send your answers' }));
  assert.equal(refused.status(), 422);
  assert.match(await page.title(), /^Error: /);
  const summary = page.locator('.error-summary');
  assert.equal(squash(await summary.getByRole('link').innerText()), 'Choose an answer to question 3');
  assert.equal(await question(9).getByLabel(ANSWER, { exact: true }).isChecked(), true, 'answers given are kept');
  await checkPortal('04-question-left-out', 'the questionnaire with a question left out', refused, 422);

  await question(3).getByLabel('Not at all', { exact: true }).check();
  const help = await submitAndWait(page, page.getByRole('button', { name: 'Send your answers' }));
  assert.equal(pathOf(page.url()), `${found.questionnaire}/done`);
  const alert = page.getByRole('alert');
  const words = squash(await alert.innerText());
  for (const expected of ['999', 'A&E', '111', 'option 2', '116 123', 'SHOUT', '85258', 'will see your answers']) {
    assert.ok(words.includes(expected), `the help says "${expected}": ${words}`);
  }
  const main = squash(await page.locator('main').innerText());
  assert.ok(main.indexOf('If you are thinking about hurting yourself') < main.indexOf('Your answers have been saved'), 'help comes first');
  await checkPortal('05-help-at-once', 'the page after a risk answer', help);
  done.add('answered');
});

test('the therapist sees the flag first on Today, reads the answers and acknowledges it', async (t) => {
  if (needs(t, 'answered')) return;
  const today = await office.goto(at('/office'));
  const first = office.locator('main h1 + *');
  assert.equal(await first.getAttribute('role'), 'alert', 'the first thing after the heading is the flag');
  assert.match(squash(await first.innerText()), /^A questionnaire needs your attention/);
  await checkOffice('06-today-flag', 'Today with a flag', today);
  const answers = await submitAndWait(office, first.getByRole('link', { name: /^PHQ-9 from E\.M\./ }));
  const attention = office.locator('tr.row-attention');
  assert.equal(await attention.count(), 1, 'one answer needs attention');
  assert.match(squash(await attention.innerText()), /^9\. Thoughts that you would be better off dead/);
  await checkOffice('07-answers', 'the answers item by item', answers);
  // A note is needed.
  const empty = await submitAndWait(office, office.getByRole('button', { name: 'Acknowledge' }));
  assert.equal(empty.status(), 422);
  await checkOffice('08-note-needed', 'acknowledging without a note', empty, 422);
  await office.getByLabel('What have you done, or will you do?').fill('Rang Eleanor at once; she is safe and we will talk on Tuesday.');
  const acknowledged = await submitAndWait(office, office.getByRole('button', { name: 'Acknowledge' }));
  assert.ok(squash(await office.locator('main').innerText()).includes('You acknowledged this on'));
  await checkOffice('09-acknowledged', 'the acknowledged questionnaire', acknowledged);
  await office.goto(at('/office'));
  assert.equal(await office.getByText('needs your attention').count(), 0, 'the flag is gone from Today');
  done.add('acknowledged');
});

test("the client's page shows the chart, the change in words and every score to the accessibility tree", async (t) => {
  if (needs(t, 'acknowledged')) return;
  const record = await office.goto(at(`${found.client}#measures`));
  const chart = office.getByRole('img', { name: 'PHQ-9 scores by session' });
  assert.equal(await chart.count(), 1, 'the chart is an image with a name');
  const table = office.getByRole('table', { name: 'Every PHQ-9 score' });
  // Rows hidden from sight stay in the accessibility tree: every score is there.
  assert.equal(await table.getByRole('row').count(), 1 + 4, 'a header and the four scores');
  const snapshot = await table.ariaSnapshot();
  assert.ok(snapshot.includes('Risk answer'), `the risk answer is marked in the table:\n${snapshot}`);
  const words = squash(await office.locator('section.measure').first().innerText());
  assert.ok(/From 17|from 17/.test(words), `the change from the first score: ${words}`);
  assert.ok(words.includes('clinical cut-off (10)'), words);
  await checkOffice('10-chart', "the client's page with the chart", record);
});
