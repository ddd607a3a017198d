// mtr-ts (frontend/bin/mtr-ts.js) on the netns lab's path, side by side with mtr 0.95 in the same lab:
// the same hops for ICMP, UDP and TCP over IPv4 and IPv6, no loss on a clean path, a silent router as `???`,
// loss on one link showing at that hop and every hop after it, mtr's JSON keys and CSV columns, and the same
// hops when mtr-ts drives the reference mtr-packet (MTR_PACKET).
//
// Every command runs inside the client namespace with a time bound; independent runs go concurrently.

import { describe, expect, it } from 'vitest';
import { describeLab, useLab } from './lab/use-lab.js';
import { ourFrontend, referenceMtr, referencePacket, requirements } from './support/env.js';
import { csvRows, jsonShape, reportHops, reportRows, type ReportRow } from './support/mtr-output.js';
import { cleanEnv } from './support/run.js';
import type { ExecResult } from './lab/lab.js';

const skip = requirements('mtr-ts against mtr 0.95 in the lab', [
  [referenceMtr !== undefined, "needs mtr 0.95 (Debian's mtr-tiny)"],
  [referencePacket !== undefined, "needs the reference mtr-packet (Debian's mtr-tiny)"],
]);

/** The TCP port dest listens on (a tiny node server, both families). */
const TCP_PORT = 8080;
/** Per-run bound: mtr waits its 5 s grace time after the last cycle. */
const RUN_MS = 30_000;
const TEST_MS = 60_000;

type Proto = 'icmp' | 'udp' | 'tcp';
const PROTO_FLAGS: Record<Proto, string[]> = { icmp: [], udp: ['-u'], tcp: ['-T', '-P', String(TCP_PORT)] };

/** The environment without anything that would change which packet program runs or which options apply. */
/**
 * TCP runs of one address family at a time (any number of the same family together). The reference mtr-packet
 * matches an ICMP error quoting a TCP header by the quoted source port alone: when an IPv4 and an IPv6 TCP run
 * overlap in the namespace, the kernel may give both probe sockets the same ephemeral port (different 4-tuples),
 * and the IPv6 run then takes r3's ICMPv4 Time Exceeded for its own (seen here: hop 3 of an IPv6 trace listed
 * as `10.0.3.2` with a 1.3 ms RTT, fd00:0:0:3::2 as a second responder).
 */
let tcpFamily: 4 | 6 | undefined;
let tcpRunning = 0;
let tcpWaiters: Array<() => void> = [];
async function tcpGate<T>(family: 4 | 6, fn: () => Promise<T>): Promise<T> {
  while (tcpRunning > 0 && tcpFamily !== family) await new Promise<void>((r) => tcpWaiters.push(r));
  tcpFamily = family;
  tcpRunning++;
  try {
    return await fn();
  } finally {
    if (--tcpRunning === 0) {
      tcpFamily = undefined;
      const w = tcpWaiters;
      tcpWaiters = [];
      for (const wake of w) wake();
    }
  }
}

/** Runs `fn` through the TCP gate when the arguments ask for TCP. */
function gated<T>(args: readonly string[], fn: () => Promise<T>): Promise<T> {
  if (!args.includes('-T')) return fn();
  return tcpGate(args.includes('-6') ? 6 : 4, fn);
}

function show(what: string, r: ExecResult): string {
  return `${what}: exit ${r.code ?? r.signal}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

describeLab('mtr-ts in the netns lab, against mtr 0.95', () => {
  const lab = useLab({ delaysMs: [1, 2, 3, 1] });
  if (skip) return;

  const hopsOf = (family: 4 | 6) => (family === 4 ? lab().hops4 : lab().hops6);
  const expectedHops = (family: 4 | 6) => hopsOf(family).map((h, i): [number, string] => [i + 1, h]);

  /** mtr-ts in the client namespace (our packet program unless `packet` names another). */
  function mtrTs(args: string[], packet?: string): Promise<ExecResult> {
    const env = cleanEnv(packet ? { MTR_PACKET: packet } : {});
    return gated(args, () => lab().exec('client', [process.execPath, ourFrontend, ...args], { timeoutMs: RUN_MS, env }));
  }
  /** mtr 0.95 with its own mtr-packet, in the client namespace. */
  function mtr(args: string[]): Promise<ExecResult> {
    return gated(args, () => lab().exec('client', [referenceMtr!, ...args], { timeoutMs: RUN_MS, env: cleanEnv() }));
  }

  describe.concurrent('clean path', () => {
    // dest listens on TCP_PORT for the -T runs (a SYN-ACK is mtr-packet's "reply"; a closed port's RST would be too).
    let listening: Promise<void> | undefined;
    function listener(): Promise<void> {
      listening ??= new Promise<void>((resolve, reject) => {
        const child = lab().spawnIn(
          'dest',
          process.execPath,
          ['-e', `require('net').createServer((s) => s.destroy()).listen(${TCP_PORT}, '::', () => console.log('listening'))`],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let err = '';
        child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
        child.stdout!.on('data', (d: Buffer) => {
          if (d.toString().includes('listening')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`TCP listener in dest exited (${code}): ${err}`)));
        setTimeout(() => reject(new Error('TCP listener in dest did not start within 5 s')), 5_000).unref();
      });
      return listening;
    }

    for (const proto of ['icmp', 'udp', 'tcp'] as const) {
      for (const family of [4, 6] as const) {
        const name =
          `${proto.toUpperCase()} IPv${family}: \`mtr-ts -n -r -c 10 -i 0.1\` lists the same hops as mtr, ` +
          `with 0.0% loss` + (proto === 'tcp' ? ` (dest listening on ${TCP_PORT})` : '');
        it(name, async () => {
          if (proto === 'tcp') await listener();
          const args = [`-${family}`, '-n', '-r', '-c', '10', '-i', '0.1', ...PROTO_FLAGS[proto], hopsOf(family)[3]];
          const [ours, theirs] = await Promise.all([mtrTs(args), mtr(args)]);
          expect(theirs.code, show('mtr', theirs)).toBe(0);
          expect(reportHops(theirs.stdout), show('mtr', theirs)).toEqual(expectedHops(family));
          expect(ours.code, show('mtr-ts', ours)).toBe(0);
          expect(reportHops(ours.stdout), show('mtr-ts', ours)).toEqual(reportHops(theirs.stdout));
          for (const row of reportRows(ours.stdout)) {
            expect(row.lossPct, `hop ${row.hop}\n${show('mtr-ts', ours)}`).toBe(0);
            expect(row.sent, `hop ${row.hop}\n${show('mtr-ts', ours)}`).toBe(10);
          }
          // mtr itself is only a reference here: it once lost 1 of 10 TCP probes at hop 3 on this clean path
          // (`  3.|-- 10.0.3.2  10.0%  10 ...`), so it gets one probe of slack; mtr-ts gets none.
          for (const row of reportRows(theirs.stdout)) expect(row.lossPct, show('mtr', theirs)).toBeLessThanOrEqual(10);
        }, TEST_MS);
      }
    }

    it('-j: JSON with mtr 0.95\'s keys, key order and value types, and the same hubs', async () => {
      const HUB_KEYS = ['count', 'host', 'Loss%', 'Snt', 'Last', 'Avg', 'Best', 'Wrst', 'StDev'];
      const MTR_KEYS = ['src', 'dst', 'tos', 'tests', 'psize', 'bitpattern'];
      const runs = await Promise.all(
        ([4, 6] as const).flatMap((family) => {
          const args = [`-${family}`, '-n', '-j', '-c', '3', '-i', '0.1', hopsOf(family)[3]];
          return [mtrTs(args), mtr(args)].map(async (p) => ({ family, r: await p }));
        }),
      );
      for (let i = 0; i < runs.length; i += 2) {
        const { family, r: ours } = runs[i]!;
        const { r: theirs } = runs[i + 1]!;
        expect(ours.code, show('mtr-ts', ours)).toBe(0);
        expect(theirs.code, show('mtr', theirs)).toBe(0);
        const o = JSON.parse(ours.stdout) as { report: { mtr: Record<string, unknown>; hubs: Array<Record<string, unknown>> } };
        const t = JSON.parse(theirs.stdout) as typeof o;
        // mtr's own keys, checked against mtr's output too (so a change in mtr shows up here, not as a mismatch)
        expect(Object.keys(t)).toEqual(['report']);
        expect(Object.keys(t.report)).toEqual(['mtr', 'hubs']);
        expect(Object.keys(t.report.mtr)).toEqual(MTR_KEYS);
        for (const hub of t.report.hubs) expect(Object.keys(hub)).toEqual(HUB_KEYS);
        expect(Object.keys(o)).toEqual(['report']);
        expect(Object.keys(o.report)).toEqual(['mtr', 'hubs']);
        expect(Object.keys(o.report.mtr)).toEqual(MTR_KEYS);
        for (const hub of o.report.hubs) expect(Object.keys(hub), ours.stdout).toEqual(HUB_KEYS);
        expect(jsonShape(o)).toEqual(jsonShape(t));
        // the header values that do not depend on timing are mtr's
        expect(o.report.mtr).toEqual(t.report.mtr);
        expect(o.report.mtr.dst).toBe(hopsOf(family)[3]);
        expect(o.report.mtr.tests).toBe(3);
        const hubs = (x: typeof o) => x.report.hubs.map((h) => [h.count, h.host, h['Loss%'], h.Snt]);
        expect(hubs(o), `${show('mtr-ts', ours)}\n${show('mtr', theirs)}`).toEqual(hubs(t));
        expect(hubs(o), show('mtr-ts', ours)).toEqual(expectedHops(family).map(([n, h]) => [n, h, 0, 3]));
      }
    }, TEST_MS);

    it('-C: CSV with mtr 0.95\'s header row and column count, and the same Hop/Ip rows', async () => {
      const HEADER = 'Mtr_Version,Start_Time,Status,Host,Hop,Ip,Loss%,Snt, ,Last,Avg,Best,Wrst,StDev,';
      const runs = await Promise.all(
        ([4, 6] as const).flatMap((family) => {
          const args = [`-${family}`, '-n', '-C', '-c', '3', '-i', '0.1', hopsOf(family)[3]];
          return [mtrTs(args), mtr(args)].map(async (p) => ({ family, r: await p }));
        }),
      );
      for (let i = 0; i < runs.length; i += 2) {
        const { family, r: ours } = runs[i]!;
        const { r: theirs } = runs[i + 1]!;
        expect(ours.code, show('mtr-ts', ours)).toBe(0);
        expect(theirs.code, show('mtr', theirs)).toBe(0);
        const o = csvRows(ours.stdout);
        const t = csvRows(theirs.stdout);
        expect(theirs.stdout.split('\n')[0]).toBe(HEADER);
        expect(ours.stdout.split('\n')[0], ours.stdout).toBe(theirs.stdout.split('\n')[0]);
        expect(o.length, `${show('mtr-ts', ours)}\n${show('mtr', theirs)}`).toBe(t.length);
        expect(o.length).toBe(1 + 4);
        for (let row = 1; row < t.length; row++) {
          expect(o[row]!.length, `row ${row}: ${o[row]!.join(',')}`).toBe(t[row]!.length);
          // Mtr_Version, Status, Host, Hop, Ip, Loss%, Snt, and the blank column (Start_Time and times differ)
          const fixed = (r: string[]) => [r[0], r[2], r[3], r[4], r[5], r[6], r[7], r[8]];
          expect(fixed(o[row]!), `${show('mtr-ts', ours)}\n${show('mtr', theirs)}`).toEqual(fixed(t[row]!));
          expect(fixed(o[row]!)).toEqual(['MTR.0.95', 'OK', hopsOf(family)[3], String(row), hopsOf(family)[row - 1], '0.00', '3', '0']);
          expect(Number(o[row]![1])).toBeGreaterThan(1_000_000_000); // Start_Time: seconds since the epoch
        }
      }
    }, TEST_MS);

    for (const proto of ['icmp', 'udp', 'tcp'] as const) {
      it(`${proto.toUpperCase()}: with MTR_PACKET=${referencePacket}, mtr-ts lists the same hops as with ours, over IPv4 and IPv6`, async () => {
        if (proto === 'tcp') await listener();
        const runs = await Promise.all(
          ([4, 6] as const).map(async (family) => {
            const args = [`-${family}`, '-n', '-r', '-c', '5', '-i', '0.1', ...PROTO_FLAGS[proto], hopsOf(family)[3]];
            const [ours, reference] = await Promise.all([mtrTs(args), mtrTs(args, referencePacket)]);
            return { family, ours, reference };
          }),
        );
        for (const { family, ours, reference } of runs) {
          expect(reference.code, show('mtr-ts with mtr-packet', reference)).toBe(0);
          expect(reportHops(reference.stdout), show('mtr-ts with mtr-packet', reference)).toEqual(expectedHops(family));
          for (const row of reportRows(reference.stdout)) expect(row.lossPct, show('mtr-ts with mtr-packet', reference)).toBe(0);
          expect(ours.code, show('mtr-ts', ours)).toBe(0);
          expect(reportHops(ours.stdout), show('mtr-ts', ours)).toEqual(reportHops(reference.stdout));
        }
      }, TEST_MS);
    }
  });

  describe('a silent router (r2 sends no Time Exceeded)', () => {
    it('shows as ??? at hop 2, for mtr-ts and mtr alike, over IPv4 and IPv6', async () => {
      await lab().setSilent(2, true);
      try {
        const runs = await Promise.all(
          ([4, 6] as const).map(async (family) => {
            const args = [`-${family}`, '-n', '-r', '-c', '5', '-i', '0.1', hopsOf(family)[3]];
            const [ours, theirs] = await Promise.all([mtrTs(args), mtr(args)]);
            return { family, ours, theirs };
          }),
        );
        for (const { family, ours, theirs } of runs) {
          const expected = expectedHops(family).map(([n, h]): [number, string] => [n, n === 2 ? '???' : h]);
          expect(theirs.code, show('mtr', theirs)).toBe(0);
          expect(reportHops(theirs.stdout), show('mtr', theirs)).toEqual(expected);
          expect(ours.code, show('mtr-ts', ours)).toBe(0);
          expect(reportHops(ours.stdout), show('mtr-ts', ours)).toEqual(expected);
          for (const r of [ours, theirs]) {
            const rows = reportRows(r.stdout);
            expect(rows.map((x) => x.lossPct), r.stdout).toEqual([0, 100, 0, 0]);
          }
        }
      } finally {
        await lab().setSilent(2, false);
      }
    }, TEST_MS);
  });

  describe('50% loss on link 2 (r1 -> r2, probes)', () => {
    it('shows at hop 2 and every hop after it, hop 1 clean, for mtr-ts and mtr alike, over IPv4 and IPv6', async () => {
      await lab().setLink(2, { lossPct: 50 });
      try {
        const runs = await Promise.all(
          ([4, 6] as const).map(async (family) => {
            const args = [`-${family}`, '-n', '-r', '-c', '30', '-i', '0.05', hopsOf(family)[3]];
            const [ours, theirs] = await Promise.all([mtrTs(args), mtr(args)]);
            return { family, ours, theirs };
          }),
        );
        for (const { family, ours, theirs } of runs) {
          const check = (who: string, r: ExecResult): ReportRow[] => {
            expect(r.code, show(who, r)).toBe(0);
            expect(reportHops(r.stdout), show(who, r)).toEqual(expectedHops(family));
            const rows = reportRows(r.stdout);
            expect(rows[0]!.lossPct, show(who, r)).toBeLessThan(10);
            for (const row of rows.slice(1)) {
              expect(row.lossPct, `hop ${row.hop}\n${show(who, r)}`).toBeGreaterThan(10);
              expect(row.lossPct, `hop ${row.hop}\n${show(who, r)}`).toBeLessThan(90);
            }
            return rows;
          };
          const t = check('mtr', theirs);
          const o = check('mtr-ts', ours);
          for (const rows of [o, t]) for (const row of rows) expect(row.sent).toBe(30);
          // The same kind of loss: per hop within 45 points (n = 30 at p = 0.5: sd of a difference ~13 points),
          // over hops 2..4 on average within 25 points (90 probes each: sd ~7.5 points).
          for (let i = 1; i < 4; i++) expect(Math.abs(o[i]!.lossPct - t[i]!.lossPct), `hop ${i + 1}: mtr-ts\n${ours.stdout}mtr\n${theirs.stdout}`).toBeLessThan(45);
          const mean = (rows: ReportRow[]) => (rows[1]!.lossPct + rows[2]!.lossPct + rows[3]!.lossPct) / 3;
          expect(Math.abs(mean(o) - mean(t)), `mtr-ts\n${ours.stdout}mtr\n${theirs.stdout}`).toBeLessThan(25);
        }
      } finally {
        await lab().setLink(2, { lossPct: 0 });
      }
    }, TEST_MS);
  });
});
