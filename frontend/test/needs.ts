// The rule for tests that need root or the reference mtr-packet lives in one place for every
// package: test/support/env.ts (skip with a printed reason here, fail in CI).

export { skipUnless } from '../../test/support/env.js';
