/**
 * Vitest glue for the netns lab.
 *
 *   describeLab('my suite', () => {
 *     const lab = useLab({ delaysMs: [1, 5, 10, 2] });
 *     it('...', async () => { await lab().exec('client', [...]); });
 *   });
 *
 * `describeLab` skips (with a visible console line) when the lab cannot run here, except in CI (env CI set and
 * not "false"/"0"), where the suite fails instead, so a misconfigured runner is never silently green.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { inCI as ciRun, requirements } from '../support/env.js';
import { canRunLab, createLab, type Lab, type LabOptions } from './lab.js';

/** Whether this is a CI run: the one rule, from test/support/env.ts. */
export function inCI(): boolean {
  return ciRun;
}

/**
 * `describe` that skips (saying why, on screen and in its name), or in CI fails, when the lab cannot run on
 * this machine: the one rule of test/support/env.ts (requirements).
 */
export function describeLab(name: string, fn: () => void): void {
  const can = canRunLab();
  const skip = requirements(name, [[can.ok, can.ok ? '' : `netns lab: ${can.reason}`]]);
  describe.skipIf(skip !== undefined)(skip === undefined ? name : `${name} (skipped: ${skip})`, fn);
}

/**
 * Create a lab in beforeAll and tear it down in afterAll of the enclosing describe.
 * Returns an accessor (the lab does not exist yet when the describe body runs).
 */
export function useLab(opts?: LabOptions): () => Lab {
  let lab: Lab | undefined;
  beforeAll(async () => {
    lab = await createLab(opts);
  });
  afterAll(async () => {
    await lab?.teardown();
  });
  return () => {
    if (!lab) throw new Error('lab not created (did beforeAll fail?)');
    return lab;
  };
}
