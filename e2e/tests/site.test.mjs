// Every public page in the sitemap, at phone and desktop widths:
// 200, no axe violations (WCAG 2.2 AA), the urgent-help block, no third-party requests,
// no cookies for an anonymous visitor; screenshots and raw HTML saved for people to look at.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertNoProblems,
  axeViolations,
  crisisBlockProblems,
  launchBrowser,
  newContext,
  redirectChain,
  watchConsole,
  watchRequests,
} from '../support/browser.mjs';
import { ARTIFACTS, freshArtifactDir, pathSlug } from '../support/paths.mjs';
import { startServer } from '../support/server.mjs';
import { sitemapPaths } from '../support/sitemap.mjs';

let server;
let browser;
let sitemap;
let htmlDir;

before(async () => {
  server = await startServer({ name: 'site' });
  browser = await launchBrowser();
  htmlDir = freshArtifactDir('html');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the sitemap lists the public pages', async (t) => {
  sitemap = await sitemapPaths(server.url);
  t.diagnostic(`sitemap: ${sitemap.paths.length} pages: ${sitemap.paths.join(' ')}`);
  if (!sitemap.origins.every((origin) => origin === server.origin)) {
    t.diagnostic(`sitemap origins ${sitemap.origins.join(', ')} differ from ${server.origin}; using paths only`);
  }
  assert.ok(sitemap.paths.includes('/'), `the sitemap should list the home page "/"; it lists ${sitemap.paths.join(', ')}`);
  assert.equal(sitemap.count, sitemap.paths.length, 'the sitemap should list each page once');
});

/** Everything wrong with one page, as readable lines ([] when the page is fine). */
async function checkPage({ page, path, viewport, requests, consoleErrors, screenshotDir, saveHtml }) {
  const url = new URL(path, server.url).href;
  const problems = [];
  requests.take();
  consoleErrors.take();

  const response = await page.goto(url);
  if (!response) return [`no response for ${url}`];
  if (response.status() !== 200) problems.push(`status ${response.status()}, expected 200`);
  if (response.request().redirectedFrom()) {
    problems.push(`was redirected (${redirectChain(response).join(' -> ')}); the sitemap should list final URLs`);
  }

  problems.push(...(await axeViolations(page)));
  problems.push(...(await crisisBlockProblems(page)));

  await page.screenshot({ path: join(screenshotDir, `${pathSlug(path)}.png`), fullPage: true });
  if (saveHtml) {
    const raw = await page.request.get(url);
    writeFileSync(join(htmlDir, `${pathSlug(path)}.html`), await raw.text());
  }

  const { foreign, failed } = requests.take();
  for (const request of foreign) problems.push(`request to another origin: ${request}`);
  for (const request of failed) problems.push(`a resource failed to load: ${request}`);
  problems.push(...consoleErrors.take());
  return problems.map((problem) => `[${viewport}] ${path}: ${problem}`);
}

for (const viewport of ['phone', 'desktop']) {
  test(`${viewport}: every sitemap page is reachable, accessible and private`, { timeout: 600_000 }, async (t) => {
    assert.ok(sitemap, 'the sitemap test must pass first');
    const context = await newContext(browser, viewport);
    const requests = watchRequests(context, server.origin);
    const page = await context.newPage();
    const consoleErrors = watchConsole(page);
    const screenshotDir = freshArtifactDir('screenshots', viewport);
    const allProblems = [];
    try {
      for (const path of sitemap.paths) {
        // One subtest per page, so the report names each page; every page is checked even
        // when an earlier one fails, and the parent test collects everything.
        await t.test(path, async () => {
          const problems = await checkPage({
            page, path, viewport, requests, consoleErrors, screenshotDir, saveHtml: viewport === 'desktop',
          });
          allProblems.push(...problems);
          assertNoProblems(problems, `${path} at ${viewport} width`);
        });
      }
      const cookies = await context.cookies();
      const cookieProblems = cookies.map(
        (cookie) => `[${viewport}] a cookie was set for an anonymous visitor: ${cookie.name} (domain ${cookie.domain}, path ${cookie.path})`,
      );
      allProblems.push(...cookieProblems);
      assertNoProblems(allProblems, `${sitemap.paths.length} sitemap pages at ${viewport} width`);
    } finally {
      await context.close();
    }
  });
}

test('an unknown address gets a helpful, accessible 404 page', async () => {
  const context = await newContext(browser, 'phone');
  const requests = watchRequests(context, server.origin);
  try {
    const page = await context.newPage();
    const response = await page.goto(new URL('/no-such-page', server.url).href);
    assert.ok(response, 'no response for /no-such-page');
    const problems = [];
    if (response.status() !== 404) problems.push(`status ${response.status()}, expected 404`);
    problems.push(...(await axeViolations(page)));
    problems.push(...(await crisisBlockProblems(page)));
    const { foreign, failed } = requests.take();
    for (const request of foreign) problems.push(`request to another origin: ${request}`);
    for (const request of failed) problems.push(`a resource failed to load: ${request}`);
    const cookies = await context.cookies();
    for (const cookie of cookies) problems.push(`a cookie was set for an anonymous visitor: ${cookie.name}`);
    const dir = join(ARTIFACTS, 'screenshots', 'phone');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, 'no-such-page.png'), fullPage: true });
    assertNoProblems(problems, '/no-such-page');
  } finally {
    await context.close();
  }
});
