// TCP probes: one non-blocking connect per probe with its own poll, completions as 'tcp' events,
// sockets closed at once with RST semantics; many in flight; Time Exceeded from a namespace router
// through the raw ICMP socket (raw mode) or the probe's error queue (datagram mode).
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, isErrnoError } from '../src/index.js';
import {
  Collector,
  LO4,
  LO6,
  RouterLab,
  Scratch,
  distIndex,
  isRoot,
  isTcpEnd,
  lastJson,
  listen,
  openFds,
  portOf,
  rootReason,
  runChild,
  skipRoot,
  tcpEndOf,
  type PacketJson,
} from './probe-lab.js';

if (skipRoot) console.warn(`native/test/tcp: root-only tests skipped:${rootReason}`);

const closeServer = (s: Server): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

/**
 * A TCP port with no listener: below the ephemeral range (32768..), so that other tests running in
 * parallel do not pick it up by binding port 0 meanwhile; checked free by listening on it once.
 */
async function closedTcpPort(host: string): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 10000);
    const s = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.listen(port, host, () => resolve(true));
    });
    if (!ok) continue;
    await closeServer(s);
    return port;
  }
}

const tick = (ms = 20): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An opened engine with its collector, and a server listening on `host`: both closed after `body`. */
async function withEngineAndServer(host: string, body: (e: Engine, c: Collector, server: Server) => Promise<void>): Promise<void> {
  const c = new Collector();
  const e = new Engine(c.onBatch);
  const server = await listen(host);
  try {
    e.open();
    await body(e, c, server);
  } finally {
    e.close();
    await closeServer(server);
  }
}

describe('TCP API without sockets (no root needed)', () => {
  it('connectTcp before open is EBADF; bad arguments throw before any syscall', () => {
    const e = new Engine(() => {});
    try {
      try {
        e.connectTcp(4, LO4, 80, 0, { ttl: 64, tos: 0 });
        expect.unreachable();
      } catch (err) {
        expect(isErrnoError(err) && err.code === 'EBADF' && err.syscall === 'connect').toBe(true);
      }
      expect(() => e.connectTcp(4, LO4, 0, 0, { ttl: 64, tos: 0 })).toThrow(RangeError);
      expect(() => e.connectTcp(4, LO4, 80, 70000, { ttl: 64, tos: 0 })).toThrow(RangeError);
      expect(() => e.connectTcp(6, LO4, 80, 0, { ttl: 64, tos: 0 })).toThrow(TypeError);
      expect(() => e.closeTcp(-1)).toThrow(RangeError);
      expect(e.closeTcp(12345)).toBe(false);
    } finally {
      e.close();
    }
  });
});

describe(`TCP probes${rootReason}`, { skip: skipRoot }, () => {
  let scratch: Scratch | undefined;
  beforeAll(() => {
    scratch = new Scratch();
  });
  afterAll(() => scratch?.remove());

  it('runs as root', () => {
    expect(isRoot, 'these tests need root (raw sockets, namespaces)').toBe(true);
  });

  for (const family of [4, 6] as const) {
    const host = family === 4 ? '127.0.0.1' : '::1';
    const lo = family === 4 ? LO4 : LO6;

    it(`IPv${family}: a listening port completes with tcpErrno 0, a closed one with 111; nothing is left open`, async () => {
      await withEngineAndServer(host, async (e, c, server) => {
        let accepted = 0;
        server.on('connection', () => accepted++);
        const base = openFds();
        const open = e.connectTcp(family, lo, portOf(server), 0, { ttl: 64, tos: 0 });
        const closedPort = await closedTcpPort(host);
        const refused = e.connectTcp(family, lo, closedPort, 0, { ttl: 64, tos: 0x20 });
        expect(open.localPort).toBeGreaterThan(0);
        const done = await c.waitFor(tcpEndOf(open.id));
        expect(done.tcpErrno).toBe(0);
        expect(done.family).toBe(family);
        expect(done.from).toEqual(lo);
        expect(done.data.length).toBe(0);
        expect(done.rxNs).toBeGreaterThanOrEqual(open.txNs);
        expect(done.rxNs - open.txNs).toBeLessThan(100e6);
        const no = await c.waitFor(tcpEndOf(refused.id));
        expect(no.tcpErrno).toBe(111);
        expect(no.rxNs).toBeGreaterThanOrEqual(refused.txNs);
        expect(c.packets.filter((p) => p.source === 'tcp')).toHaveLength(2);
        expect(e.stats().tcpInFlight).toBe(0);
        expect(e.closeTcp(open.id)).toBe(false); // already closed on completion
        await tick(100); // the server side (in this process) sees the RST and closes its end
        expect(accepted).toBe(1);
        expect(openFds()).toBe(base);
      });
    });
  }

  it('a source port held by another socket is EADDRINUSE from bind; a free one is used as given', async () => {
    const c = new Collector();
    const e = new Engine(c.onBatch);
    const holder = await listen('0.0.0.0');
    const server = await listen('127.0.0.1');
    try {
      e.open();
      const base = openFds();
      try {
        e.connectTcp(4, LO4, portOf(server), portOf(holder), { ttl: 64, tos: 0 });
        expect.unreachable();
      } catch (err) {
        expect(isErrnoError(err), String(err)).toBe(true);
        expect(err).toMatchObject({ code: 'EADDRINUSE', errno: 98, syscall: 'bind' });
      }
      expect(openFds()).toBe(base);
      const freePort = await closedTcpPort('0.0.0.0');
      const ok = e.connectTcp(4, LO4, portOf(server), freePort, { ttl: 64, tos: 0 });
      expect(ok.localPort).toBe(freePort);
      expect((await c.waitFor(tcpEndOf(ok.id))).tcpErrno).toBe(0);
      // SO_LINGER {1,0}: the connected probe was reset, no TIME_WAIT holds the port: it is free again.
      const again = e.connectTcp(4, LO4, portOf(server), freePort, { ttl: 64, tos: 0 });
      expect((await c.waitFor(tcpEndOf(again.id))).tcpErrno).toBe(0);
    } finally {
      e.close();
      await closeServer(holder);
      await closeServer(server);
    }
  });

  it('synchronous failures throw Node-style: ENETUNREACH from connect, ENODEV from setsockopt; device and mark apply', async () => {
    await withEngineAndServer('127.0.0.1', async (e, c, server) => {
      const base = openFds();
      try {
        e.connectTcp(4, new Uint8Array([224, 0, 0, 1]), 80, 0, { ttl: 1, tos: 0 }); // TCP to multicast
        expect.unreachable();
      } catch (err) {
        expect(err).toMatchObject({ code: 'ENETUNREACH', errno: 101, syscall: 'connect' });
      }
      try {
        e.connectTcp(4, LO4, portOf(server), 0, { ttl: 64, tos: 0, device: 'nosuchdev0' });
        expect.unreachable();
      } catch (err) {
        expect(err).toMatchObject({ code: 'ENODEV', syscall: 'setsockopt' });
      }
      expect(openFds()).toBe(base);
      const ok = e.connectTcp(4, LO4, portOf(server), 0, { ttl: 64, tos: 0, device: 'lo', mark: 7, src: LO4 });
      expect((await c.waitFor(tcpEndOf(ok.id))).tcpErrno).toBe(0);
    });
  });

  it("quarantineMs keeps a finished probe's port bound for that long, then lets it go", async () => {
    await withEngineAndServer('127.0.0.1', async (e, c, server) => {
      const src = await closedTcpPort('0.0.0.0');
      const a = e.connectTcp(4, LO4, portOf(server), src, { ttl: 64, tos: 0, quarantineMs: 400 });
      expect((await c.waitFor(tcpEndOf(a.id))).tcpErrno).toBe(0);
      expect(e.stats().tcpInFlight).toBe(0);
      expect(e.stats().quarantinedPorts).toBe(1);
      // taken for anyone: this engine's next probe, and any other socket
      let err: unknown;
      try {
        e.connectTcp(4, LO4, portOf(server), src, { ttl: 64, tos: 0 });
      } catch (x) {
        err = x;
      }
      expect(isErrnoError(err) && err.code).toBe('EADDRINUSE');
      const other = createServer();
      const otherBound = await new Promise<boolean>((resolve) => {
        other.once('error', () => resolve(false));
        other.listen(src, '0.0.0.0', () => resolve(true));
      });
      if (otherBound) await closeServer(other);
      expect(otherBound).toBe(false);
      await tick(450);
      // released at the next connect after its time
      const b = e.connectTcp(4, LO4, portOf(server), src, { ttl: 64, tos: 0 });
      expect(e.stats().quarantinedPorts).toBe(0);
      expect((await c.waitFor(tcpEndOf(b.id))).tcpErrno).toBe(0);
      // close() lets every quarantined port go
      e.connectTcp(4, LO4, portOf(server), 0, { ttl: 64, tos: 0, quarantineMs: 60_000 });
      await c.waitCount(isTcpEnd, 3);
      expect(e.stats().quarantinedPorts).toBe(1);
    });
  });

  it('closeTcp closes early and is idempotent; close() ends every probe in flight', async () => {
    await withEngineAndServer('127.0.0.1', async (e, c, server) => {
      const base = openFds();
      const a = e.connectTcp(4, LO4, portOf(server), 0, { ttl: 64, tos: 0 });
      expect(e.stats().tcpInFlight).toBe(1);
      expect(e.closeTcp(a.id)).toBe(true);
      expect(e.closeTcp(a.id)).toBe(false);
      expect(openFds()).toBe(base);
      for (let i = 0; i < 50; i++) e.connectTcp(4, LO4, portOf(server), 0, { ttl: 64, tos: 0 });
      expect(e.stats().tcpInFlight).toBe(50);
      e.close();
      expect(openFds()).toBe(base - 2 - 5 - 2); // the engine's own sockets went too (raw: v4 2, v6 5, RST receivers 2)
      await tick(50);
      expect(c.packets.filter((p) => p.source === 'tcp')).toHaveLength(0);
    });
  });

  it('a terminated worker closes its probes in flight (a listener that never accepts keeps them pending)', async () => {
    const script = scratch!.script(
      'worker-tcp.mjs',
      `import { Worker } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
const py = spawn('python3', ['-c', 'import socket,time\\ns=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1); print(s.getsockname()[1], flush=True); time.sleep(30)']);
py.stdout.once('data', (d) => {
  const port = Number(String(d).trim());
  const base = readdirSync('/proc/self/fd').length;
  const src = \`
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.dist).then(({ Engine }) => {
  const e = new Engine(() => {});
  e.open();
  for (let i = 0; i < 200; i++) e.connectTcp(4, new Uint8Array([127, 0, 0, 1]), workerData.port, 0, { ttl: 64, tos: 0 });
  setTimeout(() => parentPort.postMessage(e.stats().tcpInFlight), 300);
});\`;
  const w = new Worker(src, { eval: true, workerData: { port, dist: ${JSON.stringify(distIndex)} } });
  let inFlight = -1;
  w.on('message', (m) => { inFlight = m; w.terminate(); });
  w.on('exit', (code) => setTimeout(() => { py.kill(); out({ inFlight, code, fdsBack: readdirSync('/proc/self/fd').length === base }); }, 100));
});`,
    );
    const r = await runChild([process.execPath, script], 10_000);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    const res = lastJson<{ inFlight: number; code: number; fdsBack: boolean }>(r.stdout);
    expect(res.inFlight).toBeGreaterThan(150); // the accept queue holds a couple; the rest wait for SYN-ACKs
    expect(res.code).toBe(1); // terminated
    expect(res.fdsBack).toBe(true);
  });

  it('5,000 concurrent probes to a closed port all complete with 111; fds return to the baseline', async () => {
    const c = new Collector();
    const e = new Engine(c.onBatch);
    try {
      const opened = e.open();
      expect(opened.maxFiles).toBeGreaterThanOrEqual(5000 + 100);
      const port = await closedTcpPort('127.0.0.1');
      const base = openFds();
      const n = 5000;
      const ids = new Set<number>();
      for (let i = 0; i < n; i++) ids.add(e.connectTcp(4, LO4, port, 0, { ttl: 64, tos: 0 }).id);
      expect(ids.size).toBe(n);
      const done = await c.waitCount(isTcpEnd, n, 20_000);
      const errnos = new Map<number | undefined, number>();
      for (const p of done) errnos.set(p.tcpErrno, (errnos.get(p.tcpErrno) ?? 0) + 1);
      expect([...errnos]).toEqual([[111, n]]);
      expect(done.every((p) => ids.has(p.tcpId))).toBe(true);
      expect(new Set(done.map((p) => p.tcpId)).size).toBe(n);
      expect(c.batches).toBeLessThan(n); // completions of one loop iteration share a batch
      expect(e.stats().tcpInFlight).toBe(0);
      expect(openFds()).toBe(base);
    } finally {
      e.close();
    }
  });

  it('namespace router: a TTL 1 TCP probe gives Time Exceeded on the raw socket (raw) or in its error queue (dgram)', async () => {
    const lab = new RouterLab();
    try {
      lab.setup();
      const script = scratch!.script(
        'ttl-tcp.mjs',
        `const mode = process.argv[2];
const got = [];
const e = new Engine((ps) => { for (const p of ps) got.push(ser(p)); });
const result = { open: e.open({ mode }) };
const t4 = new Uint8Array(${JSON.stringify(RouterLab.TARGET4)});
const t6 = new Uint8Array(${JSON.stringify(RouterLab.TARGET6)});
result.tcp4 = e.connectTcp(4, t4, 80, 0, { ttl: 1, tos: 0 });
result.tcp6 = e.connectTcp(6, t6, 80, 0, { ttl: 1, tos: 0 });
setTimeout(() => { result.got = got; result.inFlight = e.stats().tcpInFlight; e.close(); out(result); }, 1500);`,
      );
      type Result = {
        open: Record<string, unknown>;
        tcp4: { id: number; txNs: number; localPort: number };
        tcp6: { id: number; txNs: number; localPort: number };
        got: PacketJson[];
        inFlight: number;
      };
      const u16 = (d: number[], at: number): number => (d[at]! << 8) | d[at + 1]!;

      // Raw mode: the Time Exceeded arrives on the raw ICMP socket quoting our source port; the
      // connect attempt itself ends with EHOSTUNREACH; no error-queue copy.
      const raw = await lab.run(script, ['raw']);
      expect(raw.code, raw.stderr).toBe(0);
      const r = lastJson<Result>(raw.stdout);
      expect(r.open).toMatchObject({ ip4: 'raw', ip6: 'raw' });
      const raw4 = r.got.find((p) => {
        if (p.source !== 'raw' || p.family !== 4) return false;
        const ihl = (p.data[0]! & 15) * 4;
        const inner = ihl + 8;
        return p.data[ihl] === 11 && p.data[inner + 9] === 6 && u16(p.data, inner + 20) === r.tcp4.localPort;
      });
      expect(raw4, JSON.stringify(r.got)).toBeDefined();
      expect(raw4!.from).toEqual(RouterLab.ROUTER4);
      const raw6 = r.got.find(
        (p) => p.source === 'raw' && p.family === 6 && p.data[0] === 3 && p.data[8 + 6] === 6 && u16(p.data, 48) === r.tcp6.localPort,
      );
      expect(raw6, JSON.stringify(r.got)).toBeDefined();
      expect(raw6!.from).toEqual(RouterLab.ROUTER6);
      expect(r.got.filter((p) => p.source === 'error')).toHaveLength(0);
      expect(r.got.find((p) => p.source === 'tcp' && p.tcpId === r.tcp4.id)?.tcpErrno).toBe(113);
      expect(r.got.find((p) => p.source === 'tcp' && p.tcpId === r.tcp6.id)?.tcpErrno).toBe(113);
      expect(r.inFlight).toBe(0);

      // Datagram mode: the same error from the probe socket's error queue, before its completion.
      const dg = await lab.run(script, ['dgram']);
      expect(dg.code, dg.stderr).toBe(0);
      const d = lastJson<Result>(dg.stdout);
      expect(d.open).toMatchObject({ ip4: 'dgram', ip6: 'dgram' });
      for (const [family, sent, router, te] of [
        [4, d.tcp4, RouterLab.ROUTER4, 11],
        [6, d.tcp6, RouterLab.ROUTER6, 3],
      ] as const) {
        const i = d.got.findIndex((p) => p.source === 'error' && p.tcpId === sent.id);
        expect(i, JSON.stringify(d.got)).toBeGreaterThanOrEqual(0);
        const err = d.got[i]!;
        expect(err.family).toBe(family);
        expect(err.errProto).toBe('tcp');
        expect([err.icmpType, err.icmpCode]).toEqual([te, 0]);
        expect(err.from).toEqual(router);
        expect(err.origDstPort).toBe(80);
        expect(err.origSrcPort).toBe(sent.localPort);
        expect(u16(err.data, 0)).toBe(sent.localPort); // the quoted TCP header
        expect(err.rxNs).toBeGreaterThanOrEqual(sent.txNs);
        const j = d.got.findIndex((p) => p.source === 'tcp' && p.tcpId === sent.id);
        expect(j).toBeGreaterThan(i);
        expect(d.got[j]!.tcpErrno).toBe(113);
      }
      expect(d.got.filter((p) => p.source === 'raw')).toHaveLength(0);
    } finally {
      lab.teardown();
    }
  });
});
