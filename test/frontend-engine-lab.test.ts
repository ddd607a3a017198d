// mtr-ts's engine in the netns lab: three targets (IPv4 and IPv6, different destinations) in one run share one
// packet process (counted through a wrapper that logs every start), are probed at the same time (every target
// sends before any finishes; the run takes about as long as one target), and each report equals that target's
// report from a run of its own. --ndjson and --json-rich from real runs validate against frontend/schema/.

import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeLab, useLab } from './lab/use-lab.js';
import { ourFrontend, ourPacket } from './support/env.js';
import { reportRows } from './support/mtr-output.js';
import type { ExecResult } from './lab/lab.js';
import { explain, validateEventLine, validateReport } from '../frontend/test/schemas.js';

const RUN_MS = 30_000;
const TEST_MS = 90_000;
const ARGS = ['-n', '-c', '5', '-i', '0.2'];

function show(what: string, r: ExecResult): string {
  return `${what}: exit ${r.code ?? r.signal}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** The reports of a multi-target `-r` run, in order (each begins with its Start: line). */
function splitReports(out: string): string[] {
  return out
    .split(/^(?=Start: )/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

describeLab('mtr-ts engine: several targets in one run', () => {
  const lab = useLab({ delaysMs: [1, 2, 3, 1] });
  const dir = mkdtempSync(join(tmpdir(), 'mtrts-engine-lab-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** MTR_PACKET for a run: our packet program behind a wrapper that logs each start to `log` */
  function countingPacket(log: string): string {
    const wrapper = join(dir, `packet-${log.replace(/\W/g, '_')}.sh`);
    writeFileSync(
      wrapper,
      `#!/bin/sh\necho "$$" >> ${JSON.stringify(join(dir, log))}\nexec ${JSON.stringify(ourPacket)} "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    writeFileSync(join(dir, log), '');
    return wrapper;
  }
  const starts = (log: string): number =>
    readFileSync(join(dir, log), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0).length;

  async function mtrTs(args: string[], log: string): Promise<{ r: ExecResult; ms: number }> {
    const env: NodeJS.ProcessEnv = { ...process.env, MTR_PACKET: countingPacket(log) };
    delete env.MTR_OPTIONS;
    const t0 = Date.now();
    const r = await lab().exec('client', [process.execPath, ourFrontend, ...args], { timeoutMs: RUN_MS, env });
    return { r, ms: Date.now() - t0 };
  }

  const targets = (): string[] => [lab().hops4[3], lab().hops6[3], lab().hops4[2]];

  it(
    "-r A B C: one packet process, about one target's time, three reports in order, each equal to its own run",
    async () => {
      const [a, b, c] = targets() as [string, string, string];
      const all = await mtrTs([...ARGS, '-r', a, b, c], 'all.log');
      expect(all.r.code, show('mtr-ts A B C', all.r)).toBe(0);
      expect(starts('all.log')).toBe(1);
      const one = await mtrTs([...ARGS, '-r', a], 'one.log');
      expect(one.r.code, show('mtr-ts A', one.r)).toBe(0);
      const others = await Promise.all([mtrTs([...ARGS, '-r', b], 'b.log'), mtrTs([...ARGS, '-r', c], 'c.log')]);
      console.log(`three targets in one run: ${all.ms} ms; one target alone: ${one.ms} ms`);
      // one after another would take three times as long; together, about as long as one (loose: a busy machine)
      expect(all.ms, `${all.ms} ms for three vs ${one.ms} ms for one`).toBeLessThan(2 * one.ms + 1000);

      const reports = splitReports(all.r.stdout);
      expect(reports, all.r.stdout).toHaveLength(3);
      const alone = [one.r, others[0].r, others[1].r];
      const expectedHops = [lab().hops4, lab().hops6, lab().hops4.slice(0, 3)];
      reports.forEach((rep, i) => {
        const rows = reportRows(rep);
        const own = reportRows(alone[i]!.stdout);
        expect(
          rows.map((x) => [x.hop, x.host]),
          rep,
        ).toEqual(expectedHops[i]!.map((h, k) => [k + 1, h]));
        expect(
          rows.map((x) => [x.hop, x.host, x.lossPct, x.sent]),
          `${rep}\n--- alone\n${alone[i]!.stdout}`,
        ).toEqual(own.map((x) => [x.hop, x.host, x.lossPct, x.sent]));
        for (const row of rows) expect([row.lossPct, row.sent], rep).toEqual([0, 5]);
      });
    },
    TEST_MS,
  );

  it(
    '--ndjson: every line validates, every target sends before any finishes, one packet process',
    async () => {
      const [a, b, c] = targets() as [string, string, string];
      const { r } = await mtrTs([...ARGS, '--ndjson', a, b, c], 'ndjson.log');
      expect(r.code, show('mtr-ts --ndjson', r)).toBe(0);
      expect(starts('ndjson.log')).toBe(1);
      const lines = r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; seq: number; target: { id: number; address: string } | null });
      for (const l of lines)
        expect(validateEventLine(l), `${JSON.stringify(l)}\n${explain(validateEventLine.errors)}`).toBe(true);
      expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i));
      const firstDone = lines.findIndex((l) => l.type === 'target_done');
      for (const id of [1, 2, 3]) {
        const firstSent = lines.findIndex((l) => l.type === 'probe_sent' && l.target?.id === id);
        expect(firstSent, `target ${id}`).toBeGreaterThan(0);
        expect(firstSent, `target ${id} sends before any target is done`).toBeLessThan(firstDone);
      }
      const reached = lines.filter(
        (l) => l.type === 'probe_answered' && (l as unknown as { destination: boolean }).destination,
      );
      expect(new Set(reached.map((l) => l.target!.address))).toEqual(new Set([a, b, c]));
      expect(lines.at(-1)).toMatchObject({ type: 'end', reason: 'completed', dropped_events: 0 });
    },
    TEST_MS,
  );

  it(
    '--json-rich: validates, with per-responder statistics and percentiles for every hop of each target',
    async () => {
      const [a, b, c] = targets() as [string, string, string];
      const { r } = await mtrTs([...ARGS, '--json-rich', a, b, c], 'rich.log');
      expect(r.code, show('mtr-ts --json-rich', r)).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(validateReport(doc), explain(validateReport.errors)).toBe(true);
      expect(doc.targets.map((t: { target: { address: string } }) => t.target.address)).toEqual([a, b, c]);
      const expectedHops = [lab().hops4, lab().hops6, lab().hops4.slice(0, 3)];
      doc.targets.forEach(
        (
          t: {
            status: string;
            path: { reached: boolean; destination_ttl: number };
            hops: Array<{
              address: string;
              lifetime: { sent: number; loss_percent: number; percentiles_ms: { p50: number } | null };
              responders: Array<{ address: string; stats: { received: number } }>;
            }>;
          },
          i: number,
        ) => {
          expect(t.status).toBe('done');
          expect(t.path).toMatchObject({ reached: true, destination_ttl: expectedHops[i]!.length });
          expect(t.hops.map((h) => h.address)).toEqual([...expectedHops[i]!]);
          for (const h of t.hops) {
            expect(h.lifetime).toMatchObject({ sent: 5, loss_percent: 0 });
            expect(h.lifetime.percentiles_ms?.p50).toBeGreaterThan(0);
            expect(h.responders.map((x) => [x.address, x.stats.received])).toEqual([[h.address, 5]]);
          }
        },
      );
    },
    TEST_MS,
  );
});

describe('frontend-engine-lab helpers', () => {
  it('splits a multi-target report at each Start: line', () => {
    expect(splitReports('Start: a\nHOST: x\nStart: b\nHOST: y\n')).toEqual(['Start: a\nHOST: x', 'Start: b\nHOST: y']);
  });
});
