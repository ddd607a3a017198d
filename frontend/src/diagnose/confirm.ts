// Active confirmation (--confirm): when a verdict cannot tell two explanations apart from the trace alone,
// probe to tell them apart, within a small stated budget. Pure: what to probe (a plan), and what a probe
// run's snapshot says (AlternateEvidence); the CLI runs the plan through the engine.
//
// Today (front-end only, no daemon extension):
//   - path-breaks in an ICMP or UDP trace, and loss only at the destination: TCP probes to the destination
//     (the user's -P, else port 443) at the TTLs just beyond the last answering hop. If the destination
//     answers TCP, the trace's silence was filtering (destination-drops-icmp / icmp-filtered-beyond);
//     if not, the break is confirmed.
// Needs the daemon extension (not done): large probes with don't-fragment for `mtu`, the ICMP code for
// `destination-unreachable`.

import type { SnapshotLike } from './adapter.js';
import type { AlternateEvidence, PathEvidence, ProbeProtocol, Verdict } from './types.js';
import { UNCERTAIN } from './types.js';

/** Probes one confirmation may send, at most. */
export const CONFIRM_BUDGET = 40;

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
  for (const h of s.hops) {
    if (h.ttl < plan.firstTtl || h.ttl > plan.maxTtl) continue;
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
    port: plan.port,
    size: probeSize,
    dontFragment: false,
    toDestination: { sent, received },
    destinationTtl,
    lastAnsweredTtl,
  };
}
