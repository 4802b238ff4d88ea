// One readable failure listing every problem found, instead of a diff of arrays.

import assert from 'node:assert/strict';

/**
 * Fail with every problem listed under a heading, or pass when there are none.
 * (One readable message instead of a diff of arrays.)
 */
export function assertNoProblems(problems, heading) {
  if (problems.length > 0) {
    assert.fail(`${heading}: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  }
}
