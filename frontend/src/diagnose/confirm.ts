// Active confirmation (--confirm): when a verdict cannot tell two explanations apart from the trace alone,
// probe to tell them apart, within a small stated budget. Pure: what to probe (a plan), and what a probe
// run's snapshot says (AlternateEvidence); the CLI runs the plan through the engine.
//
// The plans (at most CONFIRM_TOTAL_BUDGET probes per target, stated on stderr in -r / -w):
//   - path-breaks in an ICMP or UDP trace, and loss only at the destination: TCP probes to the destination
//     (the user's -P, else port 443) at the TTLs just beyond the last answering hop. If the destination
//     answers TCP, the trace's silence was filtering (destination-drops-icmp / icmp-filtered-beyond);
//     if not, the break is confirmed. At most CONFIRM_BUDGET probes.
//   - icmp-rate-limited, until pings checked it: the suspect hop pinged directly (ICMP echo to its own
//     address), HOP_PINGS probes at a slow rate and HOP_PINGS at a fast one (Guo & Heidemann's two-rate
//     test): echo answered where the trace's Time Exceeded are not, or fewer answers at the faster rate, is
//     the router limiting its answers; answers lost at the slow rate too are not a rate limit. The trace
//     alone cannot tell these apart: its confidence is that the hop answers less than it lets through (the
//     rule needs the 95% intervals apart, so it is never below UNCERTAIN), not that a limit is the cause.
//   - mtu (ICMP and UDP traces, IPv4 and IPv6, when the packet program has the `dont-fragment` extension):
//     MTU_PROBES probes of MTU_PROBE_SIZE bytes with don't-fragment (IPv4's DF bit; IPv6's IPV6_DONTFRAG,
//     so this host does not fragment them either: IPv6 routers never do), in the trace's protocol, at the
//     destination's TTL. A router whose next link is smaller answers "fragmentation needed" (IPv4) or
//     "packet too big" (IPv6) with its MTU (icmp-detail); large probes lost where small ones pass are a
//     black hole. 1500 bytes is above IPv6's minimum MTU of 1280, so the check means the same on both.

import type { SnapshotLike } from './adapter.js';
import type { AlternateEvidence, PathEvidence, ProbeProtocol, Verdict } from './types.js';
import { UNCERTAIN } from './types.js';

/** Probes the TCP confirmation may send, at most. */
export const CONFIRM_BUDGET = 40;
/** The don't-fragment probes of the mtu check, and their size (an Ethernet MTU: what most paths should carry). */
export const MTU_PROBES = 10;
export const MTU_PROBE_SIZE = 1500;
/** Direct pings of a suspect hop per rate, and the two rates (seconds between probes). */
export const HOP_PINGS = 10;
export const SLOW_PING_INTERVAL = 0.5;
export const FAST_PING_INTERVAL = 0.02;
/** All the probes --confirm may add for one target. */
export const CONFIRM_TOTAL_BUDGET = CONFIRM_BUDGET + MTU_PROBES + 2 * HOP_PINGS;

export interface ConfirmPlan {
  readonly why: string;
  readonly protocol: ProbeProtocol;
  readonly port: number;
  readonly firstTtl: number;
  readonly maxTtl: number;
  readonly cycles: number;
  readonly interval: number;
  /** firstTtl..maxTtl times cycles: within CONFIRM_BUDGET */
  readonly probes: number;
  /** direct pings: the hop's own address (probed instead of the target) and its TTL in the trace */
  readonly direct?: { readonly address: string; readonly hopTtl: number } | undefined;
  /** the mtu check: bytes per probe and don't-fragment (undefined: the trace's size, no DF) */
  readonly size?: number | undefined;
  readonly dontFragment?: boolean | undefined;
}

/**
 * Direct pings of the hop an icmp-rate-limited verdict names: ICMP echo to its own address at a slow and a
 * fast rate (two plans). None when no such verdict, the hop's address is unknown, or it was pinged already.
 * Not gated on the verdict's confidence: that is the trace's confidence that the hop answers less than it
 * lets through (0.98 or more whenever the rule holds), while what the pings check is why.
 */
export function hopPingPlans(verdicts: readonly Verdict[], path: PathEvidence): ConfirmPlan[] {
  const pinged = new Set((path.alternates ?? []).flatMap((a) => (a.direct !== undefined ? [a.direct.address] : [])));
  const v = verdicts.find(
    (x) =>
      x.rule === 'icmp-rate-limited' &&
      x.hop !== undefined &&
      x.facts['responder'] !== undefined &&
      !pinged.has(x.facts['responder']),
  );
  const address = v?.facts['responder'];
  if (v === undefined || address === undefined) return [];
  const ttl = Math.min(path.maxTtl, 64);
  return [SLOW_PING_INTERVAL, FAST_PING_INTERVAL].map((interval) => ({
    why: `icmp-rate-limited at hop ${v.hop} (confidence ${v.confidence.toFixed(2)}): checking for a rate limit`,
    protocol: 'icmp' as const,
    port: 0,
    firstTtl: ttl,
    maxTtl: ttl,
    cycles: HOP_PINGS,
    interval,
    probes: HOP_PINGS,
    direct: { address, hopTtl: v.hop! },
  }));
}

/**
 * The mtu check: MTU_PROBES don't-fragment probes of MTU_PROBE_SIZE bytes in the trace's protocol, at the
 * destination's TTL (or one beyond the last hop that answered), over IPv4 or IPv6. Undefined where it cannot
 * tell anything: TCP traces (their probes go through connect(), where the extension cannot set DF), or
 * probes already this large.
 */
export function mtuPlan(path: PathEvidence, interval: number): ConfirmPlan | undefined {
  if (path.protocol !== 'icmp' && path.protocol !== 'udp') return undefined;
  if (path.probeSize >= MTU_PROBE_SIZE) return undefined;
  let last = 0;
  for (const h of path.hops) if (h.window.received > 0) last = h.ttl;
  const ttl = path.destination.ttl ?? Math.min(last + 1, path.maxTtl);
  if (ttl < 1) return undefined;
  return {
    why: `mtu check: ${MTU_PROBE_SIZE}-byte probes with don't-fragment`,
    protocol: path.protocol,
    port: 0,
    firstTtl: ttl,
    maxTtl: ttl,
    cycles: MTU_PROBES,
    interval: Math.max(interval, 0.1),
    probes: MTU_PROBES,
    size: MTU_PROBE_SIZE,
    dontFragment: true,
  };
}

const CONFIRMABLE = new Set(['path-breaks', 'destination-drops-icmp']);

/** What to probe for a target's verdicts, or undefined when nothing is uncertain in a way probing settles. */
export function confirmPlan(
  verdicts: readonly Verdict[],
  path: PathEvidence,
  port: number | undefined,
  interval: number,
): ConfirmPlan | undefined {
  const v = verdicts.find((x) => CONFIRMABLE.has(x.rule) && x.confidence < UNCERTAIN);
  if (v === undefined || path.protocol === 'tcp') return undefined;
  // a break: the TTLs beyond the last answering hop (where the destination may be);
  // loss at the destination only: its own TTL, often enough to compare loss
  const from = v.rule === 'path-breaks' ? (v.hop ?? 0) + 1 : (v.hop ?? 1);
  const span = Math.min(v.rule === 'path-breaks' ? 8 : 2, path.maxTtl - from + 1);
  if (span < 1) return undefined;
  const cycles = Math.max(1, Math.floor(CONFIRM_BUDGET / span));
  return {
    why: `${v.rule} at hop ${v.hop ?? '-'} is uncertain (confidence ${v.confidence.toFixed(2)})`,
    protocol: 'tcp',
    port: port !== undefined && port > 0 ? port : 443,
    firstTtl: from,
    maxTtl: from + span - 1,
    cycles,
    interval: Math.max(interval, 0.1),
    probes: span * cycles,
  };
}

/** What a confirmation run found, as evidence for the rules. */
export function alternateOf(plan: ConfirmPlan, s: SnapshotLike, probeSize: number): AlternateEvidence {
  const target = s.target.address;
  let sent = 0;
  let received = 0;
  let destinationTtl: number | undefined;
  let lastAnsweredTtl: number | undefined;
  let reportedMtu: AlternateEvidence['reportedMtu'];
  if (plan.direct !== undefined) {
    let pings = 0;
    let answers = 0;
    for (const h of s.hops) {
      if (h.ttl < plan.firstTtl || h.ttl > plan.maxTtl) continue;
      const done = h.samples.filter((x) => x.state !== 'pending');
      pings += done.length;
      answers += done.filter((x) => x.state === 'reply' && x.responder === plan.direct!.address).length;
    }
    return {
      protocol: plan.protocol,
      size: probeSize,
      dontFragment: false,
      toDestination: { sent: pings, received: answers },
      direct: { ...plan.direct, interval: plan.interval },
    };
  }
  for (const h of s.hops) {
    if (h.ttl < plan.firstTtl || h.ttl > plan.maxTtl) continue;
    for (const r of h.responders) {
      const mtu = r.reply.mtu;
      if (r.reply.kind === 'unreachable' && mtu !== undefined && reportedMtu === undefined)
        reportedMtu = { mtu, ttl: h.ttl, address: r.address };
    }
    const done = h.samples.filter((x) => x.state !== 'pending');
    const fromDest = done.filter((x) => x.state === 'reply' && x.responder === target).length;
    if (done.some((x) => x.state === 'reply')) lastAnsweredTtl = h.ttl;
    if (fromDest > 0 && destinationTtl === undefined) destinationTtl = h.ttl;
    // probes that had enough TTL to reach the destination: at and beyond its TTL (all of them when unknown)
    if (destinationTtl === undefined || h.ttl >= destinationTtl) {
      if (destinationTtl !== undefined && h.ttl === destinationTtl) {
        sent = done.length;
        received = fromDest;
      } else if (destinationTtl === undefined) {
        sent += done.length;
      }
    }
  }
  return {
    protocol: plan.protocol,
    port: plan.port > 0 ? plan.port : undefined,
    size: plan.size ?? probeSize,
    dontFragment: plan.dontFragment === true,
    toDestination: { sent, received },
    destinationTtl,
    lastAnsweredTtl,
    ...(reportedMtu !== undefined ? { reportedMtu } : {}),
  };
}
