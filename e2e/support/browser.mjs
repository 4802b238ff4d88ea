// Debian's Chromium driven by playwright-core, and the checks every page gets.
// Nothing here downloads a browser: the executable is /usr/bin/chromium
// (`apt-get install -y chromium`), or CHROMIUM_BIN when set.

import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

import { assertNoProblems as assertNoProblemsHere } from './problems.mjs';

export { assertNoProblems } from './problems.mjs';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
];

/** The two widths every page is looked at in (UX.md: 390 px and 1280 px). */
export const VIEWPORTS = {
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 },
  desktop: { viewport: { width: 1280, height: 900 }, isMobile: false, hasTouch: false, deviceScaleFactor: 1 },
};

/** WCAG 2.0, 2.1 and 2.2, levels A and AA. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

/**
 * Launch headless Chromium. Each launch gets a fresh temporary profile (user-data dir)
 * that playwright removes again on close().
 */
export async function launchBrowser() {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(
      `No Chromium at ${CHROMIUM}. Install Debian's package (apt-get install -y chromium) ` +
        'or set CHROMIUM_BIN. Never download a browser with `playwright install`.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** A new browser context (its own cookie jar) at one of VIEWPORTS. */
export async function newContext(browser, viewportName) {
  const device = VIEWPORTS[viewportName];
  if (!device) throw new Error(`unknown viewport ${viewportName}`);
  const context = await browser.newContext({
    ...device,
    locale: 'en-GB',
    timezoneId: 'Europe/London',
  });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(30_000);
  return context;
}

/** axe-core's violations on the page, each written out as readable text ([] when clean). */
export async function axeViolations(page) {
  const results = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();
  return results.violations.map(formatViolation);
}

function formatViolation(violation) {
  const nodes = violation.nodes
    .map((node) => {
      const summary = (node.failureSummary ?? '').replace(/\s*\n\s*/g, ' ');
      return `      - ${JSON.stringify(node.target)}: ${summary}\n        ${node.html}`;
    })
    .join('\n');
  return `axe ${violation.id} (${violation.impact}): ${violation.help}\n      ${violation.helpUrl}\n${nodes}`;
}

/**
 * Record every request the context makes and report those that leave the server's origin
 * (data: URLs are allowed) and sub-resources that fail (status 400 or more; the page's own
 * status is checked by the test, and the browser's automatic /favicon.ico is left out).
 * take() returns what was seen since the last take().
 */
export function watchRequests(context, origin) {
  let seen = { all: [], foreign: [], failed: [] };
  context.on('request', (request) => {
    const url = request.url();
    seen.all.push(url);
    if (url.startsWith('data:')) return;
    let requestOrigin;
    try {
      requestOrigin = new URL(url).origin;
    } catch {
      requestOrigin = `(unparseable) ${url}`;
    }
    if (requestOrigin !== origin) seen.foreign.push(url);
  });
  context.on('response', (response) => {
    const request = response.request();
    if (response.status() < 400 || request.isNavigationRequest()) return;
    if (new URL(response.url()).pathname === '/favicon.ico') return;
    seen.failed.push(`${request.method()} ${response.url()} answered ${response.status()}`);
  });
  return {
    take() {
      const out = seen;
      seen = { all: [], foreign: [], failed: [] };
      return out;
    },
  };
}

/** Console errors (a CSP violation shows up here) and uncaught exceptions on a page; take() returns those since the last take(). */
export function watchConsole(page) {
  let errors = [];
  page.on('console', (message) => {
    // Failed loads are reported with their URL by watchRequests(); skip the console's copy.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      errors.push(`console error: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  return {
    take() {
      const out = errors;
      errors = [];
      return out;
    },
  };
}

/** The words of the urgent-help block (SECURITY.md R15) that must be on every page. */
export const CRISIS_WORDS = ['Samaritans', '116 123', 'SHOUT', '85258'];

/** What is missing from the page's urgent-help block ([] when all there). */
export async function crisisBlockProblems(page) {
  const text = await page.locator('body').innerText();
  const missing = CRISIS_WORDS.filter((word) => !text.includes(word));
  return missing.length === 0
    ? []
    : [`the urgent-help block is missing or incomplete: no ${missing.map((w) => JSON.stringify(w)).join(', ')} in the page text`];
}

/**
 * Click a submit button and wait for the page the server answers with, following redirects.
 * Returns the final (non-redirect) main-frame response. Fails clearly if the browser never
 * submits (for example `required` fields without `novalidate` stop an empty form).
 */
export async function submitAndWait(page, button, { timeout = 15_000 } = {}) {
  const answered = page.waitForResponse(
    (response) =>
      response.request().isNavigationRequest() &&
      response.request().frame() === page.mainFrame() &&
      !(response.status() >= 300 && response.status() < 400),
    { timeout },
  );
  await button.click();
  let response;
  try {
    response = await answered;
  } catch (error) {
    throw new Error(
      `clicking ${button} did not lead to a new page within ${timeout / 1000} s ` +
        '(did browser validation, e.g. `required` without `novalidate`, stop the form?)',
      { cause: error },
    );
  }
  await page.waitForLoadState('load');
  return response;
}

/** Every request (method and URL) from the first one to `response`, to explain redirects. */
export function redirectChain(response) {
  const chain = [];
  for (let request = response.request(); request; request = request.redirectedFrom()) {
    chain.unshift(`${request.method()} ${request.url()}`);
  }
  return chain;
}

/**
 * A back-office page check for one test file: `check(name, what, response, status = 200)`
 * saves `<shots>/<name>.png`, then fails with every problem at once — the wrong status, an
 * "Error: " title, axe violations, requests to other origins, failed sub-resources and
 * console errors (since the last check).
 */
export function pageChecker({ page, requests, consoleErrors, shots }) {
  return async function check(name, what, response, expectedStatus = 200) {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    const problems = [];
    if (!response) problems.push('no response');
    else if (response.status() !== expectedStatus) problems.push(`status ${response.status()}, expected ${expectedStatus}`);
    if (expectedStatus < 400 && /^Error: /.test(await page.title())) problems.push(`the title says there is an error: ${await page.title()}`);
    problems.push(...(await axeViolations(page)));
    const { foreign, failed } = requests.take();
    problems.push(...foreign.map((url) => `request to another origin: ${url}`));
    problems.push(...failed.map((r) => `a resource failed to load: ${r}`));
    problems.push(...consoleErrors.take());
    assertNoProblemsHere(problems, `${what} (${page.url()})`);
  };
}
