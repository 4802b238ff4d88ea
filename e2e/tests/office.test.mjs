// The therapist's back office: sign in, write and preview an article, publish it, find it
// on the public site (article page, tag page, Atom feed), sign out for real.

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
  watchRequests,
} from '../support/browser.mjs';
import { freshArtifactDir } from '../support/paths.mjs';
import { DEMO_EMAIL, DEMO_PASSWORD, startServer } from '../support/server.mjs';

const ARTICLE = {
  title: 'A test article about sleep',
  slug: 'a-test-article-about-sleep',
  summary: 'What to try when worry keeps you awake, and when to talk to someone about it.',
  heading: 'When sleep will not come',
  tags: 'sleep, anxiety',
};
const MARKDOWN = [
  'Most of us have nights when sleep will not come.',
  '',
  `## ${ARTICLE.heading}`,
  '',
  'Get up, go to another room, and come back to bed when you feel *sleepy*.',
  '',
  '- Keep regular times',
  '- Put the phone in another room',
].join('\n');

let server;
let browser;
let context;
let page;
let requests;
let shots;
const done = new Set(); // steps that passed, so later steps can skip with a clear reason

before(async () => {
  server = await startServer({ name: 'office' });
  browser = await launchBrowser();
  context = await newContext(browser, 'desktop');
  requests = watchRequests(context, server.origin);
  page = await context.newPage();
  shots = freshArtifactDir('screenshots', 'office');
});

after(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

const at = (path) => new URL(path, server.url).href;
const pathOf = (url) => new URL(url).pathname;

function needs(t, step) {
  if (done.has(step)) return false;
  t.skip(`needs "${step}", which did not pass`);
  return true;
}

async function assertAccessible(what) {
  assertNoProblems(await axeViolations(page), `axe on ${what}`);
}

test('the therapist signs in and lands on the dashboard', async () => {
  const response = await page.goto(at('/office/sign-in'));
  assert.equal(response?.status(), 200, 'GET /office/sign-in should answer 200');
  await page.screenshot({ path: join(shots, 'sign-in.png'), fullPage: true });
  await assertAccessible('the sign-in page');

  await page.getByLabel('Email address').fill(DEMO_EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(DEMO_PASSWORD);
  const landed = await submitAndWait(page, page.getByRole('button', { name: 'Sign in' }));
  assert.equal(landed.status(), 200, `signing in should end on a 200 page, got ${landed.status()} (${redirectChain(landed).join(' -> ')})`);
  assert.equal(pathOf(page.url()), '/office', `signing in should land on /office (${redirectChain(landed).join(' -> ')})`);
  const h1 = page.getByRole('heading', { level: 1 });
  assert.equal(await h1.count(), 1, 'the dashboard should have one h1');
  assert.match(await h1.innerText(), /Dashboard|Today/, 'the dashboard h1 should say "Dashboard" or "Today"');
  await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });
  await assertAccessible('the dashboard');

  const cookies = await context.cookies();
  assert.ok(cookies.length >= 1, 'signing in should set a session cookie');
  for (const cookie of cookies) {
    assert.ok(cookie.httpOnly, `the cookie ${cookie.name} should be HttpOnly`);
    assert.notEqual(cookie.sameSite, 'None', `the cookie ${cookie.name} should be SameSite Lax or Strict`);
  }
  done.add('sign in');
});

test('a new article can be written and previewed', async (t) => {
  if (needs(t, 'sign in')) return;
  const response = await page.goto(at('/office/articles/new'));
  assert.equal(response?.status(), 200, 'GET /office/articles/new should answer 200');
  await page.screenshot({ path: join(shots, 'article-new.png'), fullPage: true });
  await assertAccessible('the new-article page');

  await page.getByLabel('Title', { exact: true }).fill(ARTICLE.title);
  await page.getByLabel('Web address (slug)').fill(ARTICLE.slug);
  await page.getByLabel('Summary', { exact: true }).fill(ARTICLE.summary);
  await page.getByLabel('Article text (Markdown)').fill(MARKDOWN);
  await page.getByLabel('Tags', { exact: true }).fill(ARTICLE.tags);

  // Preview works without JavaScript (a form post that re-renders the editor) or with it.
  await page.getByRole('button', { name: 'Preview' }).click();
  const preview = page.getByRole('region', { name: /preview/i });
  const previewHeading = preview.getByRole('heading', { name: ARTICLE.heading });
  try {
    await previewHeading.waitFor({ state: 'visible' });
  } catch (error) {
    const regions = await page.getByRole('region').count();
    throw new Error(
      `after "Preview", a region named "Preview" should show the heading "${ARTICLE.heading}" ` +
        `rendered from Markdown (page ${page.url()}, ${regions} named region(s) on the page)`,
      { cause: error },
    );
  }
  await page.waitForLoadState('load');
  assert.equal(await page.getByLabel('Title', { exact: true }).inputValue(), ARTICLE.title, 'the title should be kept after previewing');
  assert.equal(await page.getByLabel('Article text (Markdown)').inputValue(), MARKDOWN, 'the Markdown should be kept after previewing');
  await page.screenshot({ path: join(shots, 'article-preview.png'), fullPage: true });
  await assertAccessible('the article editor with a preview');
  done.add('write');
});

test('the article is published and appears on the public site', async (t) => {
  if (needs(t, 'write')) return;
  await page.getByLabel('Published on the site').check();
  const saved = await submitAndWait(page, page.getByRole('button', { name: 'Save article' }));
  assert.ok(saved.status() < 400, `saving the article should succeed, got ${saved.status()} at ${saved.url()}`);
  assert.doesNotMatch(await page.title(), /^Error: /, `saving should not show errors: ${await page.title()}`);
  await page.screenshot({ path: join(shots, 'article-saved.png'), fullPage: true });

  const article = await page.goto(at(`/articles/${ARTICLE.slug}`));
  assert.equal(article?.status(), 200, `GET /articles/${ARTICLE.slug} should answer 200`);
  assert.ok(
    await page.getByRole('heading', { level: 1, name: ARTICLE.title }).isVisible(),
    'the article page should show the title as its h1',
  );
  assert.ok(await page.getByRole('heading', { name: ARTICLE.heading }).isVisible(), 'the article page should show the Markdown heading');

  const tag = await page.goto(at('/tags/sleep'));
  assert.equal(tag?.status(), 200, 'GET /tags/sleep should answer 200');
  assert.ok((await page.getByRole('link', { name: ARTICLE.title }).count()) >= 1, 'the tag page for "sleep" should link to the new article');

  const feed = await page.request.get(at('/feed.xml'));
  assert.equal(feed.status(), 200, 'GET /feed.xml should answer 200');
  assert.ok((await feed.text()).includes(ARTICLE.title), 'the Atom feed should include the new article');
  done.add('publish');
});

test('signing out ends the session on the server', async (t) => {
  if (needs(t, 'sign in')) return;
  await page.goto(at('/office'));
  const sessionCookies = await context.cookies();
  await submitAndWait(page, page.getByRole('button', { name: 'Sign out' }));

  const office = await page.goto(at('/office'));
  assert.equal(pathOf(page.url()), '/office/sign-in', `after signing out, /office should redirect to the sign-in page (${redirectChain(office).join(' -> ')})`);

  // The old session cookie must be dead on the server, not only removed from the browser.
  await context.addCookies(sessionCookies);
  const replayed = await page.goto(at('/office'));
  assert.equal(
    pathOf(page.url()),
    '/office/sign-in',
    `a session cookie from before signing out should no longer work (${redirectChain(replayed).join(' -> ')})`,
  );
  await context.clearCookies();
});

test('the office made no requests to other sites', () => {
  const { foreign, failed } = requests.take();
  assertNoProblems(
    [...foreign.map((url) => `request to another origin: ${url}`), ...failed.map((r) => `a resource failed to load: ${r}`)],
    'requests',
  );
});
