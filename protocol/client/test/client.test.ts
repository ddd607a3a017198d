// The client against a misbehaving fake packet program (test/fixtures/fake-packet.mjs): every
// unhappy path the issue names, without root or network.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidArgument,
  LineTooLong,
  MtrPacket,
  NameResolutionFailed,
  outcomeOfLine,
  PacketProcessError,
  probeFields,
  PacketProcessExited,
  ProbeRefused,
  StartupTimeout,
  defaultPacketCommand,
  type OpenOptions,
} from '../src/index.js';

const FAKE = new URL('./fixtures/fake-packet.mjs', import.meta.url).pathname;
const opened: MtrPacket[] = [];
async function fake(mode = '', more: Partial<OpenOptions> = {}, env: Record<string, string> = {}): Promise<MtrPacket> {
  const m = await MtrPacket.open({ command: FAKE, env: { ...process.env, FAKE_MODE: mode, ...env }, stderr: 'ignore', ...more });
  opened.push(m);
  return m;
}
/** running (a zombie left to an init that does not reap counts as gone) */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

afterEach(async () => {
  for (const m of opened.splice(0)) await m.close();
});

describe('outcomes of reply lines', () => {
  it('carries the icmp-detail extension words, typed, only when the line has them', () => {
    expect(
      outcomeOfLine('1 no-route ip-4 10.0.2.2 round-trip-time 5 icmp-type 3 icmp-code 4 mtu 1400 reply-ttl 63'),
    ).toEqual({
      kind: 'unreachable',
      reason: 'no-route',
      address: '10.0.2.2',
      rtt: 5,
      mpls: undefined,
      icmpType: 3,
      icmpCode: 4,
      mtu: 1400,
      replyTtl: 63,
    });
    expect(outcomeOfLine('1 ttl-expired ip-4 10.0.2.2 round-trip-time 5')).not.toHaveProperty('icmpType');
  });

  it('sorts 0.95 and 0.96 words into kinds', () => {
    expect(outcomeOfLine('1 reply ip-4 1.2.3.4 round-trip-time 10')).toEqual({ kind: 'reply', address: '1.2.3.4', rtt: 10, mpls: undefined });
    expect(outcomeOfLine('1 ttl-expired ip-6 ::1 round-trip-time 7 mpls 100,0,1,1')).toMatchObject({
      kind: 'ttl-expired',
      mpls: [{ label: 100, tc: 0, bottomOfStack: 1, ttl: 1 }],
    });
    expect(outcomeOfLine('1 no-route ip-4 10.0.0.3 round-trip-time 5')).toMatchObject({ kind: 'unreachable', reason: 'no-route', address: '10.0.0.3' });
    for (const w of ['no-route-network', 'no-route-host', 'host-down']) {
      expect(outcomeOfLine(`1 ${w} ip-4 10.0.0.1 round-trip-time 5`)).toMatchObject({ kind: 'unreachable', reason: w });
    }
    expect(outcomeOfLine('1 no-route')).toEqual({ kind: 'send-failed', reason: 'no-route' });
    expect(outcomeOfLine('1 network-down')).toEqual({ kind: 'send-failed', reason: 'network-down' });
    expect(outcomeOfLine('1 no-reply')).toEqual({ kind: 'no-reply' });
    expect(outcomeOfLine('1 probes-exhausted')).toMatchObject({ kind: 'refused', reason: 'probes-exhausted' });
    expect(outcomeOfLine('1 invalid-argument reason ip-version-not-supported')).toMatchObject({
      kind: 'refused',
      reason: 'invalid-argument',
      detail: 'ip-version-not-supported',
      message: 'mtr-packet reported invalid argument (ip-version-not-supported)',
    });
    expect(outcomeOfLine('1 unexpected-error errno 5')).toMatchObject({ kind: 'refused', reason: 'unexpected-error', detail: '5' });
    expect(outcomeOfLine('1 brand-new-word x y')).toMatchObject({ kind: 'refused', reason: 'unknown-reply', detail: '1 brand-new-word x y' });
    expect(outcomeOfLine('1')).toBeUndefined();
  });
});

describe('MtrPacket against a fake packet program', () => {
  it('many probes in flight at once, each settled by its own token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'client-'));
    try {
      const m = await fake('slow=30', {}, { FAKE_HOPS: '4', FAKE_LOG: join(dir, 'log') });
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => m.probe('192.0.2.9', { ttl: (i % 6) + 1, timeout: 1 })));
      results.forEach((r, i) => {
        const ttl = (i % 6) + 1;
        expect(r).toEqual(
          ttl < 4 ? { kind: 'ttl-expired', address: `10.0.0.${ttl}`, rtt: 1000 + ttl, mpls: undefined } : { kind: 'reply', address: '192.0.2.9', rtt: 1000 + ttl, mpls: undefined },
        );
      });
      const tokens = readFileSync(join(dir, 'log'), 'utf8').split('\n').filter((l) => l.split(' ')[1] === 'send-probe').map((l) => Number(l.split(' ')[0]));
      expect(new Set(tokens).size).toBe(200);
      expect(Math.min(...tokens)).toBe(33000);
      expect(m.inFlight).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('probe({ flow }) asks check-support feature flow once, then sends flow N; a program without it refuses up front', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'client-'));
    try {
      const log = join(dir, 'log');
      const m = await fake('', {}, { FAKE_LOG: log });
      await m.probe('192.0.2.7', { ttl: 2, flow: 3, timeout: 1 });
      await m.probe('192.0.2.7', { ttl: 3, flow: 4, timeout: 1 });
      const lines = readFileSync(log, 'utf8').split('\n');
      expect(lines.filter((l) => l.endsWith('check-support feature flow'))).toHaveLength(1);
      expect(lines.filter((l) => l.includes(' send-probe ')).map((l) => / flow (\d+)/.exec(l)?.[1])).toEqual(['3', '4']);
      await expect(m.probe('192.0.2.7', { flow: 256 })).rejects.toBeInstanceOf(InvalidArgument);
      const n = await fake('', {}, { FAKE_UNSUPPORTED: 'flow' });
      await expect(n.probe('192.0.2.7', { flow: 0 })).rejects.toThrow(/does not send flows/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a reply with nat 1 (extension flow) is an outcome with nat: true; without it there is no nat key', () => {
    expect(outcomeOfLine('5 ttl-expired ip-4 10.0.0.2 round-trip-time 12 nat 1')).toEqual({
      kind: 'ttl-expired',
      address: '10.0.0.2',
      rtt: 12,
      mpls: undefined,
      nat: true,
    });
    expect(outcomeOfLine('5 ttl-expired ip-4 10.0.0.2 round-trip-time 12')).not.toHaveProperty('nat');
  });

  it('checkSupport answers, and checkFeatures names the first feature that is not ok', async () => {
    const m = await fake();
    expect(await m.checkSupport('version')).toBe('0.95');
    await m.checkFeatures(6, 'tcp', true);
    await expect(m.checkFeatures(4, 'sctp', false)).rejects.toThrow(/answers 'no' for sctp/);
  });

  it('checkFeatures asks the family, the protocol, and mark only when a mark is set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'client-'));
    try {
      const log = join(dir, 'log');
      const asked = (): string[] =>
        readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l.split(' ')[1] === 'check-support')
          .map((l) => l.split(' ')[3] as string);
      const m = await fake('', {}, { FAKE_UNSUPPORTED: 'mark', FAKE_LOG: log });
      await m.checkFeatures(4, 'udp', false);
      expect(asked()).toEqual(['send-probe', 'ip-4', 'udp']);
      await expect(m.checkFeatures(4, 'udp', true)).rejects.toThrow("Packet type unsupported: the packet program answers 'no' for mark");
      expect(asked()).toEqual(['send-probe', 'ip-4', 'udp', 'ip-4', 'udp', 'mark']);
      const n = await fake('', {}, { FAKE_UNSUPPORTED: 'ip-6' });
      await expect(n.checkFeatures(6, 'icmp', false)).rejects.toThrow(/'no' for ip-6$/);
      await n.checkFeatures(4, 'icmp', false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sendProbe hands out tokens from 33000 on, one after another, each the token its line went out with', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'client-'));
    try {
      const m = await fake('', {}, { FAKE_LOG: join(dir, 'log') });
      const sent = [1, 2, 3, 4].map((ttl) => m.sendProbe(probeFields({ ipVersion: 4, address: '192.0.2.7', ttl, timeout: 1 })));
      expect(sent.map((s) => s.token)).toEqual([33000, 33001, 33002, 33003]);
      expect((await Promise.all(sent.map((s) => s.result))).map((r) => r.kind)).toEqual(['reply', 'reply', 'reply', 'reply']);
      const lines = readFileSync(join(dir, 'log'), 'utf8').split('\n').filter((l) => l.split(' ')[1] === 'send-probe');
      expect(lines.map((l) => [Number(l.split(' ')[0]), / ttl (\d+)/.exec(l)?.[1]])).toEqual([
        [33000, '1'],
        [33001, '2'],
        [33002, '3'],
        [33003, '4'],
      ]);
      expect(m.inFlight).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('dying mid-probe: every pending probe rejects once with the same PacketProcessExited, later calls too', async () => {
    const m = await fake('die-after=3,hold-first', {}, {});
    const ps = [1, 2, 3, 4].map((ttl) => m.probe('192.0.2.1', { ttl, timeout: 5 }));
    const settled = await Promise.allSettled(ps);
    // probes 2 and 3 were answered; 1 was held; the 4th killed it
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'rejected']);
    const reasons = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason] : []));
    expect(reasons[0]).toBeInstanceOf(PacketProcessExited);
    expect(reasons[0]).toBe(reasons[1]);
    expect((reasons[0] as PacketProcessExited).code).toBe(3);
    expect(await m.exited).toBe(reasons[0]);
    expect(m.inFlight).toBe(0);
    await expect(m.probe('192.0.2.1')).rejects.toBe(reasons[0]);
    await expect(m.checkSupport('version')).rejects.toBe(reasons[0]);
  });

  it('garbage lines are counted and ignored; the answers still arrive', async () => {
    const m = await fake('garbage');
    const r = await Promise.all([m.probe('192.0.2.1', { timeout: 1 }), m.probe('2001:db8::1', { timeout: 1 })]);
    expect(r).toEqual([
      { kind: 'reply', address: '192.0.2.1', rtt: 1255, mpls: undefined },
      { kind: 'reply', address: '2001:db8::1', rtt: 1255, mpls: undefined },
    ]);
    // per probe: '', 'hello' and '33000' do not parse; 'not-a-token ...' parses to token 0; '7 ...' answers no pending token
    expect(m.strayReplies).toBeGreaterThanOrEqual(2 * 3);
  });

  it('a refusal: a refused outcome, or ProbeRefused / InvalidArgument with throwOnRefusal', async () => {
    const m = await fake('refuse=permission-denied');
    expect(await m.probe('192.0.2.1')).toEqual({ kind: 'refused', reason: 'permission-denied', message: 'Permission denied', detail: undefined });
    const e = await m.probe('192.0.2.1', { throwOnRefusal: true }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProbeRefused);
    expect(e).not.toBeInstanceOf(InvalidArgument);
    expect((e as ProbeRefused).reason).toBe('permission-denied');
    const n = await fake('refuse=invalid-argument');
    await expect(n.probe('192.0.2.1', { throwOnRefusal: true })).rejects.toMatchObject({ name: 'InvalidArgument', local: false });
    const x = await fake('refuse=probes-exhausted');
    expect(await x.probe('192.0.2.1')).toMatchObject({ kind: 'refused', reason: 'probes-exhausted' });
  });

  it('bad arguments are refused before anything is written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'client-'));
    try {
      const m = await fake('', {}, { FAKE_LOG: join(dir, 'log') });
      const bad = [
        { ttl: 0 },
        { ttl: 256 },
        { port: 70000 },
        { localPort: 80 },
        { tos: 1.5 },
        { mark: -1 },
        { protocol: 'gre' as 'icmp' },
        { device: 'eth 0' },
        { localAddress: '::1' },
      ];
      for (const o of bad) await expect(m.probe('192.0.2.1', o), JSON.stringify(o)).rejects.toMatchObject({ name: 'InvalidArgument', local: true });
      await expect(m.probe('192.0.2.1', { ipVersion: 6 })).rejects.toBeInstanceOf(InvalidArgument);
      await expect(m.checkSupport('two words')).rejects.toBeInstanceOf(InvalidArgument);
      const log = readFileSync(join(dir, 'log'), 'utf8');
      expect(log.split('\n').filter((l) => l.split(' ')[1] === 'send-probe')).toEqual([]);
      expect(m.inFlight).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an abort in flight rejects at once; the late answer is swallowed and its token stays reserved until then', async () => {
    const m = await fake('slow=400');
    const ac = new AbortController();
    const p = m.probe('192.0.2.1', { timeout: 1, signal: ac.signal });
    await sleep(50);
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(m.inFlight).toBe(1); // reserved, not forgotten
    const next = await m.probe('192.0.2.2', { timeout: 1 }); // another token, answered normally
    expect(next).toMatchObject({ kind: 'reply', address: '192.0.2.2' });
    await sleep(100);
    expect(m.inFlight).toBe(0);
    expect(m.lateReplies).toBe(1);
    expect(m.strayReplies).toBe(0);
    // an already aborted signal sends nothing
    await expect(m.probe('192.0.2.1', { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(m.inFlight).toBe(0);
  });

  it('an abandoned token is never handed out while reserved, not even over a full wrap of the token space', async () => {
    const m = await fake('hold-first');
    const ac = new AbortController();
    const held = m.sendProbe({ ...baseFields, timeout: 120 }, { signal: ac.signal });
    ac.abort(new Error('gave up'));
    await expect(held.result).rejects.toThrow('gave up');
    expect(held.token).toBe(33000);
    const seen = new Set<number>();
    for (let batch = 0; batch < 17; batch++) {
      const sent = Array.from({ length: 2000 }, () => m.sendProbe(baseFields));
      for (const s of sent) seen.add(s.token);
      await Promise.all(sent.map((s) => s.result));
    }
    expect(seen.has(33000)).toBe(false);
    expect(seen.size).toBe(65536 - 33000 - 1);
    expect(m.inFlight).toBe(1);
  }, 60_000);

  it('an abandoned token that is never answered is freed once its timeout and a 2 s margin have passed', async () => {
    const m = await fake('hold-first');
    const ac = new AbortController();
    const held = m.sendProbe({ ...baseFields, timeout: 0 }, { signal: ac.signal });
    const t0 = Date.now();
    ac.abort();
    await expect(held.result).rejects.toMatchObject({ name: 'AbortError' });
    await sleep(1500);
    expect(m.inFlight).toBe(1);
    while (m.inFlight > 0 && Date.now() - t0 < 10_000) await sleep(50);
    expect(m.inFlight).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
  });

  it('a program that never answers check-support: StartupTimeout, and it is stopped', async () => {
    const t = Date.now();
    const e = await MtrPacket.open({ command: FAKE, env: { ...process.env, FAKE_MODE: 'silent-startup' }, startupTimeoutMs: 300, stderr: 'ignore' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StartupTimeout);
    expect(e).toBeInstanceOf(PacketProcessError);
    expect((e as Error).message).toMatch(/did not answer check-support within 300 ms/);
    expect(Date.now() - t).toBeLessThan(5000);
  });

  it('spawn() gives the object at once; checkFeatures() asks send-probe first, under the start-up timeout', async () => {
    const silent = MtrPacket.spawn({ command: FAKE, env: { ...process.env, FAKE_MODE: 'silent-startup' }, startupTimeoutMs: 200, stderr: 'ignore' });
    expect(silent.pid).toBeGreaterThan(0);
    const e = await silent.checkFeatures(4, 'icmp', false).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StartupTimeout);
    expect(await silent.exited).toBe(e);
    const ok = MtrPacket.spawn({ command: FAKE, env: { ...process.env, FAKE_MODE: '' }, stderr: 'ignore' });
    opened.push(ok);
    await Promise.all([ok.checkFeatures(4, 'icmp', false), ok.checkFeatures(6, 'udp', true)]);
    const missing = MtrPacket.spawn({ command: '/nonexistent/mtr-packet', stderr: 'ignore' });
    await expect(missing.checkFeatures(4, 'icmp', false)).rejects.toThrow('Failure to start mtr-packet: cannot run packet program /nonexistent/mtr-packet: ENOENT');
  });

  it('a program that cannot be run is one clear PacketProcessExited', async () => {
    const e = await MtrPacket.open({ command: '/nonexistent/mtr-packet', stderr: 'ignore' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PacketProcessExited);
    expect((e as Error).message).toBe('Failure to start mtr-packet: cannot run packet program /nonexistent/mtr-packet: ENOENT');
  });

  it('a line with no newline: LineTooLong after the limit, memory does not grow, the program is stopped', async () => {
    const m = await fake('no-newline', { maxLineBytes: 4096 });
    const pid = m.pid!;
    const e = await m.probe('192.0.2.1', { timeout: 5 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LineTooLong);
    expect((e as LineTooLong).limit).toBe(4096);
    expect(await m.exited).toBe(e);
    expect(alive(pid)).toBe(false);
  });

  it('a line of exactly maxLineBytes is fine, one byte more is LineTooLong', async () => {
    const ok = await fake('line=300', { maxLineBytes: 300 });
    expect(await ok.probe('192.0.2.1')).toMatchObject({ kind: 'reply' });
    const over = await fake('line=301', { maxLineBytes: 300 });
    await expect(over.probe('192.0.2.1')).rejects.toBeInstanceOf(LineTooLong);
  });

  it('close() on a program that will not exit: end stdin, SIGTERM, then SIGKILL after the grace time', async () => {
    const m = await fake('stubborn', { closeWaitMs: 200, killGraceMs: 300 });
    const pid = m.pid!;
    const pending = m.probe('192.0.2.1', { timeout: 5 }).catch((x: unknown) => x);
    await pending; // answered at once by the fake
    const held = await fake('stubborn,hold-first', { closeWaitMs: 200, killGraceMs: 300 });
    const waiting = held.probe('192.0.2.1', { timeout: 5 }).catch((x: unknown) => x);
    await sleep(50);
    expect(held.inFlight).toBe(1);
    const t = Date.now();
    await Promise.all([m.close(), held.close()]);
    const took = Date.now() - t;
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(5000);
    expect(alive(pid)).toBe(false);
    const err = await waiting;
    expect(err).toBeInstanceOf(PacketProcessExited);
    expect(err).toMatchObject({ signal: 'SIGKILL', closed: true });
    expect(await held.exited).toBeUndefined();
    await expect(held.probe('192.0.2.1')).rejects.toBeInstanceOf(PacketProcessExited);
  });

  it('a program still running when this process exits is sent SIGTERM (no lingering after the end of stdin)', async () => {
    const script = `import { MtrPacket } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
const m = await MtrPacket.open({ command: ${JSON.stringify(FAKE)}, env: { ...process.env, FAKE_MODE: 'linger' }, stderr: 'ignore' });
console.log(m.pid);
process.exit(0);`;
    const { execFile } = await import('node:child_process');
    const out = await new Promise<string>((res, rej) => execFile(process.execPath, ['--input-type=module', '-e', script], (e, so) => (e ? rej(e) : res(so))));
    const pid = Number(out.trim());
    expect(pid).toBeGreaterThan(0);
    try {
      for (let i = 0; i < 50 && alive(pid); i++) await sleep(20);
      expect(alive(pid)).toBe(false);
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('close() of a well-behaved program is quick and not an error; Symbol.asyncDispose closes', async () => {
    const m = await fake();
    const t = Date.now();
    await m.close();
    expect(Date.now() - t).toBeLessThan(900);
    expect(await m.exited).toBeUndefined();
    await m.close(); // twice is fine
    const n = await fake();
    const dispose = (n as unknown as Record<symbol, () => Promise<void>>)[Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose')]!;
    await dispose.call(n);
    expect(await n.exited).toBeUndefined();
    expect(alive(n.pid!)).toBe(false);
  });

  it('names resolve through the cache; IPv4/IPv6 choice; failures are NameResolutionFailed and not cached', async () => {
    const calls: string[] = [];
    let fail = true;
    const lookup = async (host: string, family: 0 | 4 | 6) => {
      calls.push(`${host}/${family}`);
      if (host === 'flaky.test' && fail) throw Object.assign(new Error('nope'), { code: 'EAI_AGAIN' });
      return family === 6 ? { address: '2001:db8::5', family: 6 } : { address: '192.0.2.5', family: 4 };
    };
    const m = await fake('', { lookup });
    expect(await m.probe('host.test')).toMatchObject({ address: '192.0.2.5' });
    expect(await m.probe('host.test')).toMatchObject({ address: '192.0.2.5' });
    expect(await m.probe('host.test', { ipVersion: 6 })).toMatchObject({ address: '2001:db8::5' });
    expect(calls).toEqual(['host.test/0', 'host.test/6']);
    const e = await m.probe('flaky.test').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NameResolutionFailed);
    expect(e).toMatchObject({ code: 'EAI_AGAIN', host: 'flaky.test' });
    fail = false;
    expect(await m.probe('flaky.test')).toMatchObject({ address: '192.0.2.5' });
    const v6 = await fake('', { lookup, ipVersion: 6 });
    expect(await v6.resolve('other.test')).toEqual({ address: '2001:db8::5', ipVersion: 6 });
    // the real dns.lookup, for a name /etc/hosts knows
    const real = await fake();
    expect(await real.resolve('localhost', 4)).toEqual({ address: '127.0.0.1', ipVersion: 4 });
  });

  it('the default command: ours alongside, else MTR_PACKET unless disabled, else mtr-packet on PATH', () => {
    expect(defaultPacketCommand({ env: { MTR_PACKET: '/x/mtr-packet' } })).toMatchObject({ source: 'installed' });
    expect(defaultPacketCommand({ env: { MTR_PACKET: '/x/mtr-packet' } }).command).toMatch(/packet\/bin\/mtr-packet-ts$/);
    expect(defaultPacketCommand({ env: { MTR_PACKET: '/x/mtr-packet' }, preferInstalled: false })).toEqual({ command: '/x/mtr-packet', source: 'environment' });
    expect(defaultPacketCommand({ env: { MTR_PACKET: '/x/mtr-packet' }, preferInstalled: false, allowEnvironment: false })).toEqual({
      command: 'mtr-packet',
      source: 'path',
    });
  });
});

const baseFields = {
  ipVersion: 4 as const,
  address: '192.0.2.1',
  protocol: 'icmp' as const,
  port: 0,
  localAddress: undefined,
  localPort: 0,
  ttl: 5,
  size: 64,
  bitPattern: 0,
  tos: 0,
  mark: undefined,
  timeout: 1,
  localDevice: undefined,
};
