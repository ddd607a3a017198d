// The protocol extensions through the real daemon on the netns lab (names.ts EXT_*), against mtr-packet
// 0.95 on the same path: without asking, our replies are 0.95's words; after `check-support feature
// icmp-detail` / `dont-fragment` they carry the ICMP type and code, the MTU and the reply TTL, and DF is
// set. the r2-r3 link has an MTU of 1400 for this suite; 10.0.200.1 is a net unreachable at r3.

import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { EXT_FEATURE, EXT_REPLY_ARG, parseReply } from '@mtr-ts/protocol';
import { describeLab, useLab } from './lab/use-lab.js';
import { LineReader } from './support/lines.js';
import { ourPacket, referenceMtr, referenceNeed, referencePacket, requirements } from './support/env.js';

const skip = requirements('extensions against mtr-packet 0.95', [
  referenceNeed,
  [referenceMtr !== undefined, "needs mtr 0.95 (Debian's mtr-tiny)"],
]);

/** The reply lines by token, round-trip times replaced by N. */
function byToken(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n').filter(Boolean)) {
    const token = line.split(' ')[0]!;
    out[token] = line.replace(/round-trip-time \d+/, 'round-trip-time N');
  }
  return out;
}

describeLab('protocol extensions in the netns lab', () => {
  const lab = useLab({});
  if (skip) return;

  beforeAll(async () => {
    // both ends of the link: the answers that come back over it are fragmented at r3 too
    for (const ns of ['r2', 'r3'] as const) {
      const r = await lab().exec(ns, ['ip', 'link', 'set', 'dev', 'l3', 'mtu', '1400']);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  /** ttl 1 (hop 1), a net unreachable (r3), 1500 bytes (DF only when asked for and on) */
  const probes = (l: ReturnType<typeof lab>): string =>
    `11 send-probe ip-4 ${l.hops4[3]} ttl 1 timeout 2\n` +
    `12 send-probe ip-4 ${l.unroutable4} timeout 2\n` +
    `13 send-probe ip-4 ${l.hops4[3]} size 1500 dont-fragment 1 timeout 2\n`;

  it('without asking: the same replies as mtr-packet 0.95 (DF ignored: the 1500-byte probe is fragmented and arrives)', async () => {
    const l = lab();
    const input = probes(l);
    const [ours, theirs] = await Promise.all([
      l.exec('client', [ourPacket], { input, timeoutMs: 20_000 }),
      l.exec('client', [referencePacket!], { input, timeoutMs: 20_000 }),
    ]);
    expect(ours.code, ours.stderr).toBe(0);
    expect(byToken(ours.stdout)).toEqual(byToken(theirs.stdout));
    expect(byToken(ours.stdout)).toEqual({
      '11': `11 ttl-expired ip-4 ${l.hops4[0]} round-trip-time N`,
      '12': `12 no-route ip-4 ${l.hops4[2]} round-trip-time N`,
      '13': `13 reply ip-4 ${l.hops4[3]} round-trip-time N`,
    });
  });

  it('after asking: ICMP type and code, the MTU of Fragmentation Needed, the reply TTL; DF set', async () => {
    const l = lab();
    const input =
      '1 check-support feature icmp-detail\n2 check-support feature dont-fragment\n' +
      probes(l) +
      // without dont-fragment the large probe still passes (fragmented at r2)
      `14 send-probe ip-4 ${l.hops4[3]} size 1500 timeout 2\n`;
    const r = await l.exec('client', [ourPacket], { input, timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(byToken(r.stdout)).toEqual({
      '1': '1 feature-support support ok',
      '2': '2 feature-support support ok',
      '11': `11 ttl-expired ip-4 ${l.hops4[0]} round-trip-time N icmp-type 11 icmp-code 0 reply-ttl 64`,
      // r3 (hop 3) answers net unreachable (code 0); its answer crossed two routers
      '12': `12 no-route ip-4 ${l.hops4[2]} round-trip-time N icmp-type 3 icmp-code 0 reply-ttl 62`,
      // r2 (hop 2) cannot forward 1500 bytes with DF over its 1400-byte link
      '13': `13 no-route ip-4 ${l.hops4[1]} round-trip-time N icmp-type 3 icmp-code 4 mtu 1400 reply-ttl 63`,
      '14': `14 reply ip-4 ${l.hops4[3]} round-trip-time N reply-ttl 61`,
    });
  });

  it('IPv6 after asking: the router\'s Packet Too Big, then packet-too-big from this host; without DF the host fragments', async () => {
    const l = lab();
    const dst = l.hops6[3];
    const child = l.spawnIn('client', ourPacket, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = new LineReader(child.stdout!);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      child.stdin!.write('1 check-support feature icmp-detail\n2 check-support feature dont-fragment\n');
      // 1500 bytes leave the client (its link's MTU); r2 cannot forward them over its 1400-byte link
      child.stdin!.write(`21 send-probe ip-6 ${dst} size 1500 dont-fragment 1 timeout 2\n`);
      const first = await lines.next((x) => x.startsWith('21 '), 10_000, 'the answer to 21');
      expect(first.replace(/round-trip-time \d+/, 'round-trip-time N')).toBe(
        `21 no-route ip-6 ${l.hops6[1]} round-trip-time N icmp-type 2 icmp-code 0 mtu 1400 reply-ttl 63`,
      );
      // the kernel learnt the path MTU from that Packet Too Big: with IPV6_DONTFRAG the probe is refused
      // here; without it the kernel fragments it and it arrives
      child.stdin!.write(`22 send-probe ip-6 ${dst} size 1500 dont-fragment 1 timeout 2\n`);
      expect(await lines.next((x) => x.startsWith('22 '), 10_000, 'the answer to 22')).toBe('22 packet-too-big mtu 1400');
      // (the first one's 1500-byte echo reply may be lost on the way back: IPv6 routers do not
      // fragment, and dest learns the MTU towards us only from r3's Packet Too Big for it)
      child.stdin!.write(`23 send-probe ip-6 ${dst} size 1500 timeout 1\n`);
      await lines.next((x) => x.startsWith('23 '), 10_000, 'the answer to 23');
      child.stdin!.write(`24 send-probe ip-6 ${dst} size 1500 timeout 2\n`);
      const fourth = await lines.next((x) => x.startsWith('24 '), 10_000, 'the answer to 24');
      // reply-ttl on IPv6 too: the hop limit the answer arrived with, 64 less the three routers
      expect(fourth).toMatch(new RegExp(`^24 reply ip-6 ${dst} round-trip-time \\d+ reply-ttl 61$`));
      child.stdin!.end();
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('mtr 0.95 driving mtr-packet-ts never asks for an extension and gets only 0.95 replies', async () => {
    const l = lab();
    const dir = mkdtempSync(join(tmpdir(), 'mtrts-ext-'));
    try {
      // MTR_PACKET is a wrapper that records both directions of the pipe
      const wrapper = join(dir, 'packet');
      writeFileSync(
        wrapper,
        `#!/bin/sh\ntee -a '${dir}/in' | '${ourPacket}' | tee -a '${dir}/out'\n`,
      );
      chmodSync(wrapper, 0o755);
      for (const args of [
        ['-4', '-n', '-r', '-c', '3', '-i', '0.2', l.unroutable4],
        ['-4', '-n', '-r', '-c', '3', '-i', '0.2', '-s', '1500', l.hops4[3]],
        ['-4', '-u', '-n', '-r', '-c', '3', '-i', '0.2', l.hops4[3]],
      ]) {
        const r = await l.exec('client', ['env', `MTR_PACKET=${wrapper}`, 'mtr', ...args], { timeoutMs: 60_000 });
        expect(r.code, r.stderr).toBe(0);
      }
      const sent = readFileSync(join(dir, 'in'), 'latin1');
      const got = readFileSync(join(dir, 'out'), 'latin1').split('\n').filter(Boolean);
      for (const f of Object.values(EXT_FEATURE)) expect(sent).not.toContain(f);
      expect(got.length).toBeGreaterThan(10);
      for (const line of got) {
        const r = parseReply(line);
        expect(r?.type, line).not.toBe('unknown');
        for (const w of Object.values(EXT_REPLY_ARG)) expect(line.split(' '), line).not.toContain(w);
      }
      // the unreachable route was answered, as 0.95 words it
      expect(got.some((x) => / no-route ip-4 10\.0\.3\.2 round-trip-time \d+$/.test(x))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
