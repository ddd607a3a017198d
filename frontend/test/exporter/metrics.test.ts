// The metrics from event sequences: what each event adds, the series budget per target at each
// per-hop level, series removal, and `promtool check metrics` on the real exposition text.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseConfig, type PerHopLevel, type TargetSpec } from '../../src/exporter/config.js';
import type { AnyEvent, ExporterEvent } from '../../src/exporter/events.js';
import { ExporterMetrics, SelfMetrics, pathIdValue } from '../../src/exporter/metrics.js';
import { requirements } from '../../../test/support/env.js';
import { RULE_IDS } from '../../src/diagnose/index.js';

const spec = (name: string, extra = ''): TargetSpec =>
  parseConfig(`targets:\n  - {name: ${name}, host: 192.0.2.9, interval: 1, timeout: 2${extra}}\n`)
    .targets[0] as TargetSpec;

const A = ['10.0.1.2', '10.0.2.2', '10.0.3.2'];
const DEST = '192.0.2.9';

/** An answer at `ttl`: from the destination (a reply) or, with another responder, a router (TTL expired). */
function answered(target: string, at: number, ttl: number, rtt: number, responder = DEST): ExporterEvent {
  const destination = responder === DEST;
  return { type: 'probe-answered', target, at, ttl, kind: destination ? 'reply' : 'ttl-expired', responder, rtt, destination };
}

/** One trace of `target` through three routers to the destination, with the TTLs in `lose` lost. */
function trace(target: string, at: number, cycle: number, lose: number[] = []): ExporterEvent[] {
  const out: ExporterEvent[] = [];
  for (let ttl = 1; ttl <= 4; ttl++) {
    out.push({ type: 'probe-sent', target, at, ttl });
    if (lose.includes(ttl)) out.push({ type: 'probe-lost', target, at: at + 2000, ttl, reason: 'no-reply' });
    else out.push(answered(target, at + ttl, ttl, ttl * 1.5, ttl === 4 ? DEST : (A[ttl - 1] as string)));
  }
  out.push({
    type: 'cycle-done',
    target,
    at: at + 5,
    cycle,
    pathId: 'abcdef0123456789',
    destinationTtl: 4,
    reached: true,
  });
  return out;
}

function value(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

function seriesOf(text: string, target: string): string[] {
  return text.split('\n').filter((l) => !l.startsWith('#') && l.includes(`target="${target}"`));
}

function feed(m: ExporterMetrics, events: AnyEvent[]): void {
  for (const e of events) m.onEvent(e);
}

describe('exporter metrics from events', () => {
  it('counts hop and destination probes at completion, and the RTT histogram in seconds', async () => {
    let now = 1_000_000;
    const m = new ExporterMetrics({ perHop: 'counters', window: 60, now: () => now });
    m.addTarget(spec('t'));
    m.onEvent({ type: 'target-address', target: 't', at: now, address: DEST, family: 4 });
    feed(m, trace('t', now, 1));
    feed(m, trace('t', now + 1000, 2, [2, 4]));
    feed(m, trace('t', now + 2000, 3, [4]));
    now += 3000;
    const text = await m.render();
    expect(value(text, 'mtrts_hop_probes_total{target="t",ttl="2"}')).toBe(3);
    expect(value(text, 'mtrts_hop_replies_total{target="t",ttl="2"}')).toBe(2);
    expect(value(text, 'mtrts_hop_probes_total{target="t",ttl="4"}')).toBe(3);
    expect(value(text, 'mtrts_hop_replies_total{target="t",ttl="4"}')).toBe(1);
    // the first trace's lost probes come before destinationTtl is known: only traces 2 and 3 count their loss
    expect(value(text, 'mtrts_destination_probes_total{target="t"}')).toBe(3);
    expect(value(text, 'mtrts_destination_replies_total{target="t"}')).toBe(1);
    expect(value(text, 'mtrts_destination_rtt_seconds_count{target="t"}')).toBe(1);
    expect(value(text, 'mtrts_destination_rtt_seconds_sum{target="t"}')).toBeCloseTo(0.006);
    expect(value(text, 'mtrts_destination_rtt_seconds_bucket{le="0.0064",target="t"}')).toBe(1);
    expect(value(text, 'mtrts_destination_rtt_seconds_bucket{le="0.0032",target="t"}')).toBe(0);
    expect(value(text, 'mtrts_path_hops{target="t"}')).toBe(4);
    expect(value(text, 'mtrts_path_id{target="t"}')).toBe(pathIdValue('abcdef0123456789'));
    expect(value(text, 'mtrts_destination_reachable{target="t"}')).toBe(1);
    expect(text).toMatch(
      /mtrts_target_info\{target="t",host="192.0.2.9",address="192.0.2.9",family="ipv4",protocol="icmp",port=""\} 1/,
    );
    // no sample carries a timestamp: every sample line is `name{labels} value`
    for (const l of text.split('\n').filter((x) => x !== '' && !x.startsWith('#')))
      expect(l).toMatch(/^[a-z_]+(\{[^}]*\})? \S+$/);
  });

  it('keeps reachable present and 0 when nothing answers, and counts unanswered traces', async () => {
    let now = 5_000_000;
    const m = new ExporterMetrics({ perHop: 'counters', window: 60, now: () => now });
    m.addTarget(spec('dark'));
    let text = await m.render();
    expect(value(text, 'mtrts_destination_reachable{target="dark"}')).toBe(0);
    expect(value(text, 'mtrts_destination_probes_total{target="dark"}')).toBe(0);
    for (let c = 1; c <= 4; c++) {
      m.onEvent({ type: 'probe-lost', target: 'dark', at: now, ttl: 1, reason: 'no-reply' });
      m.onEvent({
        type: 'cycle-done',
        target: 'dark',
        at: now,
        cycle: c,
        pathId: '0000000000000000',
        destinationTtl: undefined,
        reached: false,
      });
      now += 1000;
    }
    text = await m.render();
    expect(value(text, 'mtrts_destination_probes_total{target="dark"}')).toBe(3);
    expect(value(text, 'mtrts_destination_replies_total{target="dark"}')).toBe(0);
    expect(value(text, 'mtrts_destination_reachable{target="dark"}')).toBe(0);
    expect(value(text, 'mtrts_path_hops{target="dark"}')).toBe(0);
  });

  it('turns reachable to 0 three intervals plus the timeout after the last answer', async () => {
    let now = 0;
    const m = new ExporterMetrics({ perHop: 'off', window: 60, now: () => now });
    m.addTarget(spec('t'));
    m.onEvent(answered('t', 0, 1, 1));
    now = 5000;
    expect(value(await m.render(), 'mtrts_destination_reachable{target="t"}')).toBe(1);
    now = 5001;
    expect(value(await m.render(), 'mtrts_destination_reachable{target="t"}')).toBe(0);
  });

  it('counts our own failures as errors, never as loss', async () => {
    const m = new ExporterMetrics({ perHop: 'counters', window: 60 });
    m.addTarget(spec('t'));
    m.onEvent({ type: 'cycle-done', target: 't', at: 0, cycle: 1, pathId: 'x', destinationTtl: 1, reached: true });
    m.onEvent({ type: 'probe-lost', target: 't', at: 1, ttl: 1, reason: 'probes-exhausted' });
    m.onEvent({ type: 'probe-lost', target: 't', at: 1, ttl: 1, reason: 'send-failed', detail: 'network-down' });
    m.onEvent({ type: 'probe-lost', target: 't', at: 1, ttl: 1, reason: 'no-reply', detail: 'packet process exited' });
    m.onEvent({ type: 'target-error', target: 't', at: 1, kind: 'resolve', message: 'Failed to resolve host' });
    const text = await m.render();
    expect(value(text, 'mtrts_probe_errors_total{target="t",kind="probes_exhausted"}')).toBe(1);
    expect(value(text, 'mtrts_probe_errors_total{target="t",kind="send_failed"}')).toBe(1);
    expect(value(text, 'mtrts_probe_errors_total{target="t",kind="daemon_exit"}')).toBe(1);
    expect(value(text, 'mtrts_probe_errors_total{target="t",kind="resolve"}')).toBe(1);
    expect(value(text, 'mtrts_destination_probes_total{target="t"}')).toBe(0);
    expect(text).not.toContain('mtrts_hop_probes_total{');
  });

  it('counts path changes, but not the first path found', async () => {
    const m = new ExporterMetrics({ perHop: 'off', window: 60 });
    m.addTarget(spec('t'));
    const change = (prev: (string | null)[], cur: (string | null)[], id: string): void =>
      m.onEvent({
        type: 'path-changed',
        target: 't',
        at: 0,
        previous: { id: 'p', responders: prev },
        current: { id, responders: cur },
      });
    change([null, null], ['10.0.1.2', DEST], '1111111111111111');
    change(['10.0.1.2', DEST], ['10.0.9.2', DEST], '2222222222222222');
    const text = await m.render();
    expect(value(text, 'mtrts_path_changes_total{target="t"}')).toBe(1);
    expect(value(text, 'mtrts_path_id{target="t"}')).toBe(0x222222222222);
  });

  it('computes window gauges at the full level (quantiles in seconds, responders)', async () => {
    let now = 100_000;
    const m = new ExporterMetrics({ perHop: 'full', window: 10, now: () => now });
    m.addTarget(spec('t'));
    const rtts = [1, 2, 3, 4, 100];
    rtts.forEach((rtt, i) => m.onEvent(answered('t', now + i, 2, rtt, i === 4 ? '10.0.9.2' : '10.0.2.2')));
    let text = await m.render();
    expect(value(text, 'mtrts_hop_rtt_min_seconds{target="t",ttl="2"}')).toBeCloseTo(0.001);
    expect(value(text, 'mtrts_hop_rtt_median_seconds{target="t",ttl="2"}')).toBeCloseTo(0.003);
    expect(value(text, 'mtrts_hop_rtt_p95_seconds{target="t",ttl="2"}')).toBeCloseTo(0.0808);
    expect(value(text, 'mtrts_hop_responders{target="t",ttl="2"}')).toBe(2);
    now += 20_000; // the window has passed
    text = await m.render();
    expect(value(text, 'mtrts_hop_responders{target="t",ttl="2"}')).toBe(0);
    expect(text).toContain('mtrts_hop_rtt_median_seconds{target="t",ttl="2"} Nan'); // prom-client's NaN
  });

  it('counts answers from beyond the destination for the destination, not as hops', async () => {
    const m = new ExporterMetrics({ perHop: 'counters', window: 60 });
    m.addTarget(spec('t'));
    for (const ttl of [5, 4, 6]) m.onEvent(answered('t', 0, ttl, 1));
    const text = await m.render();
    expect(value(text, 'mtrts_destination_replies_total{target="t"}')).toBe(3);
    expect(value(text, 'mtrts_hop_probes_total{target="t",ttl="4"}')).toBe(1);
    expect(value(text, 'mtrts_hop_probes_total{target="t",ttl="5"}')).toBe(1); // came first: 4 was not known yet
    expect(text).not.toContain('ttl="6"');
  });

  it('exports the raised verdicts: every rule 0/1 with its severity, hop and confidence while raised', async () => {
    const m = new ExporterMetrics({ perHop: 'counters', window: 60, diagnosis: true });
    m.addTarget(spec('a'));
    let text = await m.render();
    expect(text.split('\n').filter((l) => l.startsWith('mtrts_diagnosis{'))).toHaveLength(RULE_IDS.length);
    expect(value(text, 'mtrts_diagnosis{target="a",rule="forwarding-loss",severity="problem"}')).toBe(0);
    expect(text).not.toMatch(/^mtrts_diagnosis_(hop|confidence)\{/m);
    m.onEvent({
      type: 'diagnosis',
      target: 'a',
      at: 0,
      active: [
        { rule: 'path-changed', hop: undefined, confidence: 1 },
        { rule: 'forwarding-loss', hop: 3, confidence: 0.97 },
        { rule: 'forwarding-loss', hop: 2, confidence: 0.9 },
      ],
    });
    text = await m.render();
    expect(value(text, 'mtrts_diagnosis{target="a",rule="forwarding-loss",severity="problem"}')).toBe(1);
    expect(value(text, 'mtrts_diagnosis_hop{target="a",rule="forwarding-loss"}')).toBe(2);
    expect(value(text, 'mtrts_diagnosis_confidence{target="a",rule="forwarding-loss"}')).toBe(0.9);
    expect(value(text, 'mtrts_diagnosis{target="a",rule="path-changed",severity="info"}')).toBe(1);
    expect(value(text, 'mtrts_diagnosis_hop{target="a",rule="path-changed"}')).toBe(0);
    expect(value(text, 'mtrts_diagnosis{target="a",rule="latency-step",severity="problem"}')).toBe(0);
    // cleared: back to 0, hop and confidence gone
    m.onEvent({
      type: 'diagnosis',
      target: 'a',
      at: 1,
      active: [{ rule: 'path-changed', hop: undefined, confidence: 1 }],
    });
    text = await m.render();
    expect(value(text, 'mtrts_diagnosis{target="a",rule="forwarding-loss",severity="problem"}')).toBe(0);
    expect(value(text, 'mtrts_diagnosis_hop{target="a",rule="forwarding-loss"}')).toBeUndefined();
    expect(value(text, 'mtrts_diagnosis_confidence{target="a",rule="forwarding-loss"}')).toBeUndefined();
    m.removeTarget('a');
    expect(await m.render()).not.toMatch(/^mtrts_diagnosis/m);
  });

  it("ignores events of targets it does not know (a removed target's late answers)", async () => {
    const m = new ExporterMetrics({ perHop: 'counters', window: 60 });
    feed(m, trace('ghost', 0, 1));
    expect(await m.render()).not.toContain('ghost');
  });
});

describe('series budget per target', () => {
  // target level: probes 1 + replies 1 + histogram (20 buckets + Inf + sum + count) 23 + reachable 1
  // + path_hops 1 + path_id 1 + path_changes 1 + probe_errors 6 kinds + target_info 1 = 36;
  // per hop: counters 2 (probes, replies), full 6 (+ min, median, p95, responders);
  // diagnosis (on by default): one mtrts_diagnosis per rule (14), + hop and confidence per raised rule
  const BASE = 36;
  const DIAGNOSIS = 14;
  const PER_HOP: Record<PerHopLevel, number> = { off: 0, counters: 2, full: 6 };

  for (const level of ['off', 'counters', 'full'] as const) {
    it(`is ${BASE} + ${PER_HOP[level]} per hop at per_hop: ${level}, for each of N targets`, async () => {
      const m = new ExporterMetrics({ perHop: level, window: 60 });
      const n = 5;
      for (let i = 0; i < n; i++) {
        m.addTarget(spec(`t${i}`, ', labels: {site: x}'));
        feed(m, trace(`t${i}`, 0, 1));
        feed(m, trace(`t${i}`, 1000, 2));
      }
      const text = await m.render();
      for (let i = 0; i < n; i++) expect(seriesOf(text, `t${i}`)).toHaveLength(BASE + 4 * PER_HOP[level]);
      const all = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
      expect(all).toHaveLength(n * (BASE + 4 * PER_HOP[level]));
    });
  }

  it(`is ${DIAGNOSIS} more with diagnosis, and 2 more per raised rule`, async () => {
    expect(RULE_IDS).toHaveLength(DIAGNOSIS);
    const m = new ExporterMetrics({ perHop: 'counters', window: 60, diagnosis: true });
    const n = 5;
    for (let i = 0; i < n; i++) {
      m.addTarget(spec(`t${i}`));
      feed(m, trace(`t${i}`, 0, 1));
    }
    m.onEvent({ type: 'diagnosis', target: 't0', at: 0, active: [{ rule: 'latency-step', hop: 2, confidence: 0.99 }] });
    const text = await m.render();
    expect(seriesOf(text, 't0')).toHaveLength(BASE + 4 * 2 + DIAGNOSIS + 2);
    for (let i = 1; i < n; i++) expect(seriesOf(text, `t${i}`)).toHaveLength(BASE + 4 * 2 + DIAGNOSIS);
  });

  it('drops every series of a removed target and keeps the others as they are', async () => {
    const m = new ExporterMetrics({ perHop: 'full', window: 60 });
    m.addTarget(spec('keep', ', labels: {site: a}'));
    m.addTarget(spec('gone', ', labels: {rack: b}'));
    feed(m, trace('keep', 0, 1));
    feed(m, trace('gone', 0, 1));
    // the kept target's series but target_info and the window gauges
    const kept = (text: string): string[] =>
      seriesOf(text, 'keep').filter(
        (l) => !l.startsWith('mtrts_target_info') && !l.startsWith('mtrts_hop_rtt') && !l.startsWith('mtrts_hop_responders'),
      );
    const before = kept(await m.render());
    m.removeTarget('gone');
    const text = await m.render();
    expect(text).not.toContain('"gone"');
    expect(text).not.toContain('rack=');
    expect(kept(text)).toEqual(before);
    expect(text).toMatch(/mtrts_target_info\{[^}]*site="a"\} 1/);
  });
});

const promtool = spawnSync('promtool', ['--version']).status === 0;
const skipPromtool = requirements('promtool check metrics', [
  [promtool, "needs promtool (Debian's prometheus package)"],
]);

describe.skipIf(skipPromtool !== undefined)('promtool', () => {
  it("accepts the exposition text of every level, with the exporter's own metrics", async () => {
    for (const level of ['off', 'counters', 'full'] as const) {
      const m = new ExporterMetrics({ perHop: level, window: 60, diagnosis: level !== 'off' });
      m.addTarget(spec('a', ', labels: {site: x}'));
      m.addTarget(spec('b'));
      feed(m, trace('a', 0, 1));
      feed(m, trace('b', 0, 1, [2]));
      m.onEvent({
        type: 'diagnosis',
        target: 'b',
        at: 0,
        active: [{ rule: 'forwarding-loss', hop: 2, confidence: 0.95 }],
      });
      const self = new SelfMetrics({ version: '0.1.0', targets: () => 2, inFlight: () => 0, processMetrics: true });
      const text = (await m.render()) + (await self.render());
      const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(r.stdout + r.stderr, `level ${level}`).toBe('');
      expect(r.status).toBe(0);
    }
  });
});
