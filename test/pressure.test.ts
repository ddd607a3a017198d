// mtr-packet-ts under pressure: a client that writes far more than it reads, slowly or not at
// all, and signals arriving while the replies wait unread. The daemon must stay small, answer
// every token once, and end at once when told.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ourPacket, requirements, rootNeed } from './support/env.js';
import { withScratchNetns } from './support/netns.js';

const skip = requirements('mtr-packet-ts under pressure', [rootNeed]);

const LINES = 2_000_000;

function rssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function checkSupportLines(n: number): Buffer {
  const parts: string[] = [];
  for (let i = 1; i <= n; i++) parts.push(`${i} check-support feature version\n`);
  return Buffer.from(parts.join(''));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Watched {
  child: ChildProcessWithoutNullStreams;
  maxRssKb: () => number;
  stop: () => void;
}

function watch(child: ChildProcessWithoutNullStreams): Watched {
  let max = 0;
  const timer = setInterval(() => (max = Math.max(max, rssKb(child.pid!))), 100);
  return { child, maxRssKb: () => max, stop: () => clearInterval(timer) };
}

/** Every token 1..n answered exactly once, with the version, and nothing else. */
function expectEveryTokenOnce(out: string, n: number): void {
  const lines = out.split('\n');
  expect(lines.pop()).toBe(''); // ends with a newline: no line cut short
  expect(lines).toHaveLength(n);
  const seen = new Uint8Array(n + 1);
  let bad = 0;
  for (const l of lines) {
    const sp = l.indexOf(' ');
    const t = Number(l.slice(0, sp));
    if (l.slice(sp) !== ' feature-support support 0.95' || !(t >= 1 && t <= n) || seen[t]) bad++;
    else seen[t] = 1;
  }
  expect(bad).toBe(0);
}

function collect(child: ChildProcessWithoutNullStreams): { text: () => string } {
  const chunks: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  return { text: () => Buffer.concat(chunks).toString('latin1') };
}

function exited(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((r) => child.on('close', (code, signal) => r({ code, signal })));
}

describe.skipIf(skip)('mtr-packet-ts under pressure', () => {
  it(`answers ${LINES} lines once each, in bounded memory, from a client that does not read for 10 s`, async () => {
    const child = spawn(ourPacket, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const w = watch(child);
    child.stdout.pause(); // no reading: the pipe fills, then our stream's buffer
    child.stdin.on('error', () => {});
    child.stdin.end(checkSupportLines(LINES));
    const done = exited(child);
    await sleep(10_000);
    expect(child.exitCode).toBe(null); // still there, waiting for its reader
    const out = collect(child);
    child.stdout.resume();
    const { code } = await done;
    w.stop();
    expect(code).toBe(0);
    expectEveryTokenOnce(out.text(), LINES);
    expect(w.maxRssKb()).toBeGreaterThan(0);
    expect(w.maxRssKb()).toBeLessThanOrEqual(100 * 1024);
  }, 120_000);

  it(`answers ${LINES} lines once each to a slow reader (160 KB/s for 8 s, then at full speed)`, async () => {
    const child = spawn(ourPacket, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const w = watch(child);
    child.stdin.on('error', () => {});
    child.stdin.end(checkSupportLines(LINES));
    const done = exited(child);
    const chunks: Buffer[] = [];
    child.stdout.pause();
    const slowUntil = Date.now() + 8_000;
    while (Date.now() < slowUntil) {
      await sleep(100);
      for (let got = 0; got < 16 * 1024; ) {
        const b = child.stdout.read(Math.min(4096, 16 * 1024 - got)) as Buffer | null;
        if (b === null) break;
        chunks.push(b);
        got += b.length;
      }
    }
    expect(child.exitCode).toBe(null);
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stdout.resume();
    const { code } = await done;
    w.stop();
    expect(code).toBe(0);
    expectEveryTokenOnce(Buffer.concat(chunks).toString('latin1'), LINES);
    expect(w.maxRssKb()).toBeLessThanOrEqual(100 * 1024);
  }, 120_000);

  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`ends within 1 s of ${sig} while its output is unread, and says it was the signal`, async () => {
      const child = spawn(ourPacket, [], { stdio: ['pipe', 'pipe', 'pipe'] });
      child.stdout.pause();
      child.stdin.on('error', () => {});
      child.stdin.write(checkSupportLines(200_000));
      const done = exited(child);
      await sleep(1500);
      expect(child.exitCode).toBe(null);
      const t0 = Date.now();
      child.kill(sig);
      const r = await done;
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(r.signal).toBe(sig);
    });
  }

  it('ends by the signal, not with status 0, when probes are in flight', async () => {
    await withScratchNetns([['ip', 'route', 'add', '10.77.0.0/16', 'dev', 'lo']], async (ns) => {
      const child = spawn('ip', ['netns', 'exec', ns, ourPacket], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stdin.write('1 send-probe ip-4 10.77.0.1 timeout 30\n2 check-support feature version\n');
      const done = exited(child);
      for (let i = 0; i < 50 && !out.includes('2 feature-support'); i++) await sleep(100);
      expect(out).toContain('2 feature-support support 0.95');
      const t0 = Date.now();
      child.kill('SIGTERM');
      const r = await done;
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(r.signal).toBe('SIGTERM');
      expect(out).not.toContain('1 ');
    });
  });

  it('ends within a second of its parent dying, though its stdin stays open and a probe waits 30 s', async () => {
    await withScratchNetns([['ip', 'route', 'add', '10.77.0.0/16', 'dev', 'lo']], async (ns) => {
      // The parent: a shell that starts the daemon on the shell's own stdin (held open by us), then waits.
      const parent = spawn('sh', ['-c', `exec 3<&0; ip netns exec ${ns} ${ourPacket} <&3 & echo $!; wait`], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let said = '';
      parent.stdout.on('data', (d: Buffer) => (said += d.toString()));
      parent.stdin.write('1 send-probe ip-4 10.77.0.1 timeout 30\n2 check-support feature version\n');
      for (let i = 0; i < 50 && !said.includes('2 feature-support'); i++) await sleep(100);
      expect(said).toContain('2 feature-support support 0.95');
      const pid = Number(said.split('\n')[0]);
      expect(existsSync(`/proc/${pid}`)).toBe(true);
      parent.kill('SIGKILL');
      let gone = false;
      for (let i = 0; i < 20 && !gone; i++) {
        await sleep(100);
        gone = !existsSync(`/proc/${pid}`) || /^State:\s*Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
      }
      parent.stdin.end();
      expect(gone).toBe(true);
    });
  });
});
