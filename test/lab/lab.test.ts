/**
 * Proves the netns lab itself, with the reference mtr-packet (Debian mtr-tiny 0.95) as the prober,
 * independently of our daemon.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLab, listLabNamespaces, sweepStaleLabs, type Lab } from './lab.js';
import { captureOnClient } from './capture.js';
import { pairRoundTrips } from './pcap.js';
import { describeLab, useLab } from './use-lab.js';

const MTR_PACKET = '/usr/bin/mtr-packet';

interface ProbeReply {
  type: string;
  addr?: string;
  rttUs?: number;
}

/** Run the reference mtr-packet in the client namespace; all lines are sent at once, replies keyed by token. */
async function probe(lab: Lab, lines: string[]): Promise<Map<number, ProbeReply>> {
  const r = await lab.exec('client', [MTR_PACKET], { input: lines.map((l) => `${l}\n`).join(''), timeoutMs: 20_000 });
  expect(r.code, r.stderr).toBe(0);
  const out = new Map<number, ProbeReply>();
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const [token, type, ...rest] = line.split(' ');
    const reply: ProbeReply = { type: type! };
    for (let i = 0; i + 1 < rest.length; i += 2) {
      if (rest[i] === 'ip-4' || rest[i] === 'ip-6') reply.addr = rest[i + 1]!;
      if (rest[i] === 'round-trip-time') reply.rttUs = Number(rest[i + 1]);
    }
    out.set(Number(token), reply);
  }
  return out;
}

const ipArg = (family: 4 | 6): string => (family === 4 ? 'ip-4' : 'ip-6');

function netnsNames(): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

describeLab('netns lab (reference mtr-packet as prober)', () => {
  it('has the reference mtr-packet', () => {
    expect(existsSync(MTR_PACKET), `${MTR_PACKET} missing (apt install mtr-tiny)`).toBe(true);
  });

  describe('delays 1/5/10/2 ms one-way', () => {
    const lab = useLab({ delaysMs: [1, 5, 10, 2] });

    for (const family of [4, 6] as const) {
      it(`IPv${family}: ttl 1..4 answer from r1, r2, r3 (ttl-expired) and dest (reply), RTTs follow the delays`, async () => {
        const l = lab();
        const hops = family === 4 ? l.hops4 : l.hops6;
        const dest = hops[3];
        const rounds = 5;
        const lines: string[] = [];
        for (let round = 0; round < rounds; round++) {
          for (let ttl = 1; ttl <= 4; ttl++) {
            lines.push(`${round * 10 + ttl} send-probe ${ipArg(family)} ${dest} ttl ${ttl} timeout 2`);
          }
        }
        await l.pathLatenessMs({ reset: true });
        const { result: replies, packets } = await captureOnClient(l, () => probe(l, lines));
        // how late the forwarders themselves ran meanwhile (0.1-0.5 ms on a quiet host; ms under CI load)
        const late = await l.pathLatenessMs();
        const expected = l.expectedRttMs();
        expect(expected).toEqual([2, 12, 32, 36]);
        // Wire truth: request leaving the client vs. answer arriving, on kernel capture timestamps.
        const wire = pairRoundTrips(packets.filter((p) => p.family === family));
        expect(wire).toHaveLength(rounds * 4);
        const stats = (xs: number[], exp: number): string => {
          xs.sort((a, b) => a - b);
          const f = (x: number): string => `+${(x - exp).toFixed(3)}`;
          return `min ${f(xs[0]!)} median ${f(xs[xs.length >> 1]!)} max ${f(xs[xs.length - 1]!)}`;
        };
        const summary: string[] = [];
        for (let ttl = 1; ttl <= 4; ttl++) {
          const exp = expected[ttl - 1]!;
          const tool: number[] = [];
          for (let round = 0; round < rounds; round++) {
            const rep = replies.get(round * 10 + ttl);
            expect(rep, `no answer for ttl ${ttl} round ${round}`).toBeDefined();
            expect(rep!.type).toBe(ttl < 4 ? 'ttl-expired' : 'reply');
            expect(rep!.addr).toBe(hops[ttl - 1]);
            tool.push(rep!.rttUs! / 1000);
          }
          const onWire = wire.filter((w) => w.answer.src === hops[ttl - 1]).map((w) => w.rttMs);
          expect(onWire).toHaveLength(rounds);
          // The lab: never faster than the configured delays; slower by at most what the forwarders report of
          // their own lateness over this window plus the kernel's time (~1 ms on a quiet host, 3 allowed; the forwarders
          // ran up to 6 ms late on a loaded CI host, and then say so).
          for (const x of onWire) {
            expect(x).toBeGreaterThanOrEqual(exp);
            expect(x, `forwarders late by up to ${late.toFixed(3)} ms`).toBeLessThanOrEqual(exp + 3 + late);
          }
          expect(Math.min(...onWire)).toBeLessThanOrEqual(exp + 2 + late);
          // The reference's own numbers: same lower bound; its timestamps are taken after a wake-up, so on a
          // busy machine they run late. Only bounded loosely.
          expect(Math.min(...tool)).toBeGreaterThanOrEqual(exp);
          // (26 ms late seen in CI under load: a sanity bound, not a measure)
          expect(Math.min(...tool)).toBeLessThanOrEqual(exp + 100);
          summary.push(`hop ${ttl} (${exp} ms): wire ${stats(onWire, exp)}, mtr-packet ${stats(tool, exp)}, forwarders late ≤ ${late.toFixed(3)}`);
        }
        console.log(`[lab] IPv${family} RTT over nominal, ms:\n  ${summary.join('\n  ')}`);
      });
    }

    it('r3 answers no-route for an unroutable address (IPv4 and IPv6), every one of a burst', async () => {
      const l = lab();
      const lines: string[] = [];
      for (let i = 0; i < 20; i++) {
        lines.push(`${i * 2 + 1} send-probe ip-4 ${l.unroutable4} timeout 2`);
        lines.push(`${i * 2 + 2} send-probe ip-6 ${l.unroutable6} timeout 2`);
      }
      const replies = await probe(l, lines);
      for (let i = 0; i < 20; i++) {
        expect(replies.get(i * 2 + 1)).toMatchObject({ type: 'no-route', addr: l.addr4.r3 });
        expect(replies.get(i * 2 + 2)).toMatchObject({ type: 'no-route', addr: l.addr6.r3 });
      }
    });

    it('rejectForward makes a router answer Destination Unreachable; clearRejects undoes it', async () => {
      const l = lab();
      await l.rejectForward('r2', `ip daddr ${l.addr4.dest}`, 'icmp type net-unreachable');
      await l.rejectForward(2, `ip6 daddr ${l.addr6.dest}`, 'icmpv6 type no-route');
      const rejected = await probe(l, [
        `1 send-probe ip-4 ${l.addr4.dest} timeout 2`,
        `2 send-probe ip-6 ${l.addr6.dest} timeout 2`,
      ]);
      expect(rejected.get(1)).toMatchObject({ type: 'no-route', addr: l.addr4.r2 });
      expect(rejected.get(2)).toMatchObject({ type: 'no-route', addr: l.addr6.r2 });
      await l.clearRejects('r2');
      const normal = await probe(l, [
        `1 send-probe ip-4 ${l.addr4.dest} timeout 2`,
        `2 send-probe ip-6 ${l.addr6.dest} timeout 2`,
      ]);
      expect(normal.get(1)).toMatchObject({ type: 'reply', addr: l.addr4.dest });
      expect(normal.get(2)).toMatchObject({ type: 'reply', addr: l.addr6.dest });
    });

    it('setLink changes a delay at run time', async () => {
      const l = lab();
      await l.setLink(1, { delayMs: 4 });
      try {
        expect(l.expectedRttMs()).toEqual([8, 18, 38, 42]);
        await l.pathLatenessMs({ reset: true });
        const { result: replies, packets } = await captureOnClient(l, () =>
          probe(l, [1, 2, 3].map((i) => `${i} send-probe ip-4 ${l.addr4.r1} timeout 2`)),
        );
        const late = await l.pathLatenessMs();
        for (const i of [1, 2, 3]) expect(replies.get(i)).toMatchObject({ type: 'reply', addr: l.addr4.r1 });
        const wire = pairRoundTrips(packets).map((w) => w.rttMs);
        expect(wire).toHaveLength(3);
        for (const x of wire) {
          expect(x).toBeGreaterThanOrEqual(8);
          expect(x, `forwarders late by up to ${late.toFixed(3)} ms`).toBeLessThanOrEqual(8 + 3 + late);
        }
      } finally {
        await l.setLink(1, { delayMs: 1 });
      }
    });

    it('carries 3000 packets/s for a second without loss or reordering', async () => {
      const l = lab();
      const rxScript = [
        'import socket, struct, sys',
        's = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)',
        's.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)',
        "s.bind(('::', 5555)); s.settimeout(1.0)",
        "print('ready', flush=True)",
        'n = 0; last = -1; reordered = 0',
        'try:',
        '    while True:',
        '        q = struct.unpack("!I", s.recv(2048)[:4])[0]; n += 1',
        '        reordered += q < last; last = q',
        'except socket.timeout: pass',
        "print(n, reordered, flush=True)",
      ].join('\n');
      const txScript = [
        'import socket, struct, sys, time',
        'rate, n = 3000, 3000',
        's4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
        's6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)',
        't0 = time.monotonic()',
        'for i in range(n):',
        '    while time.monotonic() < t0 + i / rate: pass',
        `    (s4.sendto(struct.pack("!I", i) + bytes(60), ("${l.addr4.dest}", 5555)) if i % 2 == 0 else`,
        `     s6.sendto(struct.pack("!I", i) + bytes(60), ("${l.addr6.dest}", 5555)))`,
      ].join('\n');
      const rx = l.spawnIn('dest', 'python3', ['-c', rxScript], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const done = new Promise<void>((resolve) => rx.on('close', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('receiver did not start')), 5000);
        rx.stdout!.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.includes('ready')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const before = await Promise.all(([1, 2, 3, 4] as const).map((k) => l.linkStats(k)));
      const tx = await l.exec('client', ['python3', '-c', txScript]);
      expect(tx.code, tx.stderr).toBe(0);
      await done;
      const [received, reordered] = out.trim().split('\n').pop()!.split(' ').map(Number);
      expect(received).toBe(3000);
      expect(reordered).toBe(0);
      const after = await Promise.all(([1, 2, 3, 4] as const).map((k) => l.linkStats(k)));
      for (let k = 0; k < 4; k++) {
        expect(after[k]!.forward.tx - before[k]!.forward.tx).toBeGreaterThanOrEqual(3000);
        expect(after[k]!.forward.dropped).toBe(0);
      }
    });

    it('forwarders dropped nothing by accident and kept their schedule', async () => {
      const l = lab();
      const lines: string[] = [];
      for (const k of [1, 2, 3, 4] as const) {
        const s = await l.linkStats(k);
        for (const [name, d] of [['forward', s.forward], ['back', s.back]] as const) {
          expect(d.dropped, `link ${k} ${name}`).toBe(0);
          expect(d.lost, `link ${k} ${name}`).toBe(0);
          expect(d.tx, `link ${k} ${name}`).toBe(d.rx);
          lines.push(`l${k} ${name}: ${d.tx} frames, late mean ${d.lateMeanUs.toFixed(0)} µs max ${d.lateMaxUs.toFixed(0)} µs, read lag max ${d.rxAgeMaxUs.toFixed(0)} µs`);
        }
      }
      console.log(`[lab] forwarder schedule: ${lines.join('; ')}`);
    });
  });

  describe('silent r2', () => {
    const lab = useLab({ silentRouter: 2 });

    for (const family of [4, 6] as const) {
      it(`IPv${family}: no-reply at hop 2, answers at 1, 3 and 4`, async () => {
        const l = lab();
        const hops = family === 4 ? l.hops4 : l.hops6;
        const replies = await probe(
          l,
          [1, 2, 3, 4].map((ttl) => `${ttl} send-probe ${ipArg(family)} ${hops[3]} ttl ${ttl} timeout 1`),
        );
        expect(replies.get(1)).toMatchObject({ type: 'ttl-expired', addr: hops[0] });
        expect(replies.get(2)?.type).toBe('no-reply');
        expect(replies.get(3)).toMatchObject({ type: 'ttl-expired', addr: hops[2] });
        expect(replies.get(4)).toMatchObject({ type: 'reply', addr: hops[3] });
      });
    }

    it('setSilent(2, false) makes it talk again', async () => {
      const l = lab();
      await l.setSilent(2, false);
      const replies = await probe(l, [
        `1 send-probe ip-4 ${l.addr4.dest} ttl 2 timeout 1`,
        `2 send-probe ip-6 ${l.addr6.dest} ttl 2 timeout 1`,
      ]);
      expect(replies.get(1)).toMatchObject({ type: 'ttl-expired', addr: l.addr4.r2 });
      expect(replies.get(2)).toMatchObject({ type: 'ttl-expired', addr: l.addr6.r2 });
    });
  });

  describe('50% loss on r1–r2 (towards dest)', () => {
    const lab = useLab({ lossPct: [0, 50, 0, 0], seed: 1 });

    it('loses roughly half of 40 probes, and the forwarder counted them', async () => {
      const l = lab();
      const before = await l.linkStats(2);
      const n = 40;
      const replies = await probe(
        l,
        Array.from({ length: n }, (_, i) => `${i + 1} send-probe ip-4 ${l.addr4.dest} timeout 1`),
      );
      const after = await l.linkStats(2);
      let lost = 0;
      for (let i = 1; i <= n; i++) {
        const t = replies.get(i)?.type;
        expect(['reply', 'no-reply']).toContain(t);
        if (t === 'no-reply') lost++;
      }
      console.log(`[lab] 50% loss: ${lost}/${n} probes lost`);
      expect(lost).toBeGreaterThanOrEqual(5);
      expect(lost).toBeLessThanOrEqual(35);
      expect(after.forward.lost - before.forward.lost).toBeGreaterThanOrEqual(lost);
      expect(after.back.lost).toBe(0);
    });
  });

  describe('lifecycle', () => {
    it('teardown removes the namespaces and the forwarders', async () => {
      const lab = await createLab();
      const pids = spawnSync('ip', ['netns', 'pids', lab.names.wire], { encoding: 'utf8' })
        .stdout.split(/\s+/)
        .filter((p) => p !== '')
        .map(Number);
      expect(pids).toHaveLength(4);
      expect(netnsNames().filter((n) => n.startsWith(lab.prefix))).toHaveLength(6);
      await lab.teardown();
      await lab.teardown(); // idempotent
      expect(netnsNames().filter((n) => n.startsWith(lab.prefix))).toEqual([]);
      for (const pid of pids) expect(existsSync(`/proc/${pid}`), `forwarder ${pid} still alive`).toBe(false);
    });

    it('a setup failure half way removes what was created', async () => {
      // Sabotage: PATH without `nft`, so setup fails after namespaces, links and addresses exist.
      const bin = mkdtempSync(join(tmpdir(), 'mtrts-lab-path-'));
      for (const tool of ['ip', 'sysctl', 'cc']) {
        const which = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
        symlinkSync(which, join(bin, tool));
      }
      const before = new Set(listLabNamespaces());
      const savedPath = process.env.PATH;
      process.env.PATH = bin;
      try {
        await expect(createLab({ silentRouter: 1 })).rejects.toThrow(/nft/);
      } finally {
        process.env.PATH = savedPath;
        rmSync(bin, { recursive: true, force: true });
      }
      const leaked = listLabNamespaces().filter((n) => !before.has(n) && n.startsWith(`mtrts-${process.pid}-`));
      expect(leaked).toEqual([]);
    });

    it('sweepStaleLabs deletes namespaces of dead runs and what runs in them, and spares live ones', async () => {
      const deadPid = spawnSync('true').pid!;
      const stale = `mtrts-${deadPid}-dead00-client`;
      const live = `mtrts-${process.pid}-live00-client`;
      expect(spawnSync('ip', ['netns', 'add', stale]).status).toBe(0);
      expect(spawnSync('ip', ['netns', 'add', live]).status).toBe(0);
      try {
        const sleeper = spawnSync('sh', ['-c', `ip netns exec ${stale} sleep 60 >/dev/null 2>&1 & echo $!`], {
          encoding: 'utf8',
        });
        const sleeperPid = Number(sleeper.stdout.trim());
        const swept = sweepStaleLabs();
        expect(swept).toContain(stale);
        expect(swept).not.toContain(live);
        expect(netnsNames()).not.toContain(stale);
        expect(netnsNames()).toContain(live);
        await new Promise((r) => setTimeout(r, 100));
        expect(existsSync(`/proc/${sleeperPid}`) && !/^State:\s+Z/m.test(procStatus(sleeperPid))).toBe(false);
      } finally {
        spawnSync('ip', ['netns', 'del', stale]);
        spawnSync('ip', ['netns', 'del', live]);
      }
    });
  });
});

function procStatus(pid: number): string {
  const r = spawnSync('cat', [`/proc/${pid}/status`], { encoding: 'utf8' });
  return r.stdout ?? '';
}
