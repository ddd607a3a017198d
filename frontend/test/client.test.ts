import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { outcomeOf, PacketClient, PacketProcessError, probeFields, type ProbeOutcome } from '../src/client.js';
import { parseReply } from '@mtr-ts/protocol';
import { skipUnless } from './needs.js';

const FAKE = new URL('./fixtures/fake-mtr-packet.mjs', import.meta.url).pathname;
const fake = (env: Record<string, string> = {}): PacketClient =>
  new PacketClient({ path: FAKE, env: { ...process.env, ...env }, stderr: 'ignore' });
const probe = (ttl: number) => probeFields({ ipVersion: 4, address: '127.0.0.1', ttl, timeout: 1 });

describe('reply -> typed outcome', () => {
  const o = (line: string): ProbeOutcome => outcomeOf(parseReply(line)!);
  it('0.95 vocabulary and the later unreachable words', () => {
    expect(o('1 reply ip-4 1.2.3.4 round-trip-time 10')).toEqual({ kind: 'reply', address: '1.2.3.4', rtt: 10, mpls: undefined });
    expect(o('1 ttl-expired ip-6 ::1 round-trip-time 7 mpls 100,0,1,1')).toMatchObject({ kind: 'ttl-expired', mpls: [{ label: 100, tc: 0, bottomOfStack: 1, ttl: 1 }] });
    expect(o('1 no-reply')).toEqual({ kind: 'no-reply' });
    expect(o('1 no-route')).toEqual({ kind: 'send-failed', reason: 'no-route' });
    expect(o('1 network-down')).toEqual({ kind: 'send-failed', reason: 'network-down' });
    for (const w of ['no-route-network', 'no-route-host', 'host-down']) {
      expect(o(`1 ${w} ip-4 10.0.0.1 round-trip-time 5`)).toEqual({ kind: 'unreachable', reason: w, address: '10.0.0.1', rtt: 5, mpls: undefined });
    }
    expect(o('1 probes-exhausted')).toEqual({ kind: 'probes-exhausted' });
    expect(o('1 permission-denied')).toMatchObject({ kind: 'error', message: 'Permission denied' });
    expect(o('1 invalid-argument reason ip-version-not-supported')).toMatchObject({ kind: 'error', message: 'mtr-packet reported invalid argument (ip-version-not-supported)' });
    expect(o('1 unexpected-error errno 5')).toMatchObject({ kind: 'error' });
    expect(o('1 something-new foo bar')).toMatchObject({ kind: 'error', reason: 'something-new' });
  });
});

describe('PacketClient against a fake packet process', () => {
  it('start-up checks pass, probes resolve by token, tokens start at 33000 and are distinct', async () => {
    const c = fake({ FAKE_PATH: '10.0.0.1,10.0.0.2,127.0.0.1' });
    await c.checkFeatures(4, 'icmp', false);
    const sent = [1, 2, 3, 4].map((t) => c.sendProbe(probe(t)));
    expect(sent.map((s) => s.token)).toEqual([33000, 33001, 33002, 33003]);
    const results = await Promise.all(sent.map((s) => s.result));
    expect(results.map((r) => r.kind)).toEqual(['ttl-expired', 'ttl-expired', 'reply', 'reply']);
    expect(results[1]).toMatchObject({ address: '10.0.0.2', rtt: 1002 });
    expect(c.inFlight).toBe(0);
    await c.close();
  });

  it('refuses clearly when a feature is not ok (mark asked only when a mark is set)', async () => {
    const c = fake({ FAKE_UNSUPPORTED: 'mark' });
    await c.checkFeatures(4, 'icmp', false);
    await expect(c.checkFeatures(4, 'udp', true)).rejects.toThrow(/Packet type unsupported.*'no' for mark/);
    await c.close();
    const d = fake({ FAKE_UNSUPPORTED: 'ip-6' });
    await expect(d.checkFeatures(6, 'icmp', false)).rejects.toThrow(/'no' for ip-6/);
    await d.close();
  });

  it('when the process dies mid-run, every pending probe fails with one error, and exited says why', async () => {
    const c = fake({ FAKE_PATH: '*,*,*', FAKE_DIE_AFTER: '3', FAKE_TIMEOUT_MS: '5000' });
    await c.checkFeatures(4, 'icmp', false);
    const sent = [1, 2, 3, 4].map((t) => c.sendProbe(probe(t)));
    const settled = await Promise.allSettled(sent.map((s) => s.result));
    const reasons = settled.map((s) => (s.status === 'rejected' ? s.reason : undefined));
    expect(reasons.every((r) => r instanceof PacketProcessError)).toBe(true);
    expect(new Set(reasons).size).toBe(1);
    const err = await c.exited;
    expect(err?.message).toMatch(/exited with status 3/);
    expect(c.inFlight).toBe(0);
    // later requests fail at once with the same error
    await expect(c.sendProbe(probe(1)).result).rejects.toBe(err);
  });

  it('a program that cannot be run is one clear error', async () => {
    const c = new PacketClient({ path: '/nonexistent/mtr-packet', stderr: 'ignore' });
    await expect(c.checkFeatures(4, 'icmp', false)).rejects.toThrow(/Failure to start mtr-packet: cannot run packet program \/nonexistent\/mtr-packet: ENOENT/);
  });

  it('close() is not an error', async () => {
    const c = fake();
    await c.checkFeatures(4, 'icmp', false);
    await c.close();
    expect(await c.exited).toBeUndefined();
  });
});

const REAL = '/usr/bin/mtr-packet';
const root = typeof process.getuid === 'function' && process.getuid() === 0;
describe.skipIf(skipUnless(existsSync(REAL) && root, 'PacketClient against /usr/bin/mtr-packet needs root and mtr-tiny'))('PacketClient against /usr/bin/mtr-packet on 127.0.0.1', () => {
  it('checks features and gets replies from loopback', async () => {
    const c = new PacketClient({ path: REAL, stderr: 'ignore' });
    await c.checkFeatures(4, 'icmp', false);
    expect(await c.checkSupport('version')).toBe('0.95');
    const rs = await Promise.all([1, 2, 64].map((t) => c.sendProbe(probe(t)).result));
    for (const r of rs) expect(r).toMatchObject({ kind: 'reply', address: '127.0.0.1' });
    const udp = await c.sendProbe(probeFields({ ipVersion: 4, address: '127.0.0.1', ttl: 5, protocol: 'udp', port: 33434, timeout: 1 })).result;
    expect(udp).toMatchObject({ kind: 'reply', address: '127.0.0.1' });
    await c.close();
  });
});
