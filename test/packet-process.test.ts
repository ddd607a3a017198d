// mtr-packet-ts as a process: end of input, privileges, bad input, limits, its own routing table.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ourPacket, requirements, rootNeed } from './support/env.js';
import { withScratchNetns } from './support/netns.js';
import { runProcess } from './support/run.js';

const skip = requirements('mtr-packet-ts process tests', [rootNeed]);

/** A namespace whose 10.77.0.0/16 leads nowhere: probes there are never answered. */
const blackHole = [['ip', 'route', 'add', '10.77.0.0/16', 'dev', 'lo']];

function statusField(pid: number, field: string): string {
  const m = new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? m[1]!.trim() : '';
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

describe.skipIf(skip)('mtr-packet-ts process', () => {
  it('answers both tokens of the README example and exits 0 once they are answered', async () => {
    const r = await runProcess([ourPacket], '1 send-probe ip-4 127.0.0.1\n2 check-support feature send-probe\n');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').sort();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^1 reply ip-4 127\.0\.0\.1 round-trip-time \d+$/);
    expect(lines[1]).toBe('2 feature-support support ok');
    expect(r.ms).toBeLessThan(5000);
  });

  it('after EOF answers every probe in flight, then exits 0, without spinning while it waits', async () => {
    await withScratchNetns(blackHole, async (ns) => {
      const child = spawn('ip', ['netns', 'exec', ns, ourPacket], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stdin.end('1 send-probe ip-4 10.77.0.1 timeout 2\n2 send-probe ip-4 10.77.0.2 timeout 1\n3 send-probe ip-4 127.0.0.1\n');
      // the daemon is exec'd by ip netns exec: same pid. The window starts once it has answered
      // token 3 (its start-up, slow on a loaded machine, is not waiting) and ends before token 2's timeout.
      for (let i = 0; i < 100 && !out.includes('3 reply'); i++) await new Promise((r) => setTimeout(r, 20));
      const before = cpuTicks(child.pid!);
      await new Promise((r) => setTimeout(r, 700));
      const during = cpuTicks(child.pid!) - before;
      const code = await new Promise<number | null>((r) => child.on('close', r));
      expect(code).toBe(0);
      expect(out.split('\n').filter(Boolean).sort()).toEqual(['1 no-reply', '2 no-reply', expect.stringMatching(/^3 reply ip-4 127\.0\.0\.1 /)]);
      expect(during).toBeLessThanOrEqual(5); // ticks of 10 ms: idle, not spinning
    });
  });

  it('answers no-route when its own routing table cannot reach the target (the reference crashes)', async () => {
    await withScratchNetns([], async (ns) => {
      const r = await runProcess([ourPacket], '1 send-probe ip-4 10.9.9.9\n2 send-probe ip-6 fd00:99::1\n3 check-support feature icmp\n', { netns: ns });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['1 no-route', '2 no-route', '3 feature-support support ok']);
    });
  });

  it('answers probes-exhausted beyond its in-flight limit and keeps every other token', async () => {
    await withScratchNetns(blackHole, async (ns) => {
      const lines = Array.from({ length: 10 }, (_, i) => `${i + 1} send-probe ip-4 10.77.0.${i + 1} timeout 1`);
      const r = await runProcess([ourPacket, '--max-in-flight', '4'], lines.join('\n') + '\n', { netns: ns });
      expect(r.code).toBe(0);
      const got = r.stdout.split('\n').filter(Boolean);
      expect(got.filter((l) => l.endsWith(' no-reply')).map((l) => l.split(' ')[0])).toEqual(['1', '2', '3', '4']);
      expect(got.filter((l) => l.endsWith(' probes-exhausted'))).toHaveLength(6);
    });
  });

  it('answers check-support sctp by what the kernel can do, and where it can, traces with SCTP', async () => {
    const kernelHasSctp =
      spawnSync('python3', ['-c', 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)']).status === 0;
    if (!kernelHasSctp) {
      const r = await runProcess([ourPacket], '1 check-support feature sctp\n2 send-probe ip-4 127.0.0.1 protocol sctp\n');
      expect(r.stdout).toBe('1 feature-support support no\n2 invalid-argument reason protocol-not-supported\n');
      return;
    }
    // an SCTP listener on loopback: an association attempt to it, and one to a closed port, are replies
    const listener = spawn('python3', ['-c', SCTP_LISTENER], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((r) => listener.stdout.once('data', r));
      const r = await runProcess(
        [ourPacket],
        '1 check-support feature sctp\n2 send-probe ip-4 127.0.0.1 protocol sctp port 36412\n3 send-probe ip-4 127.0.0.1 protocol sctp port 9\n',
      );
      expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual([
        '1 feature-support support ok',
        expect.stringMatching(/^2 reply ip-4 127\.0\.0\.1 round-trip-time \d+$/),
        expect.stringMatching(/^3 reply ip-4 127\.0\.0\.1 round-trip-time \d+$/),
      ]);
    } finally {
      listener.kill();
    }
  });

  it('survives any bytes on stdin and still answers the command after them', async () => {
    for (let round = 0; round < 5; round++) {
      const noise = randomBytes(50_000 + round * 10_000);
      const tail = Buffer.from('\n4242 check-support feature icmp\n');
      const r = await runProcess([ourPacket], Buffer.concat([noise, tail]));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout.endsWith('4242 feature-support support ok\n')).toBe(true);
    }
  });

  it('answers a burst of thousands of commands sent in one write', async () => {
    const lines: string[] = [];
    for (let i = 1; i <= 5000; i++) lines.push(`${i} send-probe ip-4 127.0.0.1 timeout 5`);
    const r = await runProcess([ourPacket], lines.join('\n') + '\n', { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    const tokens = r.stdout.split('\n').filter(Boolean).map((l) => {
      expect(l).toMatch(/^\d+ reply ip-4 127\.0\.0\.1 round-trip-time \d+$/);
      return Number(l.split(' ')[0]);
    });
    expect(tokens.sort((a, b) => a - b)).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
  });

  it('started through sudo, it switches to the invoking user and clears its capabilities before reading', async () => {
    const child = spawn(ourPacket, [], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, SUDO_UID: '65534', SUDO_GID: '65534' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.write('1 check-support feature send-probe\n');
    for (let i = 0; i < 100 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(out).toBe('1 feature-support support ok\n');
    expect(statusField(child.pid!, 'Uid').split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
    // real gid the user's; effective/saved/fs gid detached from it (the launcher), so the user cannot ptrace it
    expect(statusField(child.pid!, 'Gid').split(/\s+/)).toEqual(['65534', '65533', '65533', '65533']);
    expect(statusField(child.pid!, 'CapEff')).toBe('0000000000000000');
    expect(statusField(child.pid!, 'CapPrm')).toBe('0000000000000000');
    child.stdin.end('2 send-probe ip-4 127.0.0.1\n');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(0);
    expect(out).toMatch(/\n2 reply ip-4 127\.0\.0\.1 round-trip-time \d+\n$/);
  });

  it('without the right to open its sockets it says what to do in one line and exits non-zero', async () => {
    // nobody, no capabilities, and ping sockets closed in this namespace: nothing can be opened
    await withScratchNetns([['sysctl', '-q', '-w', 'net.ipv4.ping_group_range=1 0']], async (ns) => {
      const r = await runProcess(
        ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', ourPacket],
        '1 check-support feature send-probe\n',
        { netns: ns },
      );
      expect(r.code).not.toBe(0);
      expect(r.code).not.toBeNull();
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^mtr-packet-ts: .*(root|CAP_NET_RAW)/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  });
});

const SCTP_LISTENER = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)
s.bind(('127.0.0.1', 36412)); s.listen(16)
print('listening', flush=True)
while True:
    c, _ = s.accept(); c.close()
`;
