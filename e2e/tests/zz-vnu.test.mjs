// The raw HTML of every public page, checked by the Nu HTML Checker (vnu.jar from the
// vnu-jar npm package, run with the system's Java 11+). Errors fail the test; warnings do not.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { assertNoProblems } from '../support/problems.mjs';
import { pathSlug } from '../support/paths.mjs';
import { getWithHost, startServer } from '../support/server.mjs';
import { sitemapPaths } from '../support/sitemap.mjs';
import { VNU_JAR, vnuErrors } from '../support/vnu.mjs';

/** Pages outside the sitemap that must validate too, with the status they answer. */
const EXTRA_PAGES = [
  ['/contact', 200],
  ['/office/sign-in', 200],
  ['/portal/sign-in', 200],
  ['/book/times?location=balham', 200],
  // Tuesday 30 March 2027, 10am BST: a free Chancery Lane slot on the demo clock.
  ['/book/details?location=chancery-lane&start=2027-03-30T09:00:00Z', 200],
  ['/no-such-page', 404],
];

/** The directory's pages (`demo --hosted`'s find.localhost), with the status they answer. */
const DIRECTORY_PAGES = [
  ['/', 200],
  ['/?help=anxiety&meeting=online&within=14', 200],
  ['/?help=loss&help=trauma&meeting=in-person&near=SW12&fee=90&concessions=true&approach=psychodynamic&way=open-ended&body=ukcp&language=English&q=grief', 200],
  ['/?fee=lots&near=nowhere-at-all&within=99', 422],
  ['/how-listings-are-ordered', 200],
  ['/listings/no-such-listing', 404],
];

let server;
let dir;

before(async () => {
  server = await startServer({ name: 'vnu' });
  dir = mkdtempSync(join(tmpdir(), 'anteroom-vnu-'));
});

after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('every page is valid HTML (Nu HTML Checker, errors only)', { timeout: 300_000 }, async (t) => {
  const { paths } = await sitemapPaths(server.url);
  const pages = [...paths.map((path) => [path, 200]), ...EXTRA_PAGES.filter(([path]) => !paths.includes(path))];

  const fileToPath = new Map();
  const fetchProblems = [];
  for (const [path, expected] of pages) {
    const response = await fetch(new URL(path, server.url), { redirect: 'manual' });
    const html = await response.text();
    if (response.status !== expected) {
      fetchProblems.push(`${path}: status ${response.status}, expected ${expected}`);
      continue;
    }
    const file = join(dir, `${pathSlug(path)}.html`);
    writeFileSync(file, html);
    fileToPath.set(file, path);
  }
  assert.ok(fileToPath.size > 0, `no page could be fetched:\n${fetchProblems.join('\n')}`);
  t.diagnostic(`checking ${fileToPath.size} pages with ${VNU_JAR}`);

  const errors = await vnuErrors(fileToPath);

  const problems = [...fetchProblems, ...errors];
  assertNoProblems(problems, `Nu HTML Checker on ${pages.length} pages`);
});

test("the directory's pages are valid HTML too (Nu HTML Checker, errors only)", { timeout: 300_000 }, async (t) => {
  const find = 'find.localhost';
  const hosted = await startServer({ name: 'vnu-directory', extraArgs: ['--hosted'], readyHost: find });
  try {
    const host = `${find}:${hosted.port}`;
    // The directory lists its practices at its first refresh, which may end just after
    // the server answers: wait for it (up to 30 s) rather than read an empty directory.
    let listing = null;
    for (const deadline = Date.now() + 30_000; !listing && Date.now() < deadline; ) {
      const home = await getWithHost(hosted.port, host, '/');
      listing = home.body.match(/href="(\/listings\/[0-9a-f-]{36})"/);
      if (!listing) await new Promise((ok) => setTimeout(ok, 200));
    }
    assert.ok(listing, 'the directory lists a practice within 30 s');
    const pages = [...DIRECTORY_PAGES, [listing[1], 200]];
    const fileToPath = new Map();
    const fetchProblems = [];
    for (const [path, expected] of pages) {
      const response = await getWithHost(hosted.port, host, path);
      if (response.status !== expected) {
        fetchProblems.push(`${path}: status ${response.status}, expected ${expected}`);
        continue;
      }
      const file = join(dir, `directory-${pathSlug(path)}.html`);
      writeFileSync(file, response.body);
      fileToPath.set(file, path);
    }
    t.diagnostic(`checking ${fileToPath.size} directory pages`);
    const errors = await vnuErrors(fileToPath);
    assertNoProblems([...fetchProblems, ...errors], `Nu HTML Checker on ${pages.length} directory pages`);
  } finally {
    await hosted.stop();
  }
});
