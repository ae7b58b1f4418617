// Reads jest's JSON results: fails on failed, skipped or todo tests, on an empty run, and when a
// test tier (unit, int, e2e) ran no suite. Prints one closing line in the plain "N passed, N failed" form.
import { readFileSync } from 'node:fs';

const results = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const problems = [];
const skipped = results.numPendingTests + results.numTodoTests;
if (results.numTotalTests === 0) problems.push('no test ran');
if (skipped > 0) problems.push(`${skipped} test(s) skipped or todo; CI runs every suite`);
if (results.numPendingTestSuites > 0) problems.push(`${results.numPendingTestSuites} suite(s) skipped`);
if (results.numRuntimeErrorTestSuites > 0) problems.push(`${results.numRuntimeErrorTestSuites} suite(s) failed to run`);
for (const tier of ['unit', 'int', 'e2e']) {
  const ran = results.testResults.filter((suite) => suite.name.includes(`.${tier}.spec.`)).length;
  if (ran === 0) problems.push(`no ${tier} suite ran`);
}
for (const suite of results.testResults) {
  for (const test of suite.assertionResults) {
    if (test.status === 'pending' || test.status === 'todo' || test.status === 'skipped') {
      problems.push(`skipped: ${test.fullName} (${suite.name})`);
    }
  }
}
for (const problem of problems) console.error(`CI: ${problem}`);
console.log(`jest: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`);
process.exit(problems.length > 0 || results.numFailedTests > 0 ? 1 : 0);
