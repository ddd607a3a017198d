// Datagram ("unprivileged") mode against the real kernel: ICMP ping sockets and a UDP socket per
// family, echo replies and error-queue ICMP errors, forced as root with open({ mode: 'dgram' }),
// a real unprivileged child (uid 65534), and Time Exceeded from a router in a namespace lab.
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, isErrnoError, type QueuedIcmpError, type ReceivedPacket } from '../src/index.js';
import {
  Collector,
  LO4,
  LO6,
  RouterLab,
  Scratch,
  allowPingSockets,
  echoRequest,
  isRoot,
  lastJson,
  rootReason,
  runChild,
  skipRoot,
  u16,
  type PacketJson,
} from './probe-lab.js';

/** Whether the kernel has SCTP (stream probes work in either mode), asked of it independently. */
const kernelHasSctp =
  spawnSync('python3', ['-c', 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)']).status === 0;

if (skipRoot) console.warn(`native/test/dgram: root-only tests skipped:${rootReason}`);

function expectErrno(e: unknown, code: string, syscall: string): void {
  expect(isErrnoError(e), String(e)).toBe(true);
  const err = e as Error & { code: string; syscall: string };
  expect(err.code).toBe(code);
  expect(err.syscall).toBe(syscall);
}

/** A UDP port with nothing bound to it (bound and released). */
async function closedUdpPort(type: 'udp4' | 'udp6'): Promise<number> {
  const s = createSocket(type);
  await new Promise<void>((resolve) => s.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array): boolean =>
  a !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);

describe('datagram API without sockets (no root needed)', () => {
  it('sendDgram before open is EBADF; bad arguments are TypeError/RangeError', () => {
    const e = new Engine(() => {});
    try {
      try {
        e.sendDgram(4, 'icmp', echoRequest(4, 1), LO4, 0, { ttl: 64, tos: 0 });
        expect.unreachable();
      } catch (err) {
        expectErrno(err, 'EBADF', 'sendmsg');
      }
      expect(() => e.sendDgram(4, 'udp', new Uint8Array(4), LO4, 0, { ttl: 64, tos: 0 })).toThrow(RangeError);
      expect(() => e.sendDgram(4, 'udp', new Uint8Array(4), LO6, 9, { ttl: 64, tos: 0 })).toThrow(TypeError);
      expect(() => e.sendDgram(4, 'icmp', new Uint8Array(8), LO4, 0, { ttl: 256, tos: 0 })).toThrow(RangeError);
      expect(() => e.sendDgram(4, 'sctp' as 'udp', new Uint8Array(8), LO4, 9, { ttl: 1, tos: 0 })).toThrow(TypeError);
      expect(() => e.open({ mode: 'fast' as 'raw' })).toThrow(TypeError);
    } finally {
      e.close();
    }
  });

  it('probeCapabilities answers without open()', () => {
    const e = new Engine(() => {});
    try {
      const caps = e.probeCapabilities();
      expect(typeof caps.mark).toBe('boolean');
      expect(typeof caps.bindToDevice).toBe('boolean');
      if (isRoot) expect(caps).toEqual({ mark: true, bindToDevice: true });
    } finally {
      e.close();
    }
  });
});

describe(`datagram mode${rootReason}`, { skip: skipRoot }, () => {
  let restorePing: (() => void) | undefined;
  let scratch: Scratch | undefined;
  beforeAll(() => {
    restorePing = allowPingSockets();
    scratch = new Scratch();
  });
  afterAll(() => {
    restorePing?.();
    scratch?.remove();
  });

  it('runs as root', () => {
    expect(isRoot, 'these tests need root (sysctl, setpriv, namespaces)').toBe(true);
  });

  it("open({ mode: 'dgram' }) uses datagram sockets even as root; 'raw' gives raw; raw sends are refused in dgram mode", () => {
    const d = new Engine(() => {});
    const r = new Engine(() => {});
    try {
      const od = d.open({ mode: 'dgram' });
      const sctp = kernelHasSctp;
      expect(od).toEqual({ ip4: 'dgram', ip6: 'dgram', sctp, maxFiles: expect.any(Number), txStamps: false });
      expect(od.maxFiles).toBeGreaterThan(1024);
      expect(d.open()).toEqual(od); // once
      expect(r.open({ mode: 'raw' })).toMatchObject({ ip4: 'raw', ip6: 'raw', sctp });
      try {
        d.sendIPv4(new Uint8Array(28), LO4);
        expect.unreachable();
      } catch (err) {
        expectErrno(err, 'EOPNOTSUPP', 'sendto');
      }
      try {
        r.sendDgram(4, 'icmp', echoRequest(4, 1), LO4, 0, { ttl: 64, tos: 0 });
        expect.unreachable();
      } catch (err) {
        expectErrno(err, 'EOPNOTSUPP', 'sendmsg');
      }
    } finally {
      d.close();
      r.close();
    }
  });

  for (const family of [4, 6] as const) {
    const lo = family === 4 ? LO4 : LO6;
    it(`IPv${family}: echo through the ping socket; the kernel's identifier is localPort; kernel timestamps`, async () => {
      const c = new Collector();
      const e = new Engine(c.onBatch);
      try {
        e.open({ mode: 'dgram' });
        const seq = 0x1234 + family;
        const req = echoRequest(family, seq);
        req[4] = 0xab; // the kernel overwrites the identifier
        req[5] = 0xcd;
        const sent = e.sendDgram(family, 'icmp', req, lo, 0, { ttl: 64, tos: 0 });
        expect(sent.localPort).toBeGreaterThan(0);
        const reply = await c.waitFor((p) => p.source === 'ping' && p.family === family && u16(p.data, 6) === seq);
        expect(reply.data[0]).toBe(family === 4 ? 0 : 129); // the ICMP message, no IP header
        expect(u16(reply.data, 4)).toBe(sent.localPort);
        expect(reply.data.subarray(8)).toEqual(req.subarray(8));
        expect(reply.from).toEqual(lo);
        // the TTL / hop limit the reply arrived with (IP_RECVTTL / IPV6_RECVHOPLIMIT): loopback's default 64
        expect(reply.source === 'ping' && reply.hopLimit).toBe(64);
        expect(reply.rxNs).toBeGreaterThanOrEqual(sent.txNs);
        expect(reply.rxNs - sent.txNs).toBeLessThan(50e6);
        // Per-send options leave nothing behind: mark and device once, then a plain send.
        const again = e.sendDgram(family, 'icmp', echoRequest(family, seq + 1), lo, 0, {
          ttl: 3,
          tos: 0x10,
          mark: 9,
          device: 'lo',
          src: lo,
        });
        expect(again.localPort).toBe(sent.localPort);
        e.sendDgram(family, 'icmp', echoRequest(family, seq + 2), lo, 0, { ttl: -1, tos: -1 });
        await c.waitFor((p) => p.source === 'ping' && p.family === family && u16(p.data, 6) === seq + 1);
        await c.waitFor((p) => p.source === 'ping' && p.family === family && u16(p.data, 6) === seq + 2);
        try {
          e.sendDgram(family, 'icmp', echoRequest(family, 1), lo, 0, { ttl: 64, tos: 0, device: 'nosuchdev0' });
          expect.unreachable();
        } catch (err) {
          expectErrno(err, 'ENODEV', 'if_nametoindex');
        }
      } finally {
        e.close();
      }
    });

    it(`IPv${family}: UDP to a closed port gives an 'error' event (port unreachable) with the payload and ports`, async () => {
      const c = new Collector();
      const e = new Engine(c.onBatch);
      try {
        e.open({ mode: 'dgram' });
        const port = await closedUdpPort(family === 4 ? 'udp4' : 'udp6');
        const payload = new Uint8Array([0x6d, 0x74, 0x72, family, 1, 2, 3, 4]);
        const sent = e.sendDgram(family, 'udp', payload, lo, port, { ttl: 64, tos: 0 });
        const ours = (p: ReceivedPacket): p is QueuedIcmpError =>
          p.source === 'error' && p.family === family && p.origDstPort === port && sameBytes(p.data, payload);
        const err = await c.waitFor(ours);
        expect(err.errProto).toBe('udp');
        expect([err.icmpType, err.icmpCode]).toEqual(family === 4 ? [3, 3] : [1, 4]);
        expect(err.from).toEqual(lo);
        expect(err.origDst).toEqual(lo);
        expect(err.origSrcPort).toBe(sent.localPort);
        expect(err.rxNs).toBeGreaterThanOrEqual(sent.txNs);
        expect(err.rxNs - sent.txNs).toBeLessThan(50e6);

        // The error also leaves a pending socket error that the next send would report: the
        // engine retries such sends, so probing goes on while the error waits in the queue.
        const second = e.sendDgram(family, 'udp', payload, lo, port, { ttl: 64, tos: 0 });
        const until = Date.now() + 30;
        while (Date.now() < until); // no loop turn: the ICMP error is queued but not read
        const third = e.sendDgram(family, 'udp', payload, lo, port, { ttl: 64, tos: 0 });
        expect(third.txNs).toBeGreaterThan(second.txNs);
        await c.waitCount(ours, 3);
      } finally {
        e.close();
      }
    });
  }

  it('an unprivileged process (uid 65534) comes up in datagram mode and pings 127.0.0.1', async () => {
    const script = scratch!.script(
      'unpriv.mjs',
      `const got = [];
const e = new Engine((ps) => { for (const p of ps) got.push(ser(p)); });
const result = { uid: process.getuid(), open: e.open(), caps: e.probeCapabilities() };
try { new Engine(() => {}).open({ mode: 'raw' }); } catch (err) { result.raw = errOf(err); }
const req = new Uint8Array(16); req[0] = 8; req[7] = 42;
result.sent = e.sendDgram(4, 'icmp', req, new Uint8Array([127, 0, 0, 1]), 0, { ttl: 64, tos: 0 });
const req6 = new Uint8Array(16); req6[0] = 128; req6[7] = 43; const lo6 = new Uint8Array(16); lo6[15] = 1;
result.sent6 = e.sendDgram(6, 'icmp', req6, lo6, 0, { ttl: 64, tos: 0 });
result.tcp = e.connectTcp(4, new Uint8Array([127, 0, 0, 1]), 1, 0, { ttl: 64, tos: 0 });
setTimeout(() => { result.got = got; e.close(); out(result); }, 500);`,
    );
    const r = await runChild(
      ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, script],
      10_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const res = lastJson<{
      uid: number;
      open: Record<string, unknown>;
      caps: Record<string, boolean>;
      raw: unknown;
      sent: { localPort: number };
      got: PacketJson[];
    }>(r.stdout);
    expect(res.uid).toBe(65534);
    expect(res.open).toMatchObject({ ip4: 'dgram', ip6: 'dgram', sctp: kernelHasSctp });
    expect(res.open['ip4Error']).toBeUndefined();
    expect(res.caps.mark).toBe(false);
    expect(res.raw).toEqual({ code: 'EPERM', errno: 1, syscall: 'socket' });
    const reply = res.got.find((p) => p.source === 'ping' && p.family === 4 && p.data[7] === 42);
    expect(reply, JSON.stringify(res.got)).toBeDefined();
    expect(u16(new Uint8Array(reply!.data), 4)).toBe(res.sent.localPort);
    expect(res.got.some((p) => p.source === 'ping' && p.family === 6 && p.data[7] === 43)).toBe(true);
    expect(res.got.some((p) => p.source === 'tcp' && p.tcpErrno === 111)).toBe(true);
  });

  it('without ping_group_range an unprivileged open() fails and says why', async () => {
    restorePing?.(); // back to the host's own range for this test
    try {
      if (!/^\s*1\s+0\s*$/.test(readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8'))) {
        console.warn('native/test/dgram: the host allows ping sockets by default; denied case not shown');
        return;
      }
      const script = scratch!.script(
        'unpriv-denied.mjs',
        `try { out({ open: new Engine(() => {}).open() }); } catch (err) { out({ thrown: errOf(err) }); }
try { out({ open: new Engine(() => {}).open({ mode: 'dgram' }) }); } catch (err) { out({ thrown: errOf(err) }); }`,
      );
      const r = await runChild(
        ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, script],
        10_000,
      );
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      // auto: the raw failure is what open() throws; dgram only: the ping socket's EACCES.
      expect(lines[0]).toEqual({ thrown: { code: 'EPERM', errno: 1, syscall: 'socket' } });
      expect(lines[1]).toEqual({ thrown: { code: 'EACCES', errno: 13, syscall: 'socket' } });
    } finally {
      restorePing = allowPingSockets();
    }
  });

  it('namespace router: TTL 1 ICMP and UDP probes give Time Exceeded from the router in the error queue', async () => {
    const lab = new RouterLab();
    try {
      lab.setup();
      const script = scratch!.script(
        'ttl-dgram.mjs',
        `const got = [];
const e = new Engine((ps) => { for (const p of ps) got.push(ser(p)); });
const result = { open: e.open({ mode: 'dgram' }), sent: {} };
const t4 = new Uint8Array(${JSON.stringify(RouterLab.TARGET4)});
const t6 = new Uint8Array(${JSON.stringify(RouterLab.TARGET6)});
const req = (type, seq) => { const m = new Uint8Array(32); m[0] = type; m[6] = seq >> 8; m[7] = seq & 255; return m; };
const udp = new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2]);
const far4 = new Uint8Array([10, 200, 2, 1]);
const far6 = new Uint8Array(t6); far6[15] = 1;
// Warm up neighbour discovery, then the probes.
e.sendDgram(4, 'icmp', req(8, 1), far4, 0, { ttl: 64, tos: 0 });
e.sendDgram(6, 'icmp', req(128, 1), far6, 0, { ttl: 64, tos: 0 });
setTimeout(() => {
  result.sent.icmp4 = e.sendDgram(4, 'icmp', req(8, 0x101), t4, 0, { ttl: 1, tos: 0 });
  result.sent.udp4 = e.sendDgram(4, 'udp', udp, t4, 33434, { ttl: 1, tos: 0 });
  result.sent.icmp6 = e.sendDgram(6, 'icmp', req(128, 0x102), t6, 0, { ttl: 1, tos: 0 });
  result.sent.udp6 = e.sendDgram(6, 'udp', udp, t6, 33435, { ttl: 1, tos: 0 });
  // TTL is per send: the next probes go past the router to its far addresses and are answered.
  result.sent.far4 = e.sendDgram(4, 'icmp', req(8, 0x201), far4, 0, { ttl: 64, tos: 0 });
  result.sent.far6 = e.sendDgram(6, 'icmp', req(128, 0x202), far6, 0, { ttl: -1, tos: 0 });
}, 300);
setTimeout(() => { result.got = got; e.close(); out(result); }, 1300);`,
      );
      const r = await lab.run(script, []);
      expect(r.code, r.stderr).toBe(0);
      const res = lastJson<{ sent: Record<string, { txNs: number; localPort: number }>; got: PacketJson[] }>(r.stdout);
      const seqOf = (p: PacketJson): number => (p.data[6]! << 8) | p.data[7]!;
      const find = (pred: (p: PacketJson) => boolean, what: string): PacketJson => {
        const hit = res.got.find(pred);
        expect(hit, `${what} in ${JSON.stringify(res.got)}`).toBeDefined();
        return hit!;
      };
      const icmp4 = find((p) => p.source === 'error' && p.errProto === 'icmp' && p.family === 4, 'ICMP TE v4');
      expect([icmp4.icmpType, icmp4.icmpCode]).toEqual([11, 0]);
      expect(icmp4.from).toEqual(RouterLab.ROUTER4);
      expect(icmp4.origDst).toEqual(RouterLab.TARGET4);
      expect(seqOf(icmp4)).toBe(0x101);
      expect((icmp4.data[4]! << 8) | icmp4.data[5]!).toBe(res.sent['icmp4']!.localPort);
      expect(icmp4.rxNs).toBeGreaterThanOrEqual(res.sent['icmp4']!.txNs);

      const udp4 = find((p) => p.source === 'error' && p.errProto === 'udp' && p.family === 4, 'UDP TE v4');
      expect([udp4.icmpType, udp4.icmpCode]).toEqual([11, 0]);
      expect(udp4.from).toEqual(RouterLab.ROUTER4);
      expect(udp4.origDstPort).toBe(33434);
      expect(udp4.origSrcPort).toBe(res.sent['udp4']!.localPort);
      expect(udp4.data).toEqual([9, 8, 7, 6, 5, 4, 3, 2]);

      const icmp6 = find((p) => p.source === 'error' && p.errProto === 'icmp' && p.family === 6, 'ICMP TE v6');
      expect([icmp6.icmpType, icmp6.icmpCode]).toEqual([3, 0]);
      expect(icmp6.from).toEqual(RouterLab.ROUTER6);
      expect(seqOf(icmp6)).toBe(0x102);
      const udp6 = find((p) => p.source === 'error' && p.errProto === 'udp' && p.family === 6, 'UDP TE v6');
      expect([udp6.icmpType, udp6.icmpCode]).toEqual([3, 0]);
      expect(udp6.from).toEqual(RouterLab.ROUTER6);
      expect(udp6.origDstPort).toBe(33435);

      find((p) => p.source === 'ping' && p.family === 4 && seqOf(p) === 0x201, 'echo reply v4 after TTL 1');
      find((p) => p.source === 'ping' && p.family === 6 && seqOf(p) === 0x202, 'echo reply v6 after TTL 1');
      expect(res.got.filter((p) => p.source === 'error')).toHaveLength(4);
    } finally {
      lab.teardown();
    }
  });
});
