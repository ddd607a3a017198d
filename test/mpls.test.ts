// MPLS in the lab: a responder in `dest` (test/support/responder.py; the kernel's own echo answers switched off
// there) answers each probe with an ICMP / ICMPv6 error crafted here, quoting the probe as received and
// carrying an RFC 4884 extension with an RFC 4950 label stack of two entries. mtr-packet-ts must report the
// labels exactly as the reference mtr-packet 0.95 does, survive malformed extensions, and report a crafted
// Destination Unreachable as no-route.

import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildIPv6Packet,
  buildIcmpDestUnreachable,
  buildIcmpTimeExceeded,
  internetChecksum,
  IPPROTO_ICMPV6,
  parseIPv4,
  parseIPv6,
  wrapIPv4,
  type ExtensionLayout,
} from '@mtr-ts/native/wire';
import type { MplsLabel } from '@mtr-ts/protocol';
import { canRunLab, type Lab } from './lab/lab.js';
import { describeLab, useLab } from './lab/use-lab.js';
import { ourPacket, referenceMtr, referenceNeed, referencePacket, requirements } from './support/env.js';
import { LineReader } from './support/lines.js';

const RESPONDER = fileURLToPath(new URL('./support/responder.py', import.meta.url));
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const skip = canRunLab().ok ? requirements('MPLS responder in the lab', [referenceNeed]) : undefined;

const LABELS: MplsLabel[] = [
  { label: 16004, tc: 0, bottomOfStack: 0, ttl: 1 },
  { label: 24005, tc: 5, bottomOfStack: 1, ttl: 255 },
];
const MPLS_ARG = 'mpls 16004,0,0,1,24005,5,1,255';

/**
 * A stack no router sends: 300 entries (one Time Exceeded of ~1.4 KB), wide values: all of them
 * would make a reply line of ~4.9 KB, past mtr's 4 KB reply buffer. mtr-packet keeps the first 8.
 */
const MANY_LABELS: MplsLabel[] = Array.from({ length: 300 }, (_, i) => ({
  label: 1048575 - i,
  tc: 7 - (i % 8),
  bottomOfStack: i === 299 ? 1 : 0,
  ttl: 255 - (i % 100),
}));
const MANY_ARG = `mpls ${MANY_LABELS.slice(0, 8)
  .map((l) => `${l.label},${l.tc},${l.bottomOfStack},${l.ttl}`)
  .join(',')}`;

type Answer =
  | { kind: 'time-exceeded'; layout?: ExtensionLayout; labels?: MplsLabel[]; malformed?: 'checksum' | 'truncated' }
  | { kind: 'unreachable'; code: number; labels?: MplsLabel[] };

interface Scenario {
  name: string;
  family: 4 | 6;
  /** extra send-probe arguments */
  args?: string;
  answer: Answer;
  /** the expected reply after the token, round-trip time as N; `DEST` stands for dest's address */
  expect: string;
  /** the reference is known to say something else here (its fault); ours must still say `expect` */
  referenceDiffers?: boolean;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

/**
 * Cut the last 2 bytes of the message (the second label entry loses its TC/S/TTL half: the object says 12 bytes,
 * 10 are there), then make every checksum right again, so only the truncation is wrong.
 */
function truncateObject(msg: Uint8Array, v6: boolean, extStart: number): Uint8Array {
  const m = msg.slice(0, msg.length - 2);
  m[extStart + 2] = 0;
  m[extStart + 3] = 0;
  put16(m, extStart + 2, internetChecksum(m, extStart, m.length));
  m[2] = 0;
  m[3] = 0;
  if (!v6) put16(m, 2, internetChecksum(m)); // ICMPv6: the kernel's raw socket sets the checksum
  return m;
}

function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  for (const family of [4, 6] as const) {
    out.push(
      {
        name: 'Time Exceeded, RFC 4884 layout, two labels',
        family,
        answer: { kind: 'time-exceeded', layout: 'rfc4884', labels: LABELS },
        expect: `ttl-expired ip-${family} DEST round-trip-time N ${MPLS_ARG}`,
      },
      {
        name: 'Time Exceeded, legacy 128-byte layout, two labels',
        family,
        answer: { kind: 'time-exceeded', layout: 'legacy', labels: LABELS },
        expect: `ttl-expired ip-${family} DEST round-trip-time N ${MPLS_ARG}`,
      },
      {
        name: 'Time Exceeded, legacy layout, a probe larger than 128 bytes (quote cut at 128)',
        family,
        args: 'size 300 bit-pattern 90',
        answer: { kind: 'time-exceeded', layout: 'legacy', labels: LABELS },
        expect: `ttl-expired ip-${family} DEST round-trip-time N ${MPLS_ARG}`,
      },
      {
        name: 'Time Exceeded, RFC 4884 layout, a probe larger than 128 bytes (whole quote, length attribute set)',
        family,
        args: 'size 300 bit-pattern 90',
        answer: { kind: 'time-exceeded', layout: 'rfc4884', labels: LABELS },
        expect: `ttl-expired ip-${family} DEST round-trip-time N ${MPLS_ARG}`,
        referenceDiffers: true, // mtr-packet 0.95 looks for the extension at byte 128 only
      },
      {
        name: 'Time Exceeded, RFC 4884 layout, 300 labels (the first 8 kept)',
        family,
        answer: { kind: 'time-exceeded', layout: 'rfc4884', labels: MANY_LABELS },
        expect: `ttl-expired ip-${family} DEST round-trip-time N ${MANY_ARG}`,
      },
      {
        name: 'Time Exceeded, extension with a wrong checksum',
        family,
        answer: { kind: 'time-exceeded', labels: LABELS, malformed: 'checksum' },
        expect: `ttl-expired ip-${family} DEST round-trip-time N`,
        referenceDiffers: true, // mtr-packet 0.95 does not verify the extension checksum
      },
      {
        name: 'Time Exceeded, truncated MPLS object',
        family,
        answer: { kind: 'time-exceeded', labels: LABELS, malformed: 'truncated' },
        expect: `ttl-expired ip-${family} DEST round-trip-time N`,
      },
      {
        name: 'Time Exceeded without extension, after the malformed ones',
        family,
        answer: { kind: 'time-exceeded' },
        expect: `ttl-expired ip-${family} DEST round-trip-time N`,
      },
      {
        name: 'Destination Unreachable code 0',
        family,
        answer: { kind: 'unreachable', code: 0 },
        expect: `no-route ip-${family} DEST round-trip-time N`,
      },
      {
        name: 'Destination Unreachable code 0 with two labels',
        family,
        answer: { kind: 'unreachable', code: 0, labels: LABELS },
        expect: `no-route ip-${family} DEST round-trip-time N ${MPLS_ARG}`,
      },
    );
  }
  return out;
}

interface Echo {
  family: 4 | 6;
  /** the probe as dest received it: the whole IPv4 packet, or a reconstructed IPv6 header + the ICMPv6 message */
  packet: Uint8Array;
  src: string;
}

function parseEcho(line: string): Echo {
  const w = line.split(' ');
  if (w[0] === '4') {
    const packet = unhex(w[1]!);
    const src = `${packet[12]}.${packet[13]}.${packet[14]}.${packet[15]}`;
    return { family: 4, packet, src };
  }
  const [, src, dst, hop, tclass, msg] = w as [string, string, string, string, string, string];
  const packet = buildIPv6Packet({
    src: parseIPv6(src)!,
    dst: parseIPv6(dst)!,
    hopLimit: Number(hop),
    trafficClass: Number(tclass),
    nextHeader: IPPROTO_ICMPV6,
    payload: unhex(msg),
  });
  return { family: 6, packet, src };
}

/** The responder's line (`4 <hex>` / `6 <client> <hex>`) answering `echo` as `answer`. */
function craft(echo: Echo, answer: Answer, lab: Lab): string {
  const v6 = echo.family === 6;
  const router = v6 ? parseIPv6(lab.addr6.dest)! : parseIPv4(lab.addr4.dest)!;
  const client = v6 ? parseIPv6(echo.src)! : parseIPv4(echo.src)!;
  const base = { v6, routerSrc: router, dst: client, quoted: echo.packet };
  let msg: Uint8Array;
  if (answer.kind === 'unreachable') {
    msg = buildIcmpDestUnreachable({ ...base, code: answer.code, ...(answer.labels ? { mplsLabels: answer.labels } : {}) });
  } else {
    msg = buildIcmpTimeExceeded({
      ...base,
      ...(answer.labels ? { mplsLabels: answer.labels } : {}),
      ...(answer.layout ? { layout: answer.layout } : {}),
      ...(answer.malformed === 'checksum' ? { extensionChecksum: 'wrong' as const } : {}),
    });
    if (answer.malformed === 'truncated') msg = truncateObject(msg, v6, msg.length - (8 + 4 * answer.labels!.length));
  }
  if (v6) return `6 ${echo.src} ${hex(msg)}`;
  return `4 ${hex(wrapIPv4(msg, { src: router, dst: client }))}`;
}

(skip ? describe.skip : describeLab)('MPLS label stacks from a crafted responder in the lab', () => {
  const lab = useLab();
  let responder: ChildProcess | undefined;
  let resp: LineReader;
  const sysctls = ['net.ipv4.icmp_echo_ignore_all', 'net.ipv6.icmp.echo_ignore_all'];
  const saved = new Map<string, string>();

  async function sysctl(l: Lab, args: string[]): Promise<string> {
    const r = await l.exec('dest', ['sysctl', ...args]);
    if (r.code !== 0) throw new Error(`sysctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  }

  beforeAll(async () => {
    const l = lab();
    for (const k of sysctls) saved.set(k, await sysctl(l, ['-n', k]));
    for (const k of sysctls) await sysctl(l, ['-w', `${k}=1`]);
    responder = l.spawnIn('dest', PYTHON, ['-u', RESPONDER], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    responder.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    resp = new LineReader(responder.stdout!);
    await resp.next((x) => x === 'ready', 10_000, `the responder's "ready" (stderr: ${err})`).catch((e: Error) => {
      throw new Error(`${e.message}; responder stderr: ${err}`);
    });
  });

  afterAll(async () => {
    if (responder && responder.exitCode === null && responder.signalCode === null) {
      const gone = new Promise((r) => responder!.once('close', r));
      responder.kill('SIGKILL');
      await gone;
    }
    if (saved.size === 0) return; // beforeAll failed before touching anything
    const l = lab();
    for (const [k, v] of saved) await sysctl(l, ['-w', `${k}=${v}`]);
    for (const [k, v] of saved) expect(await sysctl(l, ['-n', k]), `${k} restored`).toBe(v);
  });

  /** Drive one daemon through the scenarios, one probe at a time; returns each reply (RTT as N) and its exit. */
  async function drive(bin: string, list: Scenario[]): Promise<{ replies: string[]; code: number | null; stderr: string }> {
    const l = lab();
    const d = l.spawnIn('client', bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    d.stderr!.setEncoding('utf8').on('data', (x: string) => (stderr += x));
    const closed = new Promise<number | null>((r) => d.once('close', (code) => r(code)));
    const out = new LineReader(d.stdout!);
    const replies: string[] = [];
    try {
      for (const [i, s] of list.entries()) {
        const token = i + 1;
        const dest = s.family === 4 ? l.hops4[3] : l.hops6[3];
        resp.drain();
        d.stdin!.write(`${token} send-probe ip-${s.family} ${dest} ${s.args ?? ''} timeout 2\n`.replace('  ', ' '));
        const echo = parseEcho(await resp.next((x) => x.startsWith(`${s.family} `), 3000, `the echo request of "${s.name}"`));
        responder!.stdin!.write(`${craft(echo, s.answer, l)}\n`);
        const sent = await resp.next((x) => x === 'sent' || x.startsWith('error'), 3000, 'the responder sending');
        expect(sent, s.name).toBe('sent');
        const line = await out.next((x) => x.startsWith(`${token} `), 4000, `the reply to "${s.name}" (stderr: ${stderr})`);
        replies.push(line.replace(/^\d+ /, '').replace(/round-trip-time \d+/, 'round-trip-time N'));
      }
    } finally {
      d.stdin!.end();
      const killer = setTimeout(() => d.kill('SIGKILL'), 5000);
      await closed;
      clearTimeout(killer);
    }
    return { replies, code: await closed, stderr };
  }

  it('mtr 0.95 driving ours completes when the destination answers with 300 labels (8 reach it)', async () => {
    if (referenceMtr === undefined) return expect.fail("needs mtr 0.95 (Debian's mtr-tiny)");
    const l = lab();
    const dest = l.hops4[3];
    resp.drain();
    let answering = true;
    let answered = 0;
    const answerer = (async () => {
      while (answering) {
        const line = await resp.next((x) => x.startsWith('4 '), 500).catch(() => undefined);
        if (line === undefined) continue;
        responder!.stdin!.write(`${craft(parseEcho(line), { kind: 'time-exceeded', layout: 'rfc4884', labels: MANY_LABELS }, l)}\n`);
        answered++;
      }
    })();
    try {
      const r = await l.exec('client', ['env', `MTR_PACKET=${ourPacket}`, 'mtr', '-4', '-n', '-e', '-r', '-c', '2', '-i', '0.2', '-m', '5', dest], {
        timeoutMs: 60_000,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/parse failure/);
      expect(answered).toBeGreaterThan(0);
      expect(r.stdout).toContain(dest);
      // (mtr's report does not print labels; the replies themselves are checked beside the reference below)
      expect(r.stdout).toMatch(new RegExp(`^\\s*4\\.\\|-- ${dest.replace(/\./g, '\\.')} `, 'm'));
    } finally {
      answering = false;
      await answerer;
    }
  });

  for (const family of [4, 6] as const) {
    it(`IPv${family}: answers every crafted error as the reference does: labels, layouts, malformed extensions, no-route`, async () => {
      const l = lab();
      const list = scenarios().filter((s) => s.family === family);
      const ours = await drive(ourPacket, list);
      const ref = await drive(referencePacket!, list);
      expect(ours.code, `mtr-packet-ts exit (stderr: ${ours.stderr})`).toBe(0);
      expect(ref.code).toBe(0);
      const report: string[] = [];
      list.forEach((s, i) => {
        const dest = s.family === 4 ? l.hops4[3] : l.hops6[3];
        const want = s.expect.replace('DEST', dest);
        report.push(`IPv${s.family} ${s.name}:\n  ours      ${ours.replies[i]}\n  reference ${ref.replies[i]}`);
        expect.soft(ours.replies[i], `mtr-packet-ts, IPv${s.family} ${s.name}`).toBe(want);
        if (s.referenceDiffers) {
          expect.soft(ref.replies[i], `reference fault still there? IPv${s.family} ${s.name}`).not.toBe(want);
        } else {
          expect.soft(ref.replies[i], `reference, IPv${s.family} ${s.name}`).toBe(want);
          expect.soft(ours.replies[i], `ours vs reference, IPv${s.family} ${s.name}`).toBe(ref.replies[i]);
        }
      });
      console.log(report.join('\n'));
    });
  }
});
