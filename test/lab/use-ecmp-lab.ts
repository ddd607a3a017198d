/**
 * Vitest glue for the ECMP lab (ecmp-lab.ts), as use-lab.ts's useLab is for the path lab.
 *
 *   describe('my ECMP suite', () => {
 *     const lab = useEcmpLab({ lossPct: 30 });
 *     it('...', async () => { await lab().exec('client', [...]); });
 *   });
 */
import { afterAll, beforeAll } from 'vitest';
import { createEcmpLab, type EcmpLab, type EcmpLabOptions } from './ecmp-lab.js';

/** Building it (five namespaces, routes, nftables) takes a few seconds on a busy machine. */
const SETUP_MS = 30_000;

/**
 * Create an ECMP lab in beforeAll and tear it down in afterAll of the enclosing describe (also when its tests
 * failed). Returns an accessor: the lab does not exist yet when the describe body runs.
 */
export function useEcmpLab(opts?: EcmpLabOptions): () => EcmpLab {
  let lab: EcmpLab | undefined;
  beforeAll(async () => {
    lab = await createEcmpLab(opts);
  }, SETUP_MS);
  afterAll(async () => {
    await lab?.teardown();
  });
  return () => {
    if (lab === undefined) throw new Error('ECMP lab not created (did beforeAll fail?)');
    return lab;
  };
}
