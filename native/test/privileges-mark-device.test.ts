// dropPrivileges({ keepNetAdmin }) and marks afterwards; per-packet device selection on the raw send
// paths (IP_PKTINFO / IPV6_PKTINFO) before and after dropPrivileges. Each test runs a child process
// as root inside a scratch network namespace and reads nftables counters in its output hook.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJson, rootReason, runChild, Scratch, skipRoot } from './probe-lab.js';

if (skipRoot) console.warn(`native/test/privileges-mark-device: root-only tests skipped:${rootReason}`);

let scratch: Scratch | undefined;
beforeAll(() => {
  if (!skipRoot) scratch = new Scratch();
});
afterAll(() => scratch?.remove());

function sh(args: string[], input?: string): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** A scratch namespace; the test deletes it in finally. */
function newNamespace(kind: string): string {
  const ns = `mtrts-${kind}-${process.pid}-${randomBytes(3).toString('hex')}`;
  sh(['ip', 'netns', 'add', ns]);
  return ns;
}

/** Named counters of table inet mtrts: name -> packets. */
function counters(ns: string): Record<string, number> {
  const text = sh(['ip', 'netns', 'exec', ns, 'nft', 'list', 'counters', 'table', 'inet', 'mtrts']);
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/counter (\w+) \{\s*packets (\d+)/g)) out[m[1]!] = Number(m[2]);
  return out;
}

function procStatus(text: string, field: string): string {
  const line = text.split('\n').find((l) => l.startsWith(`${field}:`));
  return line === undefined ? '' : line.slice(field.length + 1).trim();
}

// Shared by the child scripts: an IPv4 echo request (header included) and an ICMPv6 echo request.
const PACKETS = `
const sum = (b, from, to) => { let s = 0; for (let i = from; i < to; i += 2) s += (b[i] << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16); return ~s & 0xffff; };
const echo4 = (src, dst, seq) => { const ip = new Uint8Array(28); ip[0] = 0x45; ip[3] = 28; ip[8] = 64; ip[9] = 1;
  ip.set(src, 12); ip.set(dst, 16); ip[20] = 8; ip[24] = 0x4d; ip[27] = seq; const c = sum(ip, 20, 28);
  ip[22] = c >> 8; ip[23] = c & 255; return ip; };
const echo6 = (seq) => { const m = new Uint8Array(8); m[0] = 128; m[4] = 0x4d; m[7] = seq; return m; };
const attempt = (f) => { try { const v = f(); return v === undefined ? 'ok' : v; } catch (e) { return errOf(e); } };
`;

describe('dropPrivileges({ keepNetAdmin }) and SO_MARK', () => {
  const MARK_RULES = `table inet mtrts {
  counter icmp_m7 {}
  counter icmp_m0 {}
  counter icmp6_m7 {}
  counter icmp6_m0 {}
  counter udp_m7 {}
  counter tcp_m7 {}
  chain out {
    type filter hook output priority 0; policy accept;
    meta mark 7 icmp type echo-request counter name icmp_m7
    meta mark 0 icmp type echo-request counter name icmp_m0
    meta mark 7 icmpv6 type echo-request counter name icmp6_m7
    meta mark 0 icmpv6 type echo-request counter name icmp6_m0
    meta mark 7 udp dport 33999 counter name udp_m7
    meta mark 7 tcp dport 33998 counter name tcp_m7
  }
}
`;

  const script = (keep: boolean): string =>
    scratch!.script(
      `mark-${keep}.mjs`,
      `import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
${PACKETS}
const lo = new Uint8Array([127, 0, 0, 1]); const lo6 = new Uint8Array(16); lo6[15] = 1;
const raw = new Engine(() => {}); const dg = new Engine(() => {});
const res = { openRaw: raw.open({ mode: 'raw' }), openDgram: dg.open({ mode: 'dgram' }), capsBefore: raw.probeCapabilities() };
res.drop = native.dropPrivileges(${keep ? '{ keepNetAdmin: true }' : '{}'});
res.status = readFileSync('/proc/self/status', 'utf8');
res.caps = raw.probeCapabilities();
res.marked4 = attempt(() => { raw.sendIPv4(echo4(lo, lo, 1), lo, { mark: 7 }); });
res.plain4 = attempt(() => { raw.sendIPv4(echo4(lo, lo, 2), lo); });
res.marked6 = attempt(() => { raw.sendIPv6(58, echo6(1), lo6, { hopLimit: 64, trafficClass: 0, mark: 7 }); });
res.plain6 = attempt(() => { raw.sendIPv6(58, echo6(2), lo6, { hopLimit: 64, trafficClass: 0 }); });
res.udp = attempt(() => { dg.sendDgram(4, 'udp', new Uint8Array(8), lo, 33999, { ttl: 64, tos: 0, mark: 7 }); });
res.tcp = attempt(() => { raw.connectTcp(4, lo, 33998, 0, { ttl: 64, tos: 0, mark: 7 }); });
res.source = attempt(() => [...raw.sourceAddress(4, lo, { mark: 7 })]);
res.statusAfter = readFileSync('/proc/self/status', 'utf8');
res.execStatus = execFileSync('cat', ['/proc/self/status'], { encoding: 'utf8' });
setTimeout(() => { raw.close(); dg.close(); out(res); }, 300);`,
    );

  interface MarkResult {
    openRaw: Record<string, unknown>;
    openDgram: Record<string, unknown>;
    capsBefore: { mark: boolean };
    drop: Record<string, unknown>;
    status: string;
    statusAfter: string;
    execStatus: string;
    caps: { mark: boolean; bindToDevice: boolean };
    marked4: unknown;
    plain4: unknown;
    marked6: unknown;
    plain6: unknown;
    udp: unknown;
    tcp: unknown;
    source: unknown;
  }

  async function run(keep: boolean): Promise<{ res: MarkResult; count: Record<string, number> }> {
    const ns = newNamespace('mark');
    try {
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      sh(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ping_group_range=0 2147483647']);
      sh(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], MARK_RULES);
      const r = await runChild(['ip', 'netns', 'exec', ns, process.execPath, script(keep)], 15_000);
      expect(r.code, r.stderr).toBe(0);
      return { res: lastJson<MarkResult>(r.stdout), count: counters(ns) };
    } finally {
      spawnSync('ip', ['netns', 'delete', ns]);
    }
  }

  it.skipIf(skipRoot)(
    'keepNetAdmin: only CAP_NET_ADMIN stays, permitted only; marks are set (raised per setsockopt) and carried',
    async () => {
      const { res, count } = await run(true);
      expect(res.openRaw).toMatchObject({ ip4: 'raw', ip6: 'raw' });
      expect(res.openDgram).toMatchObject({ ip4: 'dgram', ip6: 'dgram' });
      expect(res.capsBefore.mark).toBe(true);
      expect(res.drop).toMatchObject({
        keptNetAdmin: true,
        capsCleared: false, // CAP_NET_ADMIN stays permitted
        boundingCleared: true,
        noNewPrivs: true,
        switched: false,
        uid: 0,
      });
      for (const status of [res.status, res.statusAfter]) {
        expect(procStatus(status, 'CapEff')).toBe('0000000000000000');
        expect(procStatus(status, 'CapPrm')).toBe('0000000000001000');
        expect(procStatus(status, 'CapInh')).toBe('0000000000000000');
        expect(procStatus(status, 'CapBnd')).toBe('0000000000001000');
        expect(procStatus(status, 'CapAmb')).toBe('0000000000000000');
        expect(procStatus(status, 'NoNewPrivs')).toBe('1');
      }
      // A program executed afterwards (root, SECBIT_NOROOT locked) gets nothing, not even CAP_NET_ADMIN.
      expect(procStatus(res.execStatus, 'CapPrm')).toBe('0000000000000000');
      expect(procStatus(res.execStatus, 'CapEff')).toBe('0000000000000000');
      expect(res.caps.mark).toBe(true);
      expect(res.marked4).toBe('ok');
      expect(res.plain4).toBe('ok');
      expect(res.marked6).toBe('ok');
      expect(res.plain6).toBe('ok');
      expect(res.udp).toBe('ok');
      expect(res.tcp).toBe('ok');
      expect(res.source).toEqual([127, 0, 0, 1]);
      // The marked packets carry mark 7; the sends after them (mark changed back to 0) are unmarked.
      expect(count).toEqual({ icmp_m7: 1, icmp_m0: 1, icmp6_m7: 1, icmp6_m0: 1, udp_m7: 1, tcp_m7: 1 });
    },
  );

  it.skipIf(skipRoot)('without keepNetAdmin nothing is kept: every mark throws EPERM and nothing leaves marked', async () => {
    const { res, count } = await run(false);
    expect(res.capsBefore.mark).toBe(true);
    expect(res.drop).toMatchObject({ keptNetAdmin: false, capsCleared: true, boundingCleared: true, switched: false });
    expect(procStatus(res.status, 'CapPrm')).toMatch(/^0+$/);
    expect(procStatus(res.status, 'CapBnd')).toMatch(/^0+$/);
    expect(res.caps.mark).toBe(false);
    const eperm = { code: 'EPERM', errno: 1, syscall: 'setsockopt' };
    for (const k of ['marked4', 'marked6', 'udp', 'tcp', 'source'] as const) expect(res[k], k).toEqual(eperm);
    expect(res.plain4).toBe('ok');
    expect(res.plain6).toBe('ok');
    expect(count).toEqual({ icmp_m7: 0, icmp_m0: 1, icmp6_m7: 0, icmp6_m0: 1, udp_m7: 0, tcp_m7: 0 });
  });

  it.skipIf(skipRoot)('keepNetAdmin is ignored with a uid switch (nothing kept)', async () => {
    const ns = newNamespace('markuid');
    try {
      const file = scratch!.script(
        'mark-uid.mjs',
        `import { readFileSync } from 'node:fs';
const e = new Engine(() => {}); e.open({ mode: 'raw' });
const drop = native.dropPrivileges({ uid: 65534, gid: 65534, keepNetAdmin: true });
const status = readFileSync('/proc/self/status', 'utf8');
let mark; try { e.sendIPv4(new Uint8Array(28), new Uint8Array([127, 0, 0, 1]), { mark: 7 }); } catch (err) { mark = errOf(err); }
out({ drop, status, caps: e.probeCapabilities(), mark }); e.close();`,
      );
      const r = await runChild(['ip', 'netns', 'exec', ns, process.execPath, file], 10_000);
      expect(r.code, r.stderr).toBe(0);
      const res = lastJson<{ drop: Record<string, unknown>; status: string; caps: { mark: boolean }; mark: unknown }>(
        r.stdout,
      );
      expect(res.drop).toMatchObject({ keptNetAdmin: false, capsCleared: true, switched: true, uid: 65534 });
      expect(procStatus(res.status, 'CapPrm')).toMatch(/^0+$/);
      expect(procStatus(res.status, 'CapBnd')).toMatch(/^0+$/);
      expect(res.caps.mark).toBe(false);
      expect(res.mark).toEqual({ code: 'EPERM', errno: 1, syscall: 'setsockopt' });
    } finally {
      spawnSync('ip', ['netns', 'delete', ns]);
    }
  });
});

describe('device on the raw send paths: per-packet IP_PKTINFO / IPV6_PKTINFO', () => {
  // Two veth pairs in one namespace: va (10.9.1.1/24, fd00:91::1/64) carries the routes to
  // 10.9.1.0/24 and fd00:91::/64; vb has a worse (metric 2000) route to the same prefixes, so a
  // probe with device vb leaves through vb and one without device through va.
  const DEVICE_RULES = `table inet mtrts {
  counter va4 {}
  counter vb4 {}
  counter va6 {}
  counter vb6 {}
  counter vatcp {}
  counter vbtcp {}
  chain out {
    type filter hook output priority 0; policy accept;
    oifname "va" icmp type echo-request counter name va4
    oifname "vb" icmp type echo-request counter name vb4
    oifname "va" icmpv6 type echo-request counter name va6
    oifname "vb" icmpv6 type echo-request counter name vb6
    oifname "va" tcp dport 33997 counter name vatcp
    oifname "vb" tcp dport 33997 counter name vbtcp
  }
}
`;

  it.skipIf(skipRoot)(
    'a device send leaves through that device, before and after dropPrivileges; nothing sticks; TCP keeps SO_BINDTODEVICE',
    async () => {
      const ns = newNamespace('dev');
      try {
        const ip = (...a: string[]) => sh(['ip', '-n', ns, ...a]);
        ip('link', 'set', 'lo', 'up');
        ip('link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'va2');
        ip('link', 'add', 'vb', 'type', 'veth', 'peer', 'name', 'vb2');
        for (const d of ['va', 'va2', 'vb', 'vb2']) ip('link', 'set', d, 'up');
        ip('addr', 'add', '10.9.1.1/24', 'dev', 'va');
        ip('addr', 'add', '10.9.2.1/24', 'dev', 'vb');
        ip('addr', 'add', 'fd00:91::1/64', 'dev', 'va', 'nodad');
        ip('addr', 'add', 'fd00:92::1/64', 'dev', 'vb', 'nodad');
        ip('route', 'add', '10.9.1.0/24', 'dev', 'vb', 'metric', '2000');
        ip('-6', 'route', 'add', 'fd00:91::/64', 'dev', 'vb', 'metric', '2000');
        sh(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], DEVICE_RULES);
        const file = scratch!.script(
          'device.mjs',
          `${PACKETS}
const dst4 = new Uint8Array([10, 9, 1, 2]);
const srcA = new Uint8Array([10, 9, 1, 1]); const srcB = new Uint8Array([10, 9, 2, 1]);
const dst6 = new Uint8Array(16); dst6.set([0xfd, 0, 0, 0x91]); dst6[15] = 2;
const srcB6 = new Uint8Array(16); srcB6.set([0xfd, 0, 0, 0x92]); srcB6[15] = 1;
const dstB6 = new Uint8Array(16); dstB6.set([0xfd, 0, 0, 0x92]); dstB6[15] = 2;
const h6 = { hopLimit: 64, trafficClass: 0 };
const e = new Engine(() => {});
const res = { open: e.open({ mode: 'raw' }), before: [], after: [] };
res.before.push(attempt(() => { e.sendIPv4(echo4(srcA, dst4, 1), dst4); }));
res.before.push(attempt(() => { e.sendIPv4(echo4(srcB, dst4, 2), dst4, { device: 'vb' }); }));
res.before.push(attempt(() => { e.sendIPv6(58, echo6(1), dst6, h6); }));
res.before.push(attempt(() => { e.sendIPv6(58, echo6(2), dst6, { ...h6, device: 'vb' }); }));
res.drop = native.dropPrivileges();
res.after.push(attempt(() => { e.sendIPv4(echo4(srcB, dst4, 3), dst4, { device: 'vb' }); }));
res.after.push(attempt(() => { e.sendIPv4(echo4(srcA, dst4, 4), dst4); }));
res.after.push(attempt(() => { e.sendIPv6(58, echo6(3), dst6, { ...h6, device: 'vb' }); }));
res.after.push(attempt(() => { e.sendIPv6(58, echo6(4), dst6, h6); }));
// Source address and interface in the same IPV6_PKTINFO (towards a prefix only vb routes: with a
// source address the kernel's IPv6 lookup takes the ifindex as a preference, not a constraint).
res.after.push(attempt(() => { e.sendIPv6(58, echo6(6), dstB6, { ...h6, device: 'vb', src: srcB6 }); }));
res.unknown4 = attempt(() => { e.sendIPv4(echo4(srcA, dst4, 5), dst4, { device: 'nosuchdev0' }); });
res.unknown6 = attempt(() => { e.sendIPv6(58, echo6(5), dst6, { ...h6, device: 'nosuchdev0' }); });
res.caps = e.probeCapabilities();
const tcp = [
  attempt(() => e.connectTcp(4, dst4, 33997, 0, { ttl: 64, tos: 0, device: 'vb' }).id),
  attempt(() => e.connectTcp(6, dst6, 33997, 0, { ttl: 64, tos: 0, device: 'vb' }).id),
  attempt(() => e.connectTcp(4, dst4, 33997, 0, { ttl: 64, tos: 0 }).id),
];
res.tcp = tcp;
setTimeout(() => { for (const id of tcp) if (typeof id === 'number') e.closeTcp(id); e.close(); out(res); }, 300);`,
        );
        const r = await runChild(['ip', 'netns', 'exec', ns, process.execPath, file], 15_000);
        expect(r.code, r.stderr).toBe(0);
        const res = lastJson<{
          open: Record<string, unknown>;
          before: unknown[];
          after: unknown[];
          drop: Record<string, unknown>;
          unknown4: unknown;
          unknown6: unknown;
          caps: { mark: boolean; bindToDevice: boolean };
          tcp: unknown[];
        }>(r.stdout);
        expect(res.open).toMatchObject({ ip4: 'raw', ip6: 'raw' });
        expect(res.before).toEqual(['ok', 'ok', 'ok', 'ok']);
        expect(res.drop).toMatchObject({ capsCleared: true, keptNetAdmin: false });
        expect(res.after).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']); // no EPERM: nothing is (re)bound
        const enodev = { code: 'ENODEV', errno: 19, syscall: 'if_nametoindex' };
        expect(res.unknown4).toEqual(enodev);
        expect(res.unknown6).toEqual(enodev);
        expect(res.caps).toEqual({ mark: false, bindToDevice: true });
        for (const id of res.tcp) expect(typeof id, JSON.stringify(res.tcp)).toBe('number');
        expect(counters(ns)).toEqual({ va4: 2, vb4: 2, va6: 2, vb6: 3, vatcp: 1, vbtcp: 2 });
      } finally {
        spawnSync('ip', ['netns', 'delete', ns]);
      }
    },
  );
});
