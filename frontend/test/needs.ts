// The rule for tests that need root or the reference mtr-packet: on a user's machine they skip
// and say why; in CI (CI=true) they never skip: they run, and fail where they cannot.

const inCI = process.env.CI === 'true' || process.env.CI === '1';

/** true when the suite should be skipped here (and the reason has been printed) */
export function skipUnless(ok: boolean, why: string): boolean {
  if (ok || inCI) return false;
  console.warn(`SKIPPED: ${why}`);
  return true;
}
