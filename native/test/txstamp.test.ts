// Kernel transmit timestamps of raw sends (SO_TIMESTAMPING, software): 'tx' records name their
// send by txId, come before the answer they belong to, and sit between the pre-send clock and the
// reply's receive stamp; in a namespace lab they agree with a packet capture of the request.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, type TxStampRecord } from '../src/index.js';
import { Collector, LO4, LO6, RouterLab, Scratch, lastJson, loopbackEchoes, rootReason, skipRoot } from './probe-lab.js';

if (skipRoot) console.warn(`native/test/txstamp: root-only tests skipped:${rootReason}`);

const ID = 0x7a55;

const { echo4, echo6, isReply } = loopbackEchoes(ID);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

describe.skipIf(skipRoot)('transmit timestamps on loopback', () => {
  let engine: Engine;
  const got = new Collector();
  beforeAll(() => {
    engine = new Engine(got.onBatch);
    const r = engine.open({ mode: 'raw' });
    expect(r.ip4).toBe('raw');
    expect(r.txStamps).toBe(true);
  });
  afterAll(() => engine.close());

  it.each([4, 6] as const)('IPv%i: one tx record per send with a txId, before its reply, between pre-send clock and reply', async (family) => {
    const base = family === 4 ? 100 : 200;
    const sends: Array<{ seq: number; txId: number; pre: number }> = [];
    for (let i = 0; i < 8; i++) {
      const seq = base + i;
      const txId = 0xffffff00 + base + i; // ids are the caller's: any uint32
      const pre =
        family === 4
          ? engine.sendIPv4(echo4(seq), LO4, { txId })
          : engine.sendIPv6(58, echo6(seq), LO6, { hopLimit: 64, trafficClass: 0, txId });
      sends.push({ seq, txId, pre });
      await new Promise((r) => setTimeout(r, 2));
    }
    // one more without a txId: stamped by the kernel too, but nobody asked for it
    const unnamed = base + 50;
    if (family === 4) engine.sendIPv4(echo4(unnamed), LO4);
    else engine.sendIPv6(58, echo6(unnamed), LO6, { hopLimit: 64, trafficClass: 0 });
    await got.waitFor((p) => isReply(p, family, unnamed));

    const tx = got.packets.filter((p): p is TxStampRecord => p.source === 'tx' && sends.some((s) => s.txId === p.txId));
    expect(tx.map((p) => p.txId).sort()).toEqual(sends.map((s) => s.txId).sort());
    for (const s of sends) {
      const txAt = got.packets.findIndex((p) => p.source === 'tx' && p.txId === s.txId);
      const replyAt = got.packets.findIndex((p) => isReply(p, family, s.seq));
      expect(replyAt).toBeGreaterThan(txAt);
      const t = got.packets[txAt]!;
      const reply = got.packets[replyAt]!;
      expect(t.family).toBe(family);
      expect(t.data.length).toBe(0);
      expect(t.rxNs).toBeGreaterThanOrEqual(s.pre);
      expect(t.rxNs).toBeLessThanOrEqual(reply.rxNs);
      expect(t.rxNs - s.pre).toBeLessThan(5e6);
    }
    // only named sends make records: no tx record beyond the ones asked for in this round
    const records = got.packets.filter((p) => p.source === 'tx');
    expect(records.every((p) => p.txId! >= 0xffffff00)).toBe(true);
  });

  it('rejects a txId that is not a uint32', () => {
    expect(() => engine.sendIPv4(echo4(1), LO4, { txId: -1 })).toThrow(RangeError);
    expect(() => engine.sendIPv6(58, echo6(1), LO6, { hopLimit: 1, trafficClass: 0, txId: 2 ** 32 })).toThrow(RangeError);
  });
});

interface Capture {
  /** seq -> capture time of our echo request / its reply, ns since `base` (whole seconds) */
  request: Map<number, number>;
  reply: Map<number, number>;
}

/** Reads a nanosecond capture back with tcpdump itself (-tt: epoch seconds with 9 decimals). */
function readCapture(file: string, v6: boolean, base: bigint): Capture {
  const r = spawnSync('tcpdump', ['-r', file, '-nn', '-tt', '--time-stamp-precision=nano'], { encoding: 'utf8' });
  const out: Capture = { request: new Map(), reply: new Map() };
  for (const line of r.stdout.split('\n')) {
    const m = /^(\d+)\.(\d{9}) (IP6?) .*echo (request|reply), id (\d+), seq (\d+)/.exec(line);
    if (!m || (m[3] === 'IP6') !== v6 || Number(m[5]) !== ID) continue;
    const ns = Number(BigInt(m[1]!) - base) * 1e9 + Number(m[2]); // relative: exact in a double
    (m[4] === 'request' ? out.request : out.reply).set(Number(m[6]), ns);
  }
  return out;
}

describe.skipIf(skipRoot)('transmit timestamps against a capture on a veth (namespace lab)', () => {
  const lab = new RouterLab();
  let scratch: Scratch | undefined;
  beforeAll(() => {
    scratch = new Scratch();
    lab.setup();
  });
  afterAll(() => {
    lab.teardown();
    scratch?.remove();
  });

  it('the tx stamp is within a few µs of the capture time of the request (median), IPv4 and IPv6', async () => {
    const script = scratch!.script(
      'tx.mjs',
      `const wire = await import(${JSON.stringify(new URL('../dist/wire/index.js', import.meta.url).pathname)});
const ID = ${ID};
const me4 = new Uint8Array([10, 200, 1, 2]);
const r4 = new Uint8Array(${JSON.stringify(RouterLab.ROUTER4)});
const r6 = new Uint8Array(${JSON.stringify(RouterLab.ROUTER6)});
const rows = [];
const pending = new Map();
const e = new Engine((ps) => {
  for (const p of ps) {
    if (p.source === 'tx') { const row = pending.get(p.txId); if (row) row.tx = p.rxNs; continue; }
    const at = p.family === 4 ? (p.data[0] & 15) * 4 : 0;
    if (p.data[at] !== (p.family === 4 ? 0 : 129) || ((p.data[at + 4] << 8) | p.data[at + 5]) !== ID) continue;
    const seq = (p.data[at + 6] << 8) | p.data[at + 7];
    const row = rows.find((r) => r.seq === seq && r.family === p.family);
    if (row) { row.rx = p.rxNs; row.txBeforeReply = row.tx !== undefined; }
  }
});
out({ open: e.open({ mode: 'raw' }) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
for (let i = 0; i < 30; i++) {
  for (const family of [4, 6]) {
    const seq = (family === 4 ? 1000 : 2000) + i;
    const txId = seq;
    const icmp = wire.buildIcmpEcho({ v6: family === 6, id: ID, seq, size: 64, bitPattern: 0 });
    const pre = family === 4
      ? e.sendIPv4(wire.buildIPv4Packet({ src: me4, dst: r4, ttl: 64, protocol: 1, payload: icmp }), r4, { txId })
      : e.sendIPv6(58, icmp, r6, { hopLimit: 64, trafficClass: 0, txId });
    const row = { family, seq, pre };
    rows.push(row);
    pending.set(txId, row);
    await sleep(i % 2 === 0 ? 60 : 1); // some sends after a long pause, some after a short one
  }
}
await sleep(200);
e.close();
out({ rows });
`,
    );
    const pcap = join(scratch!.dir, 'veth.pcap');
    const dump = spawn(
      'ip',
      ['netns', 'exec', lab.client, 'tcpdump', '-i', 'vc', '-U', '-nn', '--time-stamp-precision=nano', '-w', pcap, 'icmp or icmp6'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        let err = '';
        const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
        dump.stderr!.on('data', (d: Buffer) => {
          err += d.toString();
          if (err.includes('listening on')) {
            clearTimeout(t);
            resolve();
          }
        });
        dump.on('exit', () => reject(new Error(`tcpdump exited: ${err}`)));
      });
      const r = await lab.run(script, [], 30_000);
      expect(r.code, r.stderr).toBe(0);
      const { rows } = lastJson<{
        rows: Array<{ family: 4 | 6; seq: number; pre: number; tx?: number; rx?: number; txBeforeReply?: boolean }>;
      }>(r.stdout);
      const base = BigInt(Math.floor(Date.now() / 1000) - 3600);
      await new Promise((res) => setTimeout(res, 300));
      dump.kill('SIGINT');
      await new Promise((res) => dump.once('exit', res));

      for (const family of [4, 6] as const) {
        const cap = readCapture(pcap, family === 6, base);
        // The engine's clock to the capture's: a reply's receive stamp and its capture time are the
        // same skb timestamp, so every answered probe gives the same offset (the median guards).
        const offset = median(
          rows.filter((x) => x.family === family && x.rx !== undefined && cap.reply.has(x.seq)).map((x) => cap.reply.get(x.seq)! - x.rx!),
        );
        const txErr: number[] = [];
        const preErr: number[] = [];
        for (const row of rows.filter((x) => x.family === family)) {
          const req = cap.request.get(row.seq);
          const rep = cap.reply.get(row.seq);
          if (row.tx === undefined || row.rx === undefined || req === undefined || rep === undefined) continue;
          expect(row.txBeforeReply).toBe(true);
          // Both sides on CLOCK_REALTIME: the stamps with the engine's epoch added back.
          txErr.push(Math.abs(row.tx + offset - req));
          preErr.push(Math.abs(row.pre + offset - req));
          if (process.env.TXDEBUG)
            console.log(family, row.seq, 'tx-cap', row.tx + offset - req, 'pre-cap', row.pre + offset - req, 'rx-cap', row.rx + offset - rep);
        }
        expect(txErr.length, `IPv${family}: stamped, answered and captured probes`).toBeGreaterThanOrEqual(25);
        const mTx = median(txErr);
        console.log(
          `IPv${family}: |tx - capture| median ${(mTx / 1000).toFixed(2)} µs, max ${(Math.max(...txErr) / 1000).toFixed(2)} µs; ` +
            `|pre-send - capture| median ${(median(preErr) / 1000).toFixed(2)} µs, max ${(Math.max(...preErr) / 1000).toFixed(2)} µs`,
        );
        // The SND stamp is the driver's (veth_xmit), taken after the capture tap in
        // dev_queue_xmit_nit: always a little later than the capture, by 2-3 µs on a warm path and
        // 7-8 µs on this VM after a 60 ms pause. The pre-send clock is 15-50 µs early. How close is the
        // benchmark's figure (pnpm bench, accuracy); here: a kernel stamp, not a clock read (50 µs on a
        // loaded CI machine), and closer than the pre-send clock.
        expect(mTx).toBeLessThanOrEqual(50_000);
        expect(mTx).toBeLessThan(median(preErr) / 2);
      }
    } finally {
      if (dump.exitCode === null) dump.kill('SIGKILL');
    }
  }, 60_000);
});
