// --ndjson and --json-rich: real runs (the fake packet program) validate against frontend/schema/, and a
// reader that stops reading costs dropped lines, never probing.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FAKE, runCli } from './run-cli.js';
import { ndjsonOutput, BACKLOG_LIMIT } from '../src/outputs/ndjson.js';
import { rfc3339 } from '../src/outputs/json-shapes.js';
import { parseOptions } from '../src/options.js';
import { NO_NAMES } from '../src/render/model.js';
import type { Engine } from '../src/engine/types.js';
import type { EngineEvent } from '../src/engine/events.js';
import { explain, validateEventLine, validateReport } from './schemas.js';
import { skipUnless } from './needs.js';

const BIN = new URL('../bin/mtr-ts.js', import.meta.url).pathname;
const DIST = new URL('../dist/cli.js', import.meta.url).pathname;
const root = typeof process.getuid === 'function' && process.getuid() === 0;


const fast = ['-n', '-i', '0.02', '-G', '1'];
/** ECMP at hop 1 with MPLS, a silent hop 2, the destination at 3 */
const PATH = { FAKE_PATH: '10.0.0.1|10.0.0.9,*,127.0.0.1', FAKE_MPLS: '1:24001,0,1,1', FAKE_TIMEOUT_MS: '30' };
const PATH6 = { ...PATH, FAKE_PATH: '10.0.0.1|10.0.0.9,*,::1' };
const TARGET_LESS = new Set(['start', 'end', 'packet_process_started', 'packet_process_exited', 'name_resolved']);

describe('--ndjson', () => {
  it('every line validates; start first, end last, seq without gaps, µs timestamps, the target on target lines', async () => {
    // -6 with an IPv4 literal fails inside getaddrinfo without asking any DNS server
    const r = await runCli([...fast, '-6', '--ndjson', '-c', '3', '::1', '::1', '127.0.0.1'], PATH6);
    expect(r.code).toBe(1); // the name that does not resolve
    expect(r.err).toBe('mtr-ts: Failed to resolve host: 127.0.0.1: Address family for hostname not supported\n');
    const lines = r.out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const l of lines)
      expect(validateEventLine(l), `${JSON.stringify(l)}\n${explain(validateEventLine.errors)}`).toBe(true);
    expect(lines[0]!.type).toBe('start');
    expect(lines.at(-1)).toMatchObject({ type: 'end', reason: 'completed', dropped_events: 0 });
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i));
    for (const l of lines) {
      expect(l.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      if (!TARGET_LESS.has(l.type as string) && l.type !== 'error') expect(l.target).not.toBeNull();
    }
    const types = new Set(lines.map((l) => l.type));
    for (const t of [
      'target_added',
      'target_started',
      'probe_sent',
      'probe_answered',
      'probe_lost',
      'hop_changed',
      'cycle_done',
      'target_done',
      'error',
      'packet_process_started',
    ]) {
      expect(types, t).toContain(t);
    }
    // both targets over one packet process
    expect(lines.filter((l) => l.type === 'packet_process_started')).toHaveLength(1);
    const answered = lines.filter((l) => l.type === 'probe_answered') as Array<{
      target: { id: number };
      probe: { ttl: number };
      mpls: unknown[];
      responder: string;
    }>;
    expect(new Set(answered.map((a) => a.target.id))).toEqual(new Set([1, 2]));
    expect(answered.find((a) => a.probe.ttl === 1)!.mpls).toEqual([{ label: 24001, tc: 0, s: 1, ttl: 1 }]);
    expect(new Set(answered.filter((a) => a.probe.ttl === 1).map((a) => a.responder))).toEqual(
      new Set(['10.0.0.1', '10.0.0.9']),
    );
  });

  it('RFC 3339 with microseconds, rounded, in UTC', () => {
    expect(rfc3339(Date.UTC(2026, 11, 2, 17, 4, 5, 123) + 0.4564)).toBe('2026-12-02T17:04:05.123456Z');
    expect(rfc3339(Date.UTC(2026, 0, 1) - 0.0004)).toBe('2026-01-01T00:00:00.000000Z');
    expect(rfc3339(Date.UTC(2026, 0, 1) + 0.9996)).toBe('2026-01-01T00:00:00.001000Z');
  });

  it('a reader that falls behind: lines are dropped and counted, not queued; the end line and stderr say how many', () => {
    let backlog = 0;
    let written = '';
    const warnings: string[] = [];
    const out = ndjsonOutput({
      cfg: parseOptions(['x'], undefined, { isRoot: true, readFile: () => '' }),
      render: { order: '', wide: false, dns: false, showIps: false, ipinfo: undefined, mpls: false },
      engine: {} as Engine,
      names: NO_NAMES,
      localHostname: 'h',
      write: (t) => {
        written += t;
        backlog += t.length;
      },
      backlog: () => backlog,
      warn: (m) => warnings.push(m),
      now: () => Date.UTC(2026, 0, 1),
    });
    const target = { id: 1, name: 'x', address: '10.0.0.1', family: 4 as const };
    const ev = (seq: number): EngineEvent => ({ type: 'target-paused', seq, ts: Date.UTC(2026, 0, 1), target });
    let seq = 0;
    while (backlog <= BACKLOG_LIMIT) out.onEvent!(ev(++seq));
    const kept = seq;
    for (let i = 0; i < 10_000; i++) out.onEvent!(ev(++seq));
    const size = written.length;
    backlog = 0; // the reader catches up
    out.onEvent!(ev(++seq));
    out.close!('completed');
    const lines = written
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; seq: number; dropped_events?: number });
    expect(lines).toHaveLength(1 + kept + 1 + 1);
    expect(size).toBeLessThan(BACKLOG_LIMIT + 1000); // nothing queued for the dropped ones
    expect(lines.at(-2)!.seq).toBe(seq); // the gap in seq shows where
    expect(lines.at(-1)).toMatchObject({ type: 'end', seq: seq + 1, dropped_events: 10_000 });
    expect(warnings).toEqual([
      `10000 events dropped: the NDJSON reader fell behind (more than ${BACKLOG_LIMIT} bytes unread)`,
    ]);
  });
});

describe('--json-rich', () => {
  it('validates, and carries per-hop lifetime and window statistics, percentiles, every responder with its own numbers and MPLS', async () => {
    const r = await runCli([...fast, '--json-rich', '-c', '4', '--window', '2', '127.0.0.1', '127.0.0.2'], PATH);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(validateReport(doc), explain(validateReport.errors)).toBe(true);
    expect(doc.targets.map((t: { target: { name: string } }) => t.target.name)).toEqual(['127.0.0.1', '127.0.0.2']);
    const t = doc.targets[0];
    expect(t).toMatchObject({
      status: 'done',
      cycles: 4,
      window_size: 2,
      path: { reached: true, destination_ttl: 3, end: 'destination' },
    });
    expect(t.hops.map((h: { ttl: number; address: string | null }) => [h.ttl, h.address])).toEqual([
      [1, expect.stringMatching(/^10\.0\.0\.[19]$/)],
      [2, null],
      [3, '127.0.0.1'],
    ]);
    const h1 = t.hops[0];
    expect(h1.lifetime).toMatchObject({ sent: 4, received: 4, loss_percent: 0 });
    expect(h1.window).toMatchObject({ sent: 2, received: 2 });
    expect(h1.lifetime.percentiles_ms.p50).toBeGreaterThan(0);
    // the fake alternates ECMP members per probe of the process, across both targets: both show up, each with its own numbers
    const rs = h1.responders as Array<{
      address: string;
      stats: { sent: number; received: number; percentiles_ms: unknown };
      mpls: unknown[];
    }>;
    expect(rs.map((x) => x.address)).toEqual(['10.0.0.1', '10.0.0.9'].filter((a) => rs.some((x) => x.address === a)));
    expect(rs.length).toBeGreaterThanOrEqual(1);
    expect(rs.reduce((n, x) => n + x.stats.received, 0)).toBe(4);
    for (const x of rs) {
      expect(x.mpls).toEqual([{ label: 24001, tc: 0, s: 1, ttl: 1 }]);
      expect(x.stats.sent).toBe(x.stats.received);
      expect(x.stats.percentiles_ms).not.toBeNull();
    }
    const both = doc.targets.flatMap((x: { hops: Array<{ ttl: number; responders: Array<{ address: string }> }> }) =>
      x.hops[0]!.responders.map((y) => y.address),
    );
    expect(new Set(both)).toEqual(new Set(['10.0.0.1', '10.0.0.9']));
    expect(t.hops[1].lifetime).toMatchObject({ loss_percent: 100, percentiles_ms: null });
    // ms with µs precision: the fake answers in 1000 µs + TTL
    expect(t.hops[2].lifetime.last_ms).toBe(1.003);
  });

  it('the test schemas refuse what they do not document, and what they document wrongly', async () => {
    const r = await runCli([...fast, '--json-rich', '-c', '1', '127.0.0.1'], { FAKE_PATH: '127.0.0.1' });
    const doc = JSON.parse(r.out);
    expect(validateReport(doc)).toBe(true);
    expect(validateReport({ ...doc, surprise: 1 })).toBe(false);
    const hop = doc.targets[0].hops[0];
    expect(
      validateReport({
        ...doc,
        targets: [{ ...doc.targets[0], hops: [{ ...hop, lifetime: { ...hop.lifetime, avg_ms: '1.0' } }] }],
      }),
    ).toBe(false);
    expect(
      validateEventLine({
        schema_version: 1,
        type: 'probe_sent',
        seq: 1,
        ts: '2026-01-01T00:00:00.000Z',
        target: null,
      }),
    ).toBe(false);
  });

  it('a target that does not resolve is in the document with its error', async () => {
    const r = await runCli([...fast, '-6', '--json-rich', '-c', '1', '127.0.0.1', '::1'], { FAKE_PATH: '::1' });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.out);
    expect(validateReport(doc), explain(validateReport.errors)).toBe(true);
    expect(doc.targets[0]).toMatchObject({
      status: 'failed',
      started_at: null,
      error: 'Failed to resolve host: 127.0.0.1: Address family for hostname not supported',
      hops: [],
    });
    expect(doc.targets[1]).toMatchObject({ status: 'done' });
  });
});

describe.skipIf(
  skipUnless(root && existsSync(DIST), 'a stalled NDJSON reader needs -i below 1 s (root) and the build'),
)('a reader that stops reading', () => {
  it('does not stall probing nor grow without bound: the run ends on time and says how many lines it dropped', async () => {
    // 40 hops x 100 cycles, a probe every 1.25 ms: 4,000 probes, about 2.5 MB of lines, not read until probing is over
    const path = Array.from({ length: 39 }, (_, i) => `10.1.${i}.1`).join(',') + ',127.0.0.1';
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, '--ndjson', '-n', '-i', '0.05', '-c', '100', '-G', '1', '127.0.0.1'], {
      env: { ...process.env, MTR_PACKET: FAKE, FAKE_PATH: path },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pause(); // stop reading: the pipe fills, mtr-ts's writes back up
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    // probing finishes on its own schedule while nobody reads; the warning on stderr comes with the end line
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (err.includes('events dropped')) {
          clearInterval(poll);
          resolve();
        }
      }, 100);
      child.on('exit', () => {
        clearInterval(poll);
        resolve();
      });
    });
    const probingMs = Date.now() - started;
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stdout.resume();
    expect(await exited).toBe(0);
    expect(err).toMatch(/^mtr-ts: \d+ events dropped: the NDJSON reader fell behind/m);
    // 100 cycles of 0.05 s take about 5 s; a stalled run would not end at all (generous bound for a busy machine)
    expect(probingMs).toBeLessThan(60_000);
    const lines = out.trimEnd().split('\n');
    const end = JSON.parse(lines.at(-1)!);
    expect(end).toMatchObject({ type: 'end', reason: 'completed' });
    expect(end.dropped_events).toBeGreaterThan(0);
    expect(end.max_backlog_bytes).toBeLessThan(BACKLOG_LIMIT + 64 * 1024); // bounded: the limit plus one event's lines
    for (const l of lines.slice(0, 50))
      expect(validateEventLine(JSON.parse(l)), explain(validateEventLine.errors)).toBe(true);
  }, 180_000);
});
