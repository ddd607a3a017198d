// The versioned machine contract beside mtr's: how engine events and snapshots are written as JSON for
// --ndjson and --json-rich. snake_case keys, numbers as numbers, times in ms rounded to the µs, instants
// as RFC 3339 UTC with µs. The schemas in frontend/schema/ describe exactly these shapes: a change here
// is a change there (and a new schema_version when it is not additive).

import type { MplsLabel } from '@mtr-ts/protocol';
import { assertNever } from '@mtr-ts/protocol';
import type { EngineEvent, ProbeRef } from '../engine/events.js';
import type { TargetOptions } from '../engine/types.js';
import type { Names } from '../render/model.js';
import type {
  FlowSnapshot,
  HopSnapshot,
  PathSnapshot,
  Percentiles,
  ReplyInfo,
  ResponderSnapshot,
  RttView,
  TargetRef,
  TargetSnapshot,
} from '../stats/types.js';

export const SCHEMA_VERSION = 1;

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

/** ms rounded to the µs */
export const ms = (x: number): number => Math.round(x * 1000) / 1000;

/** RFC 3339, UTC, with microseconds: 2026-12-02T17:04:05.123456Z */
export function rfc3339(epochMs: number): string {
  const us = Math.round(epochMs * 1000);
  const whole = Math.floor(us / 1000);
  const micro = us - whole * 1000;
  const iso = new Date(whole).toISOString(); // ...T17:04:05.123Z
  return iso.slice(0, -1) + String(micro).padStart(3, '0') + 'Z';
}

const orNull = <T extends Json>(x: T | undefined): T | null => (x === undefined ? null : x);

export function targetJson(t: TargetRef): Obj {
  return { id: t.id, name: t.name, address: orNull(t.address), family: orNull(t.family) };
}

export function optionsJson(o: TargetOptions): Obj {
  return {
    family: orNull(o.family),
    protocol: o.protocol,
    port: o.port,
    local_port: o.localPort,
    local_address: orNull(o.localAddress),
    interface: orNull(o.interfaceName),
    psize: o.psize,
    bitpattern: o.bitpattern,
    tos: o.tos,
    mark: orNull(o.mark),
    timeout_s: o.timeout,
    interval_s: o.interval,
    gracetime_s: o.gracetime,
    cycles: orNull(o.cycles),
    first_ttl: o.firstTtl,
    max_ttl: o.maxTtl,
    max_unknown: o.maxUnknown,
    window_size: o.windowSize,
    ring_size: o.ringSize,
    ...(o.flows === undefined ? {} : { flows: o.flows }),
  };
}

export const mplsJson = (ls: readonly MplsLabel[]): Json[] =>
  ls.map((l) => ({ label: l.label, tc: l.tc, s: l.bottomOfStack, ttl: l.ttl }));

const replyJson = (r: ReplyInfo): Obj => ({ kind: r.kind, code: orNull(r.code) });

const probeJson = (p: ProbeRef): Obj => ({
  probe: p.probe,
  token: p.token,
  ttl: p.ttl,
  cycle: p.cycle,
  flow: orNull(p.flow),
});

const percentilesJson = (p: Percentiles | undefined): Obj | null =>
  p === undefined ? null : { p50: ms(p.p50), p90: ms(p.p90), p95: ms(p.p95), p99: ms(p.p99) };

export function rttJson(v: RttView): Obj {
  return {
    sent: v.sent,
    received: v.received,
    in_flight: v.inFlight,
    drop: v.drop,
    loss_percent: ms(v.lossPercent),
    last_ms: ms(v.last),
    best_ms: ms(v.best),
    avg_ms: ms(v.avg),
    worst_ms: ms(v.worst),
    stdev_ms: ms(v.stdev),
    gmean_ms: ms(v.gmean),
    jitter_ms: ms(v.jitter),
    javg_ms: ms(v.javg),
    jmax_ms: ms(v.jmax),
    jint_ms: ms(v.jint),
    percentiles_ms: percentilesJson(v.percentiles),
  };
}

const sequenceJson = (s: readonly (string | null)[]): Json[] => [...s];

/** One engine event as an NDJSON object (without the line's newline). */
export function eventJson(e: EngineEvent, names: Names): Obj {
  const head: Obj = {
    schema_version: SCHEMA_VERSION,
    type: e.type.replace(/-/g, '_'),
    seq: e.seq,
    ts: rfc3339(e.ts),
    target: 'target' in e && e.target !== undefined ? targetJson(e.target) : null,
  };
  switch (e.type) {
    case 'target-added':
      return { ...head, options: optionsJson(e.options) };
    case 'target-started':
      return { ...head, options: optionsJson(e.options), local_address: orNull(e.localAddress) };
    case 'probe-sent':
      return { ...head, probe: probeJson(e.probe), size: e.size, bit_pattern: e.bitPattern };
    case 'probe-answered':
      return {
        ...head,
        probe: probeJson(e.probe),
        reply: replyJson(e.reply),
        responder: e.responder,
        rtt_ms: ms(e.rtt),
        mpls: mplsJson(e.mpls),
        destination: e.destination,
        new_responder: e.newResponder,
        ...(e.nat === true ? { nat: true } : {}),
      };
    case 'probe-lost':
      return { ...head, probe: probeJson(e.probe), reason: e.reason, detail: orNull(e.detail) };
    case 'hop-changed':
      return { ...head, ttl: e.ttl, added: e.added, responders: [...e.responders], cycle: e.cycle };
    case 'path-changed':
      return {
        ...head,
        cycle: e.cycle,
        previous: { id: e.previous.id, responders: sequenceJson(e.previous.responders) },
        current: { id: e.current.id, responders: sequenceJson(e.current.responders) },
        changes: e.changes,
      };
    case 'cycle-done':
      return {
        ...head,
        cycle: e.cycle,
        of: orNull(e.of),
        path_id: e.pathId,
        destination_ttl: orNull(e.destinationTtl),
        reached: e.reached,
        end: e.end,
      };
    case 'target-paused':
    case 'target-resumed':
      return head;
    case 'target-reset':
      return { ...head, reason: e.reason };
    case 'target-reconfigured':
      return { ...head, options: optionsJson(e.options), restarted: e.restarted };
    case 'target-done':
      return { ...head, reason: e.reason };
    case 'error':
      return { ...head, stage: e.stage, message: e.message, code: orNull(e.code) };
    case 'warning':
      return { ...head, code: e.code, message: e.message };
    case 'packet-process-started':
      return { ...head, pid: orNull(e.pid), restarts: e.restarts };
    case 'packet-process-exited':
      return { ...head, pid: orNull(e.pid), message: e.message, restarting: e.restarting };
    case 'name-resolved':
      return {
        ...head,
        address: e.address,
        name: orNull(names.host(e.address)),
        ipinfo: orNull(names.ipinfo(e.address)),
      };
    default:
      return assertNever(e);
  }
}

function responderJson(r: ResponderSnapshot, names: Names): Obj {
  return {
    address: r.address,
    name: orNull(names.host(r.address)),
    ipinfo: orNull(names.ipinfo(r.address)),
    stats: rttJson(r.stats),
    mpls: mplsJson(r.mpls),
    reply: replyJson(r.reply),
    first_seen: rfc3339(r.firstSeen),
    last_seen: rfc3339(r.lastSeen),
    first_cycle: r.firstCycle,
    last_cycle: r.lastCycle,
  };
}

export function hopJson(h: HopSnapshot, names: Names): Obj {
  return {
    ttl: h.ttl,
    address: orNull(h.address),
    name: h.address === undefined ? null : orNull(names.host(h.address)),
    ipinfo: h.address === undefined ? null : orNull(names.ipinfo(h.address)),
    reply: h.reply === undefined ? null : replyJson(h.reply),
    error: orNull(h.error),
    last_probe: h.lastProbe,
    mpls: mplsJson(h.mpls),
    lifetime: rttJson(h.lifetime),
    window: rttJson(h.window),
    responders: h.responders.map((r) => responderJson(r, names)),
    responders_overflow: h.respondersOverflow,
    ...(h.flows === undefined ? {} : { flows: h.flows.map(flowJson), balancing: orNull(h.balancing), nat: h.nat ?? 0 }),
  };
}

function flowJson(f: FlowSnapshot): Obj {
  return {
    flow: f.flow,
    responder: orNull(f.responder),
    responders: [...f.responders],
    changes: f.changes,
    stats: rttJson(f.stats),
    members: (f.members ?? []).map((m) => ({ address: m.address, stats: rttJson(m.stats) })),
  };
}

export function pathJson(p: PathSnapshot): Obj {
  return {
    id: orNull(p.id),
    responders: sequenceJson(p.responders),
    changes: p.changes,
    last_change_cycle: orNull(p.lastChangeCycle),
    destination_ttl: orNull(p.destinationTtl),
    reached: p.reached,
    end: p.end,
  };
}

/**
 * One target in the rich report. `hops` are the TTLs a report shows (mtr's range: up to the destination or
 * an unreachable hop, else one past the last answer).
 */
export function targetReportJson(
  s: TargetSnapshot,
  names: Names,
  hopRange: { from: number; to: number },
  error: string | undefined,
): Obj {
  const hops: Json[] = [];
  for (let at = hopRange.from; at < hopRange.to; at++) {
    const h = s.hops[at];
    if (h !== undefined) hops.push(hopJson(h, names));
  }
  return {
    target: targetJson(s.target),
    status: s.status,
    error: orNull(error),
    started_at: s.startTime === undefined ? null : rfc3339(s.startTime),
    options: optionsJson(s.options),
    cycles: s.cycles,
    probes: s.probes,
    window_size: s.options.windowSize,
    path: pathJson(s.path),
    hops,
  };
}
