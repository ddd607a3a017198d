// Send batches (Engine.sendBatch): the raw sends of one command slice in one call, sent with
// sendmmsg. Every packet leaves, in order, with its own kernel transmit stamp (its txId); a send
// that fails gets its errno without stopping the others; a malformed batch is refused whole.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, skipUnless } from '../../test/support/env.js';
import { Engine, SendBatch, type TxStampRecord } from '../src/index.js';
import { Collector, LO4, LO6, distIndex, loopbackEchoes, rootReason, skipRoot } from './probe-lab.js';

if (skipRoot) console.warn(`native/test/send-batch: root-only tests skipped:${rootReason}`);

const ID = 0x5b7c;

const { echo4, echo6, isReply } = loopbackEchoes(ID);

describe.skipIf(skipRoot)('send batches on loopback', () => {
  let engine: Engine;
  const got = new Collector();
  beforeAll(() => {
    engine = new Engine(got.onBatch);
    const r = engine.open({ mode: 'raw' });
    expect(r.txStamps).toBe(true);
  });
  afterAll(() => engine.close());

  it('sends every packet of a batch (IPv4 and IPv6, more than one sendmmsg), each with its own stamp before its reply', async () => {
    const batch = new SendBatch();
    const sends: Array<{ family: 4 | 6; seq: number; txId: number; index: number }> = [];
    // 150 sends: more than one run of the addon (64 a sendmmsg), families interleaved in places
    for (let i = 0; i < 150; i++) {
      const family = i % 50 < 40 ? 4 : 6;
      const seq = 1000 + i;
      const txId = 0xfffff000 + i;
      const index =
        family === 4
          ? batch.addIPv4(echo4(seq), LO4, { txId })
          : batch.addIPv6(58, echo6(seq), LO6, { hopLimit: 64, trafficClass: 0, txId });
      sends.push({ family, seq, txId, index });
    }
    const before = engine.now();
    engine.sendBatch(batch);
    const after = engine.now();
    for (const s of sends) {
      expect(batch.errno(s.index)).toBe(0);
      expect(batch.departure(s.index)).toBeGreaterThanOrEqual(before);
      expect(batch.departure(s.index)).toBeLessThanOrEqual(after);
    }
    await got.waitCount((p) => p.source === 'raw' && sends.some((s) => isReply(p, s.family, s.seq)), sends.length);
    for (const s of sends) {
      const txAt = got.packets.findIndex((p) => p.source === 'tx' && p.txId === s.txId);
      const replyAt = got.packets.findIndex((p) => isReply(p, s.family, s.seq));
      expect(txAt).toBeGreaterThanOrEqual(0);
      expect(replyAt).toBeGreaterThan(txAt);
      const t = got.packets[txAt] as TxStampRecord;
      expect(t.family).toBe(s.family);
      expect(t.rxNs).toBeGreaterThanOrEqual(batch.departure(s.index));
      expect(t.rxNs).toBeLessThanOrEqual(got.packets[replyAt]!.rxNs);
      // IPv6 raw answers come with the hop limit they arrived with; IPv4 ones have it in their header
      const reply = got.packets[replyAt]!;
      expect(reply.source === 'raw' && reply.hopLimit).toBe(s.family === 6 ? 64 : undefined);
    }
    // one stamp per send, none twice
    const ids = got.packets.filter((p): p is TxStampRecord => p.source === 'tx').map((p) => p.txId);
    expect(new Set(ids).size).toBe(ids.length);
    // the stamps of one batch are in send order on each socket
    const v4 = sends.filter((s) => s.family === 4);
    const stamps = v4.map((s) => (got.packets.find((p) => p.source === 'tx' && p.txId === s.txId) as TxStampRecord).rxNs);
    expect([...stamps].sort((a, b) => a - b)).toEqual(stamps);
  });

  it('a failed send gets its errno; the sends around it still go', async () => {
    const batch = new SendBatch();
    const a = batch.addIPv4(echo4(2001), LO4, { txId: 1 });
    // longer than an IPv4 packet can be: EMSGSIZE from the kernel, in the middle of a run
    const tooLong = new Uint8Array(66_000);
    tooLong.set(echo4(2002));
    const big = batch.addIPv4(tooLong, LO4, { txId: 2 });
    const b = batch.addIPv4(echo4(2003), LO4, { txId: 3 });
    // a protocol without a send socket: answered by the addon without a syscall
    const odd = batch.addIPv6(99, echo6(2004), LO6, { hopLimit: 64, trafficClass: 0, txId: 4 });
    const c = batch.addIPv6(58, echo6(2005), LO6, { hopLimit: 64, trafficClass: 0, txId: 5 });
    engine.sendBatch(batch);
    expect([a, big, b, odd, c].map((i) => batch.errno(i))).toEqual([0, 90, 0, 93, 0]); // EMSGSIZE, EPROTONOSUPPORT
    await got.waitFor((p) => isReply(p, 4, 2003));
    await got.waitFor((p) => isReply(p, 6, 2005));
    expect(got.packets.some((p) => isReply(p, 4, 2001))).toBe(true);
    const tx = got.packets.filter((p): p is TxStampRecord => p.source === 'tx' && p.txId >= 1 && p.txId <= 5);
    expect(tx.map((p) => p.txId).sort()).toEqual([1, 3, 5]);
  });

  it('marks split a batch into runs; every packet still leaves', async () => {
    const batch = new SendBatch();
    for (let i = 0; i < 6; i++) batch.addIPv4(echo4(3000 + i), LO4, { mark: i % 3 === 0 ? 0 : 7, txId: 300 + i });
    engine.sendBatch(batch);
    for (let i = 0; i < 6; i++) expect(batch.errno(i)).toBe(0);
    await got.waitCount((p) => [0, 1, 2, 3, 4, 5].some((i) => isReply(p, 4, 3000 + i)), 6);
  });

  it('a cleared batch starts over; a malformed one is refused whole', () => {
    const batch = new SendBatch();
    batch.addIPv4(echo4(4000), LO4);
    batch.clear();
    expect(batch.count).toBe(0);
    expect(() => batch.addIPv4(echo4(4001), LO4, { device: 'lo' })).toThrow(TypeError);
    batch.clear();
    batch.addIPv4(echo4(4002), LO4);
    batch.sends[2] = batch.bytes.length; // data offset past the bytes
    expect(() => engine.sendBatch(batch)).toThrow(TypeError);
  });
});

const hasStrace = spawnSync('sh', ['-c', 'command -v strace'], { stdio: 'ignore' }).status === 0;
const skipStrace = skipUnless(isRoot && hasStrace, 'native/test/send-batch: counting system calls needs root and strace');

describe.skipIf(skipStrace)('send batches: the system calls', () => {
  it('40 packets for one socket leave in one sendmmsg, not one send each', () => {
    const wire = fileURLToPath(new URL('../dist/wire/index.js', import.meta.url));
    const script = `
      import { Engine, SendBatch } from ${JSON.stringify(distIndex)};
      import { buildIcmpEcho, buildIPv4Packet } from ${JSON.stringify(wire)};
      const lo = new Uint8Array([127, 0, 0, 1]);
      const e = new Engine(() => {});
      e.open({ mode: 'raw' });
      const b = new SendBatch();
      for (let i = 0; i < 40; i++) {
        const icmp = buildIcmpEcho({ v6: false, id: 0x5b7d, seq: i, size: 64, bitPattern: 0 });
        b.addIPv4(buildIPv4Packet({ src: lo, dst: lo, ttl: 64, protocol: 1, payload: icmp }), lo, { txId: i });
      }
      e.sendBatch(b);
      let failed = 0;
      for (let i = 0; i < 40; i++) if (b.errno(i) !== 0) failed++;
      console.log('failed', failed);
      e.close();
    `;
    const dir = mkdtempSync(join(tmpdir(), 'mtrts-sendmmsg-'));
    try {
      const trace = join(dir, 'trace');
      const r = spawnSync(
        'strace',
        ['-f', '-qq', '-e', 'trace=sendmmsg,sendmsg,sendto', '-o', trace, process.execPath, '--input-type=module', '-e', script],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('failed 0');
      const calls = readFileSync(trace, 'utf8').split('\n').filter((l) => /send(mmsg|msg|to)\(/.test(l));
      const toLoopback = calls.filter((l) => l.includes('127.0.0.1'));
      expect(toLoopback.filter((l) => /sendmmsg\(/.test(l) && / = 40$/.test(l))).toHaveLength(1);
      expect(toLoopback.filter((l) => !/sendmmsg\(/.test(l))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
