// In CI a failed test runs once more (vitest.config.ts: retry). A test that passes only on its second
// run is not hidden: this reporter prints each one with the error of its first run, as it happens and
// again in a list at the end of the run. A test that fails twice fails the run as before.

import type { Reporter, TestCase } from 'vitest/node';

export default class RetriedReporter implements Reporter {
  private readonly retried: string[] = [];

  onTestCaseResult(test: TestCase): void {
    const d = test.diagnostic();
    if (d === undefined || d.retryCount === 0 || test.result().state !== 'passed') return;
    const first = test.result().errors?.[0]?.message ?? '(no message)';
    const line = `${test.module.moduleId.replace(process.cwd() + '/', '')} > ${test.fullName}: passed on run ${d.retryCount + 1}; first failure: ${first.split('\n')[0]}`;
    this.retried.push(line);
    process.stdout.write(`\nRETRIED ${line}\n`);
  }

  onTestRunEnd(): void {
    if (this.retried.length === 0) return;
    process.stdout.write(`\n${this.retried.length} test(s) passed only when run again (CI retries once):\n`);
    for (const l of this.retried) process.stdout.write(`  RETRIED ${l}\n`);
  }
}
