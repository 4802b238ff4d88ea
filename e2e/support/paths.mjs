// Where the suite writes what a person (or CI) looks at afterwards.

import { mkdirSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The e2e/ folder. */
export const E2E_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** e2e/artifacts/: screenshots, raw HTML, the server log. Ignored by git. */
export const ARTIFACTS = resolve(E2E_DIR, 'artifacts');

/** A fresh, empty artifacts/<parts...> folder (old files from earlier runs removed). */
export function freshArtifactDir(...parts) {
  const dir = resolve(ARTIFACTS, ...parts);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * A file name for a URL path: "/" -> "home", "/articles/what-is-x" -> "articles-what-is-x",
 * "/tags/sleep?page=2" -> "tags-sleep-page-2".
 */
export function pathSlug(path) {
  const slug = path
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug === '' ? 'home' : slug;
}
