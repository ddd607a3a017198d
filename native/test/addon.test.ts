// Tests of the native addon against the real kernel: raw sockets on loopback, a private network
// namespace for routing errors, and child processes for exit and privilege behaviour.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { META } from '../src/batch.js';
import { Engine, dropPrivileges, errnoName, isErrnoError, type ReceivedPacket } from '../src/index.js';
import { Collector, LO4, LO6, isRoot, lastJson, rootReason, runChild, skipRoot } from './probe-lab.js';

if (skipRoot) console.warn(`native/test/addon: root-only tests skipped:${rootReason}`);

const addonPath = fileURLToPath(new URL('../build/Release/mtr_native.node', import.meta.url));

// --- tiny local packet helpers (the real builders live in src/wire) ---

function inetChecksum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function icmpEcho(type: number, id: number, seq: number, payloadLength = 16): Uint8Array {
  const m = new Uint8Array(8 + payloadLength);
  m[0] = type;
  m[4] = id >> 8;
  m[5] = id & 0xff;
  m[6] = seq >> 8;
  m[7] = seq & 0xff;
  for (let i = 8; i < m.length; i++) m[i] = i;
  return m;
}

function ipv4Echo(dst: Uint8Array, id: number, seq: number, ttl = 64): Uint8Array {
  const icmp = icmpEcho(8, id, seq);
  const c = inetChecksum(icmp);
  icmp[2] = c >> 8;
  icmp[3] = c & 0xff;
  const p = new Uint8Array(20 + icmp.length);
  p[0] = 0x45;
  p[2] = p.length >> 8;
  p[3] = p.length & 0xff;
  p[8] = ttl;
  p[9] = 1; // ICMP
  p.set(LO4, 12);
  p.set(dst, 16);
  const h = inetChecksum(p.subarray(0, 20));
  p[10] = h >> 8;
  p[11] = h & 0xff;
  p.set(icmp, 20);
  return p;
}

/** ICMPv6 echo request; checksum left 0 for the kernel. */
function ipv6Echo(id: number, seq: number): Uint8Array {
  return icmpEcho(128, id, seq);
}

interface Echo {
  id: number;
  seq: number;
}

function echoReplyOf(p: ReceivedPacket): Echo | undefined {
  let m = p.data;
  if (p.family === 4) {
    if (m.length < 20) return undefined;
    m = m.subarray((m[0]! & 0x0f) * 4);
    if (m[0] !== 0) return undefined;
  } else if (m[0] !== 129) {
    return undefined;
  }
  if (m.length < 8) return undefined;
  return { id: (m[4]! << 8) | m[5]!, seq: (m[6]! << 8) | m[7]! };
}

function randomId(): number {
  return randomBytes(2).readUInt16BE(0);
}

function expectErrno(e: unknown, code: string, syscall: string): void {
  expect(isErrnoError(e)).toBe(true);
  const err = e as Error & { code: string; errno: number; syscall: string };
  expect(err).toBeInstanceOf(Error);
  expect(err.code).toBe(code);
  expect(err.syscall).toBe(syscall);
  expect(err.errno).toBeGreaterThan(0);
  expect(errnoName(err.errno)).toBe(code);
}

// --- child processes: they load the compiled addon directly (no TS loader in a bare node) ---

let scratch = '';
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'mtr-native-test-'));
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function childScript(name: string, body: string): string {
  const file = join(scratch, name);
  writeFileSync(
    file,
    `const { createRequire } = require('node:module');
const addon = createRequire(__filename)(${JSON.stringify(addonPath)});
const out = (v) => process.stdout.write(JSON.stringify(v) + '\\n');
const errOf = (e) => ({ code: e.code, errno: e.errno, syscall: e.syscall, isError: e instanceof Error });
${body}
`,
  );
  return file;
}


function procStatus(text: string, field: string): string {
  const line = text.split('\n').find((l) => l.startsWith(`${field}:`));
  return line === undefined ? '' : line.slice(field.length + 1).trim();
}

// --- tests ---

describe('errors and helpers (no root needed)', () => {
  it('errnoName maps numbers to Node codes', () => {
    expect(errnoName(101)).toBe('ENETUNREACH');
    expect(errnoName(1)).toBe('EPERM');
    expect(errnoName(113)).toBe('EHOSTUNREACH');
  });

  it('argument errors are TypeErrors/RangeErrors thrown before any syscall', () => {
    const e = new Engine(() => {});
    try {
      expect(() => e.sendIPv4(new Uint8Array(28), new Uint8Array(3))).toThrow(TypeError);
      expect(() => e.sendIPv6(58, new Uint8Array(8), LO6, { hopLimit: 256, trafficClass: 0 })).toThrow(RangeError);
      expect(() => e.sendIPv4(new Uint8Array(28), LO4, { mark: -1 })).toThrow(RangeError);
    } finally {
      e.close();
    }
  });

  it('sending before open is a Node-style EBADF', () => {
    const e = new Engine(() => {});
    try {
      e.sendIPv4(ipv4Echo(LO4, 1, 1), LO4);
      expect.unreachable();
    } catch (err) {
      expectErrno(err, 'EBADF', 'sendto');
    } finally {
      e.close();
    }
  });

  it('now() is monotone enough and starts near the epoch', () => {
    const e = new Engine(() => {});
    const a = e.now();
    const b = e.now();
    e.close();
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(5e9);
    expect(b).toBeGreaterThanOrEqual(a);
  });
});

describe(`raw sockets as root${rootReason}`, { skip: skipRoot }, () => {
  it('runs as root', () => {
    // In CI a non-root run must fail loudly rather than skip.
    expect(isRoot, 'these tests need root (raw sockets)').toBe(true);
  });

  it('opens both families', () => {
    const e = new Engine(() => {});
    try {
      const r = e.open();
      // sctp: whether the kernel has SCTP, asked of it independently (python's socket module)
      const sctp =
        spawnSync('python3', ['-c', 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)']).status === 0;
      expect(r).toEqual({ ip4: 'raw', ip6: 'raw', sctp, maxFiles: expect.any(Number), txStamps: true });
      expect(e.open()).toEqual(r); // once: a second call reports the same sockets
    } finally {
      e.close();
      e.close(); // idempotent
    }
  });

  it('IPv4: echo request to 127.0.0.1 comes back in a batch with kernel timestamps', async () => {
    const c = new Collector();
    const e = new Engine(c.onBatch);
    try {
      e.open();
      const id = randomId();
      const before = e.now();
      const departure = e.sendIPv4(ipv4Echo(LO4, id, 7, 64), LO4);
      expect(departure).toBeGreaterThanOrEqual(before);
      const reply = await c.waitFor((p) => p.family === 4 && echoReplyOf(p)?.id === id);
      expect(echoReplyOf(reply)).toEqual({ id, seq: 7 });
      expect([...reply.from]).toEqual([127, 0, 0, 1]);
      expect(reply.data[0]! >> 4).toBe(4); // the IPv4 header is included
      expect(reply.rxNs).toBeGreaterThanOrEqual(departure);
      expect(reply.rxNs - departure).toBeLessThan(50e6);
      expect(c.batches).toBeGreaterThanOrEqual(1);
    } finally {
      e.close();
    }
  });

  it('IPv6: echo request to ::1 (kernel checksum) comes back with from = ::1', async () => {
    const c = new Collector();
    const e = new Engine(c.onBatch);
    try {
      expect(e.open().ip6).toBe('raw');
      const id = randomId();
      const departure = e.sendIPv6(58, ipv6Echo(id, 9), LO6, { hopLimit: 64, trafficClass: 0 });
      const reply = await c.waitFor((p) => p.family === 6 && echoReplyOf(p)?.id === id);
      expect(echoReplyOf(reply)).toEqual({ id, seq: 9 });
      expect(reply.from).toEqual(LO6);
      expect(reply.data[0]).toBe(129); // the ICMPv6 message only
      expect(reply.rxNs).toBeGreaterThanOrEqual(departure);
      expect(reply.rxNs - departure).toBeLessThan(50e6);
    } finally {
      e.close();
    }
  });

  it('IPv6: source address via IPV6_PKTINFO, traffic class and mark per send', async () => {
    const c = new Collector();
    const e = new Engine(c.onBatch);
    try {
      e.open();
      const id = randomId();
      e.sendIPv6(58, ipv6Echo(id, 1), LO6, { hopLimit: 5, trafficClass: 0x20, src: LO6, mark: 7 });
      e.sendIPv6(58, ipv6Echo(id, 2), LO6, { hopLimit: 5, trafficClass: 0 }); // mark restored
      await c.waitFor((p) => p.family === 6 && echoReplyOf(p)?.id === id && echoReplyOf(p)?.seq === 1);
      await c.waitFor((p) => p.family === 6 && echoReplyOf(p)?.id === id && echoReplyOf(p)?.seq === 2);
    } finally {
      e.close();
    }
  });

  it('a burst of probes arrives complete, in few batches', async () => {
    const c = new Collector();
    const e = new Engine(c.onBatch);
    try {
      e.open();
      const id = randomId();
      const n = 200;
      for (let seq = 0; seq < n; seq++) e.sendIPv4(ipv4Echo(LO4, id, seq), LO4, seq % 2 ? { mark: 3 } : undefined);
      const seen = new Set<number>();
      const deadline = Date.now() + 3000;
      while (seen.size < n && Date.now() < deadline) {
        await c.waitFor((p) => echoReplyOf(p)?.id === id && !seen.has(echoReplyOf(p)!.seq), 3000);
        for (const p of c.packets) {
          const r = echoReplyOf(p);
          if (r?.id === id) seen.add(r.seq);
        }
      }
      expect(seen.size).toBe(n);
      expect(c.batches).toBeLessThan(n); // batched, not one crossing per packet (loose: timing dependent)
      expect(e.stats().skipped).toBe(0);
    } finally {
      e.close();
    }
  });

  it('sourceAddress: the kernel picks 127.0.0.1 for 127.0.0.1 and ::1 for ::1', () => {
    const e = new Engine(() => {});
    try {
      expect([...e.sourceAddress(4, LO4)]).toEqual([127, 0, 0, 1]);
      expect(e.sourceAddress(6, LO6)).toEqual(LO6);
    } finally {
      e.close();
    }
  });

  it('a send with an unknown device is a Node-style ENODEV from if_nametoindex', () => {
    const e = new Engine(() => {});
    try {
      e.open();
      e.sendIPv4(ipv4Echo(LO4, randomId(), 1), LO4, { device: 'nosuchdev0' });
      expect.unreachable();
    } catch (err) {
      expectErrno(err, 'ENODEV', 'if_nametoindex');
    } finally {
      e.close();
    }
  });

  it('send after close is EBADF, and close is idempotent', () => {
    const e = new Engine(() => {});
    e.open();
    e.close();
    e.close();
    try {
      e.sendIPv6(58, ipv6Echo(1, 1), LO6, { hopLimit: 1, trafficClass: 0 });
      expect.unreachable();
    } catch (err) {
      expectErrno(err, 'EBADF', 'sendmsg');
    }
  });

  it('no route (inside a private network namespace): ENETUNREACH from connect, sendto and sendmsg', async () => {
    const ns = `mtrts-native-${process.pid}-${randomBytes(3).toString('hex')}`;
    const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
    expect(add.status, `ip netns add: ${add.stderr}`).toBe(0);
    try {
      // lo up gives IPv6 a source address (::1); without it connect() says EADDRNOTAVAIL instead.
      const up = spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
      expect(up.status, `ip link set lo up: ${up.stderr}`).toBe(0);
      const script = childScript(
        'noroute.cjs',
        `const e = new addon.Engine(() => {});
const result = { open: e.open() };
const dst4 = new Uint8Array([10, 0, 0, 1]);
const dst6 = new Uint8Array(16); dst6[0] = 0x20; dst6[1] = 0x01; dst6[2] = 0x0d; dst6[3] = 0xb8; dst6[15] = 1;
try { e.sourceAddress(4, dst4, 0, 0); } catch (err) { result.source4 = errOf(err); }
try { e.sourceAddress(6, dst6, 0, 0); } catch (err) { result.source6 = errOf(err); }
const ip = new Uint8Array(28); ip[0] = 0x45; ip[3] = 28; ip[8] = 64; ip[9] = 1; ip.set(dst4, 16); ip[20] = 8;
try { e.sendIPv4(ip, dst4, 0); } catch (err) { result.send4 = errOf(err); }
try { e.sendIPv6(58, new Uint8Array(8), dst6, 64, 0, undefined, 0); } catch (err) { result.send6 = errOf(err); }
e.close();
out(result);`,
      );
      const r = await runChild(['ip', 'netns', 'exec', ns, process.execPath, script], 10_000);
      expect(r.code, r.stderr).toBe(0);
      const res = lastJson<Record<string, unknown>>(r.stdout);
      const unreach = (syscall: string) => ({ code: 'ENETUNREACH', errno: 101, syscall, isError: true });
      expect(res['source4']).toEqual(unreach('connect'));
      expect(res['source6']).toEqual(unreach('connect'));
      // sendmsg: with transmit stamps on, each IPv4 send carries its stamp id (SCM_TS_OPT_ID)
      expect(res['send4']).toEqual(unreach('sendmsg'));
      expect(res['send6']).toEqual(unreach('sendmsg'));
    } finally {
      spawnSync('ip', ['netns', 'delete', ns]);
    }
  });

  it('close() lets the process exit; while open the polls keep it alive; unref() releases them', async () => {
    const closes = childScript(
      'closes.cjs',
      `const e = new addon.Engine(() => {});
e.open();
setTimeout(() => { e.close(); out({ closed: true }); }, 50);`,
    );
    const r1 = await runChild([process.execPath, closes], 2000);
    expect(r1.timedOut, 'did not exit within 2 s of close()').toBe(false);
    expect(r1.code, r1.stderr).toBe(0);

    const stays = childScript('stays.cjs', `const e = new addon.Engine(() => {}); e.open(); out({ open: true });`);
    const r2 = await runChild([process.execPath, stays], 1000);
    expect(r2.timedOut, 'an open engine must keep the loop alive').toBe(true);

    const unrefs = childScript('unrefs.cjs', `const e = new addon.Engine(() => {}); e.open(); e.unref(); out({});`);
    const r3 = await runChild([process.execPath, unrefs], 2000);
    expect(r3.timedOut).toBe(false);
    expect(r3.code, r3.stderr).toBe(0);
  });

  it('per-env: engines in worker threads receive their own replies; a terminated worker closes its engine', async () => {
    const script = childScript(
      'workers.cjs',
      `const { Worker } = require('node:worker_threads');
const src = \`
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(\${JSON.stringify(${JSON.stringify(addonPath)})});
const lo = new Uint8Array([127, 0, 0, 1]);
const e = new addon.Engine((buf, meta) => {
  const ids = [];
  for (let m = 0; m < meta.length; m += ${META.count}) {
    const d = new Uint8Array(buf, meta[m + ${META.dataOffset}], meta[m + ${META.dataLength}]);
    ids.push((d[24] << 8) | d[25]);
  }
  parentPort.postMessage(ids);
  if (ids.includes(workerData.id) && !workerData.leaveOpen) e.close();
});
e.open();
const ip = new Uint8Array(28); ip[0] = 0x45; ip[3] = 28; ip[8] = 64; ip[9] = 1;
ip.set(lo, 12); ip.set(lo, 16); ip[20] = 8; ip[24] = workerData.id >> 8; ip[25] = workerData.id & 255;
let s = 0; for (let i = 20; i < 28; i += 2) s += (ip[i] << 8) | ip[i + 1];
while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
s = ~s & 0xffff; ip[22] = s >> 8; ip[23] = s & 255;
e.sendIPv4(ip, lo, 0);
\`;
const results = {};
let pending = 3;
const base = (process.pid * 7) & 0xfff0;
[['closes1', base + 1, false], ['closes2', base + 2, false], ['terminated', base + 3, true]].forEach(([name, id, leaveOpen]) => {
  const w = new Worker(src, { eval: true, workerData: { id, leaveOpen } });
  results[name] = { got: false };
  w.on('message', (ids) => { if (ids.includes(id)) { results[name].got = true; if (leaveOpen) w.terminate(); } });
  w.on('error', (err) => { results[name].error = String(err); });
  w.on('exit', (code) => { results[name].exit = code; if (--pending === 0) out(results); });
});`,
    );
    const r = await runChild([process.execPath, script], 10_000);
    expect(r.timedOut).toBe(false);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson<Record<string, unknown>>(r.stdout)).toEqual({
      closes1: { got: true, exit: 0 },
      closes2: { got: true, exit: 0 },
      terminated: { got: true, exit: 1 },
    });
  });

  it('an exception thrown by the batch handler surfaces as uncaughtException', async () => {
    const script = childScript(
      'throws.cjs',
      `const e = new addon.Engine(() => { throw new Error('boom from handler'); });
e.open();
process.on('uncaughtException', (err) => { out({ caught: err.message }); e.close(); });
const ip = new Uint8Array(28); ip[0] = 0x45; ip[3] = 28; ip[8] = 64; ip[9] = 1;
ip.set([127, 0, 0, 1], 12); ip.set([127, 0, 0, 1], 16); ip[20] = 8; ip[22] = 0xf7; ip[23] = 0xff;
e.sendIPv4(ip, new Uint8Array([127, 0, 0, 1]), 0);`,
    );
    const r = await runChild([process.execPath, script], 3000);
    expect(r.timedOut).toBe(false);
    expect(lastJson<Record<string, unknown>>(r.stdout)).toEqual({ caught: 'boom from handler' });
  });

  it('dropPrivileges clears every capability; open sockets keep working', async () => {
    const script = childScript(
      'drop.cjs',
      `const fs = require('node:fs');
const lo = new Uint8Array([127, 0, 0, 1]);
let replies = 0;
const e = new addon.Engine((buf, meta) => { replies += meta.length / 5; });
e.open();
const drop = addon.dropPrivileges(undefined, undefined);
const status = fs.readFileSync('/proc/self/status', 'utf8');
let reopen;
try { new addon.Engine(() => {}).open('raw'); } catch (err) { reopen = errOf(err); }
const ip = new Uint8Array(28); ip[0] = 0x45; ip[3] = 28; ip[8] = 64; ip[9] = 1;
ip.set(lo, 12); ip.set(lo, 16); ip[20] = 8; ip[22] = 0xf7; ip[23] = 0xff;
e.sendIPv4(ip, lo, 0);
setTimeout(() => { e.close(); out({ drop, status, reopen, replies }); }, 200);`,
    );
    const r = await runChild([process.execPath, script], 5000);
    expect(r.code, r.stderr).toBe(0);
    const res = lastJson<Record<string, unknown>>(r.stdout) as {
      drop: Record<string, unknown>;
      status: string;
      reopen: unknown;
      replies: number;
    };
    expect(res.drop).toMatchObject({ capsCleared: true, noNewPrivs: true, switched: false, uid: 0, gid: 0 });
    // Staying root, a thread that blocks all signals (Node's inspector watchdog) keeps its sets.
    expect(typeof res.drop['allThreads']).toBe('boolean');
    expect(procStatus(res.status, 'CapEff')).toMatch(/^0+$/);
    expect(procStatus(res.status, 'CapPrm')).toMatch(/^0+$/);
    expect(procStatus(res.status, 'CapBnd')).toMatch(/^0+$/);
    expect(procStatus(res.status, 'NoNewPrivs')).toBe('1');
    expect(res.reopen).toEqual({ code: 'EPERM', errno: 1, syscall: 'socket', isError: true });
    expect(res.replies).toBeGreaterThanOrEqual(1);
  });

  it('dropPrivileges with uid/gid 65534 switches user', async () => {
    const script = childScript(
      'drop-user.cjs',
      `const fs = require('node:fs');
const e = new addon.Engine(() => {});
e.open();
const drop = addon.dropPrivileges(65534, 65534);
const status = fs.readFileSync('/proc/self/status', 'utf8');
const threads = fs.readdirSync('/proc/self/task').map((t) => {
  try { return fs.readFileSync('/proc/self/task/' + t + '/status', 'utf8').match(/CapPrm:\\s*(\\S+)/)[1]; } catch { return '0'; }
});
e.close();
out({ drop, status, threads, uid: process.getuid(), gid: process.getgid(), groups: process.getgroups() });`,
    );
    const r = await runChild([process.execPath, script], 5000);
    expect(r.code, r.stderr).toBe(0);
    const res = lastJson<Record<string, unknown>>(r.stdout) as {
      drop: Record<string, unknown>;
      status: string;
      threads: string[];
      uid: number;
      gid: number;
      groups: number[];
    };
    expect(res.drop).toMatchObject({ capsCleared: true, allThreads: true, switched: true, uid: 65534, gid: 65534 });
    expect(res.threads.length).toBeGreaterThan(1);
    for (const prm of res.threads) expect(prm).toMatch(/^0+$/); // every thread, not only the caller
    expect(res.uid).toBe(65534);
    expect(res.gid).toBe(65534);
    expect(res.groups.filter((g) => g !== 65534)).toEqual([]);
    expect(procStatus(res.status, 'CapEff')).toMatch(/^0+$/);
    expect(procStatus(res.status, 'CapPrm')).toMatch(/^0+$/);
    expect(procStatus(res.status, 'Uid').split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
  });
});

// Keep the TS loader honest too: the same function the runtime uses.
describe('dropPrivileges export', () => {
  it('is a function', () => {
    expect(typeof dropPrivileges).toBe('function');
  });
});
