// The rules: one window of a target's per-hop evidence in, verdicts out. Pure: no clock, no I/O, no state
// (persistence across windows is tracker.ts's job).
//
// Loss is decided with intervals, not raw percentages. The loss that really happens on the way to hop k is
// bounded by the lowest loss at hop k or any later hop (a probe that reached a later hop passed hop k), so:
//   - a hop whose loss interval lies wholly above that bound answers less than it forwards: its own ICMP
//     limiting (icmp-rate-limited);
//   - a step up in the bound from one answering hop to the next is where real loss enters (forwarding-loss),
//     or, at the destination alone, the destination's own dropping (destination-drops-icmp).
// Latency uses the same envelope on the median RTT (latency-step, latency-at-one-hop). No verdict comes from
// a hop with fewer than `minSamples` finished probes; a window in which the path changed yields only
// `path-changed` (its loss and latency mix two paths).

import { MTU_PROBES } from './confirm.js';
import { confidenceFromZ, confidenceGreater, lossInterval, pct, roundConfidence, type Interval } from './interval.js';
import {
  DEFAULT_DIAGNOSE_OPTIONS,
  UNCERTAIN,
  type AlternateEvidence,
  type DiagnoseOptions,
  type HopEvidence,
  type PathEvidence,
  type RuleId,
  type Severity,
  type Verdict,
} from './types.js';

/** What the rules compute once per hop. */
interface Hop {
  readonly ttl: number;
  readonly ev: HopEvidence;
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  readonly loss: Interval;
  readonly answers: boolean;
  readonly enough: boolean;
  /** the responder with most answers, if it gave at least 80% of them */
  readonly dominant: string | undefined;
  /** the address to name the hop by (the most frequent responder) */
  readonly address: string | undefined;
  /** two or more responders with a real share each: per-packet load balancing or a change */
  readonly mixed: boolean;
  readonly isDestination: boolean;
}

export const SEVERITY: Readonly<Record<RuleId, Severity>> = {
  'icmp-rate-limited': 'info',
  'forwarding-loss': 'problem',
  'destination-drops-icmp': 'warning',
  'routing-loop': 'problem',
  'path-breaks': 'problem',
  'first-hop-silent': 'info',
  'icmp-filtered-beyond': 'info',
  'latency-step': 'problem',
  'latency-at-one-hop': 'info',
  'unstable-latency': 'warning',
  'destination-unreachable': 'problem',
  mtu: 'problem',
  'path-changed': 'info',
  'asymmetric-return': 'info',
};

/** confidence when only a probe of another kind could tell two explanations apart */
const AMBIGUOUS = 0.6;

function verdict(
  rule: RuleId,
  hop: number | undefined,
  confidence: number,
  evidence: Record<string, number>,
  facts: Record<string, string>,
  summary: string,
  advice: string,
): Verdict {
  const clean: Record<string, number> = {};
  for (const [k, v] of Object.entries(evidence)) if (Number.isFinite(v)) clean[k] = round(v);
  return {
    rule,
    hop,
    confidence: roundConfidence(confidence),
    severity: SEVERITY[rule],
    evidence: clean,
    facts,
    summary,
    advice,
  };
}

function round(v: number): number {
  return Math.round(v * 10000) / 10000;
}

const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + ' ms';

function lossText(h: Hop): string {
  return `${pct(h.loss.p)} (${h.lost} of ${h.sent}; 95% interval ${pct(h.loss.lo)}-${pct(h.loss.hi)})`;
}

function hopName(h: Hop): string {
  return h.address === undefined ? `hop ${h.ttl}` : `hop ${h.ttl} (${h.address})`;
}

function prepare(path: PathEvidence, o: DiagnoseOptions): Hop[] {
  const destTtl = path.destination.reached ? path.destination.ttl : undefined;
  const out: Hop[] = [];
  for (const ev of path.hops) {
    if (destTtl !== undefined && ev.ttl > destTtl) break;
    const sent = Math.max(0, ev.window.sent);
    const received = Math.min(sent, Math.max(0, ev.window.received));
    const total = ev.responders.reduce((a, r) => a + r.count, 0);
    const sorted = [...ev.responders].sort((a, b) => b.count - a.count);
    const top = sorted[0];
    const share = (c: number): boolean => c >= 2 && c >= 0.1 * total;
    out.push({
      ttl: ev.ttl,
      ev,
      sent,
      received,
      lost: sent - received,
      loss: lossInterval(sent, received),
      answers: received > 0,
      enough: sent >= o.minSamples,
      dominant: top !== undefined && total > 0 && top.count >= 0.8 * total ? top.address : undefined,
      address: top?.address,
      mixed: sorted.filter((r) => share(r.count)).length >= 2,
      isDestination: destTtl !== undefined && ev.ttl === destTtl,
    });
  }
  return out;
}

/** Every verdict the evidence of one window supports. */
export function diagnose(path: PathEvidence, options: Partial<DiagnoseOptions> = {}): Verdict[] {
  const o: DiagnoseOptions = { ...DEFAULT_DIAGNOSE_OPTIONS, ...options };
  if (path.pathChanged) return [pathChanged(path)];
  const hops = prepare(path, o);
  const loop = routingLoop(path, hops);
  if (loop !== undefined) return [loop];

  const out: Verdict[] = [];
  const push = (v: Verdict | undefined): void => {
    if (v !== undefined) out.push(v);
  };
  const unreachable = destinationUnreachable(path, hops);
  push(unreachable);
  push(mtuFromAnswers(hops));
  if (unreachable === undefined) for (const v of pathEnd(path, hops, o)) out.push(v);
  push(firstHopSilent(path, hops, o));
  for (const v of lossRules(path, hops, o)) out.push(v);
  for (const v of latencyRules(path, hops, o)) out.push(v);
  push(unstableLatency(hops, o));
  push(mtuFromAlternates(path, hops, o));
  push(asymmetricReturn(hops));
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// path-changed

function pathChanged(path: PathEvidence): Verdict {
  const changes = path.changes ?? [];
  const first = [...changes].sort((a, b) => a.ttl - b.ttl)[0];
  const facts: Record<string, string> = {};
  let what = 'the responder at some hop changed';
  if (first !== undefined) {
    facts['from'] = first.from ?? '???';
    facts['to'] = first.to ?? '???';
    what = `hop ${first.ttl} was ${first.from ?? '???'} and is now ${first.to ?? '???'}`;
  }
  return verdict(
    'path-changed',
    first?.ttl,
    0.99,
    { changes: changes.length, windowCycles: path.windowCycles },
    facts,
    `The path changed during this window: ${what}. Loss and latency figures that mix both paths are not ` +
      `judged for this window.`,
    'A routing change (failover, maintenance, traffic engineering). Once is normal; if it keeps changing, the ' +
      'route flaps: tell the operator of the hop where it changes, with the times.',
  );
}

// ---------------------------------------------------------------------------------------------------------
// routing-loop: the same routers repeat with a period until the trace ends, the destination never answers.

function routingLoop(path: PathEvidence, hops: Hop[]): Verdict | undefined {
  if (path.destination.reached || hops.length < 6) return undefined;
  const seq = hops.map((h) => (h.received >= 3 ? h.dominant : undefined));
  const last = hops.length - 1;
  for (let s = 0; s < hops.length; s++) {
    for (let p = 2; p <= 8; p++) {
      const span = last - s + 1;
      if (span < 3 * p) break;
      const cycle = seq.slice(s, s + p);
      if (cycle.some((a) => a === undefined) || new Set(cycle).size !== p) continue;
      let ok = true;
      for (let j = s; j + p <= last && ok; j++) ok = seq[j] !== undefined && seq[j] === seq[j + p];
      if (!ok || seq[last] === undefined) continue;
      const reps = span / p;
      const start = hops[s]!;
      const members = cycle as string[];
      return verdict(
        'routing-loop',
        start.ttl,
        1 - Math.pow(0.1, reps - 1),
        { period: p, firstTtl: start.ttl, lastTtl: hops[last]!.ttl, repetitions: Math.floor(reps) },
        { routers: members.join(' ') },
        `From hop ${start.ttl} on the same ${p} routers (${members.join(', ')}) answer in turn up to hop ` +
          `${hops[last]!.ttl}, and the destination never answers: a routing loop; packets to ${path.target} ` +
          `circle until their TTL runs out.`,
        `The routers ${members.join(' and ')} send traffic for this destination to each other: a routing ` +
          `misconfiguration or a route withdrawn on one side. Report it to their operator with this trace.`,
      );
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// destination-unreachable and mtu from the answers themselves

function isFragNeeded(h: Hop): boolean {
  const u = h.ev.unreachable;
  if (u === undefined) return false;
  if (u.mtu !== undefined) return true;
  return (u.icmpType === 3 && u.icmpCode === 4 && !u.kind.startsWith('icmp6')) || u.kind.startsWith('icmp6-2-');
}

function destinationUnreachable(path: PathEvidence, hops: Hop[]): Verdict | undefined {
  if (path.destination.reached) return undefined;
  for (let i = 0; i < hops.length; i++) {
    const h = hops[i]!;
    const u = h.ev.unreachable;
    if (u === undefined || u.count < 3 || isFragNeeded(h)) continue;
    // beyond it only more of the same (probes sent before the path's end was known get the same answer)
    const sameEnd = (x: Hop): boolean =>
      x.ev.unreachable !== undefined || x.ev.responders.every((r) => r.address === h.address);
    if (hops.slice(i + 1).some((x) => x.answers && !sameEnd(x))) continue;
    // the router that says so: a router answers Time Exceeded at its own TTL and "unreachable" to the
    // probes that get one TTL further, so name it by the first TTL it answered at
    const first = hops.slice(0, i).find((x) => x.address !== undefined && x.address === h.address);
    const hopNo = first?.ttl ?? h.ttl;
    const code = u.icmpCode !== undefined ? ` (ICMP type ${u.icmpType ?? '?'} code ${u.icmpCode})` : '';
    const filtered = u.icmpCode !== undefined && [9, 10, 13].includes(u.icmpCode) && path.ipVersion === 4;
    const evidence: Record<string, number> = { unreachable: u.count, received: h.received, sent: h.sent };
    if (u.icmpType !== undefined) evidence['icmpType'] = u.icmpType;
    if (u.icmpCode !== undefined) evidence['icmpCode'] = u.icmpCode;
    if (first !== undefined) evidence['answeredAtTtl'] = h.ttl;
    return verdict(
      'destination-unreachable',
      hopNo,
      1 - Math.pow(0.5, u.count),
      evidence,
      { kind: u.kind, responder: h.address ?? '???' },
      `Hop ${hopNo} (${h.address ?? '???'}) answers "destination unreachable" (${u.kind}${code}) ${u.count} ` +
        `times${first !== undefined ? ` to the probes sent one hop further (TTL ${h.ttl})` : ''}, and nothing ` +
        `answers beyond it: ${path.target} cannot be reached from here; the path ends at hop ${hopNo}.`,
      filtered
        ? `Hop ${hopNo} filters this traffic on purpose (administratively prohibited): ask its operator.`
        : `Hop ${hopNo} has no route to ${path.target} (or the destination host is down): a routing problem in ` +
            `the network of hop ${hopNo} or beyond; report it to that operator.` +
            (u.icmpCode === undefined
              ? ' (The packet program does not report the ICMP code, so the exact reason is unknown.)'
              : ''),
    );
  }
  return undefined;
}

function mtuFromAnswers(hops: Hop[]): Verdict | undefined {
  for (const h of hops) {
    if (!isFragNeeded(h)) continue;
    const u = h.ev.unreachable!;
    const evidence: Record<string, number> = { answers: u.count };
    if (u.mtu !== undefined) evidence['mtu'] = u.mtu;
    return verdict(
      'mtu',
      h.ttl,
      1 - Math.pow(0.5, u.count),
      evidence,
      { responder: h.address ?? '???' },
      `${cap(hopName(h))} reports that the probes are too big for its next link` +
        (u.mtu !== undefined ? ` (MTU ${u.mtu})` : '') +
        `: packets larger than that do not pass without fragmentation.`,
      `Larger packets need path MTU discovery to work: make sure ICMP "fragmentation needed" / "packet too big" ` +
        `reaches the senders, or lower the MTU (or TCP MSS) on this path.`,
    );
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// The end of the path: silence after hop N (path-breaks), silence between hop N and a destination that
// answers (icmp-filtered-beyond), and another protocol's probes telling the cases apart.

function otherProtocolReaches(path: PathEvidence): AlternateEvidence | undefined {
  return (path.alternates ?? []).find((a) => a.protocol !== path.protocol && a.toDestination.received > 0);
}

function otherProtocolFails(path: PathEvidence, o: DiagnoseOptions): AlternateEvidence | undefined {
  return (path.alternates ?? []).find(
    (a) =>
      a.protocol !== path.protocol &&
      a.toDestination.received === 0 &&
      a.toDestination.sent >= Math.min(o.minSamples, 10),
  );
}

function* pathEnd(path: PathEvidence, hops: Hop[], o: DiagnoseOptions): Generator<Verdict> {
  let lastIdx = -1;
  for (let i = 0; i < hops.length; i++) if (hops[i]!.answers) lastIdx = i;

  if (path.destination.reached) {
    // silence from hop N+1 up to a destination that answers: the routers' ICMP is filtered
    const destIdx = hops.findIndex((h) => h.isDestination);
    if (destIdx < 0) return;
    let n = destIdx - 1;
    while (n >= 0 && !hops[n]!.answers) n--;
    const silent = hops.slice(n + 1, destIdx);
    if (n < 0 || silent.length < 2 || !silent.every((h) => h.enough)) return;
    const before = hops[n]!;
    const minSent = Math.min(...silent.map((h) => h.sent));
    yield verdict(
      'icmp-filtered-beyond',
      before.ttl,
      1 - Math.pow(0.5, minSent),
      {
        silentFrom: before.ttl + 1,
        silentTo: hops[destIdx - 1]!.ttl,
        destinationTtl: hops[destIdx]!.ttl,
        minProbes: minSent,
      },
      { protocol: path.protocol },
      `No router answers from hop ${before.ttl + 1} to hop ${hops[destIdx - 1]!.ttl}, yet the destination ` +
        `answers at hop ${hops[destIdx]!.ttl}: the routers' ICMP Time Exceeded answers are filtered beyond ` +
        `${hopName(before)}; the path itself works.`,
      `Nothing to fix on the path for this traffic. The silent hops cannot be judged from here; to see them, ` +
        `ask whoever filters ICMP after hop ${before.ttl} (often your own edge firewall).`,
    );
    return;
  }

  const alt = otherProtocolReaches(path);
  const afterIdx = lastIdx + 1;
  const after = hops[afterIdx];
  if (after === undefined || !after.enough) return;
  if (hops.slice(afterIdx).some((h) => h.answers)) return;
  const last = lastIdx >= 0 ? hops[lastIdx]! : undefined;
  if (last !== undefined && !last.enough) return;
  const silentProbes = hops.slice(afterIdx).reduce((a, h) => a + h.sent, 0);

  if (alt !== undefined && alt.destinationTtl !== undefined) {
    const what = `${alt.protocol.toUpperCase()}${alt.port !== undefined ? ` port ${alt.port}` : ''}`;
    if (last !== undefined && alt.destinationTtl === last.ttl + 1) {
      yield verdict(
        'destination-drops-icmp',
        alt.destinationTtl,
        confidenceGreater(
          silentProbes,
          silentProbes,
          alt.toDestination.sent - alt.toDestination.received,
          alt.toDestination.sent,
        ),
        {
          silentProbes,
          otherSent: alt.toDestination.sent,
          otherReceived: alt.toDestination.received,
          destinationTtl: alt.destinationTtl,
        },
        { protocol: path.protocol, other: what },
        `The destination never answers these ${path.protocol.toUpperCase()} probes, but it answers ${what} ` +
          `probes at hop ${alt.destinationTtl} (${alt.toDestination.received} of ${alt.toDestination.sent}): it ` +
          `drops ${path.protocol.toUpperCase()} probes (a firewall on or in front of it); the path works.`,
        `Nothing is broken on the way. To measure this path, trace with the protocol the destination answers ` +
          `(mtr-ts ${alt.protocol === 'tcp' ? '-T' : alt.protocol === 'udp' ? '-u' : ''}` +
          `${alt.port !== undefined ? ` -P ${alt.port}` : ''}).`,
      );
      return;
    }
    yield verdict(
      'icmp-filtered-beyond',
      last?.ttl,
      confidenceGreater(
        silentProbes,
        silentProbes,
        alt.toDestination.sent - alt.toDestination.received,
        alt.toDestination.sent,
      ),
      {
        silentFrom: after.ttl,
        silentProbes,
        otherSent: alt.toDestination.sent,
        otherReceived: alt.toDestination.received,
        destinationTtl: alt.destinationTtl,
      },
      { protocol: path.protocol, other: what },
      `Nothing answers the ${path.protocol.toUpperCase()} trace from hop ${after.ttl} on, but ${what} probes ` +
        `reach the destination at hop ${alt.destinationTtl}: ${path.protocol.toUpperCase()} is filtered beyond ` +
        `${last !== undefined ? hopName(last) : 'this host'}; the path itself works.`,
      `Trace with the protocol that gets through (mtr-ts ${alt.protocol === 'tcp' ? '-T' : '-u'}` +
        `${alt.port !== undefined ? ` -P ${alt.port}` : ''}) to see the hops beyond.`,
    );
    return;
  }

  const failed = otherProtocolFails(path, o);
  const sure = 1 - Math.pow(0.5, after.sent);
  const evidence: Record<string, number> = { silentFrom: after.ttl, silentProbes };
  if (last !== undefined) Object.assign(evidence, { lastSent: last.sent, lastReceived: last.received });
  if (failed !== undefined) Object.assign(evidence, { otherSent: failed.toDestination.sent, otherReceived: 0 });
  const facts: Record<string, string> = { protocol: path.protocol };
  if (last?.address !== undefined) facts['lastResponder'] = last.address;
  if (failed !== undefined) facts['other'] = failed.protocol;
  if (last === undefined) {
    yield verdict(
      'path-breaks',
      undefined,
      failed !== undefined ? sure : Math.min(sure, AMBIGUOUS),
      evidence,
      facts,
      `Nothing answers at all, not even the first router (${silentProbes} probes): no route out of this host, ` +
        `a local firewall dropping the answers, or a link down at the first hop.`,
      `Check this host's own connection and firewall first (ip route; nft list ruleset).`,
    );
    return;
  }
  yield verdict(
    'path-breaks',
    last.ttl,
    failed !== undefined ? sure : Math.min(sure, AMBIGUOUS),
    evidence,
    facts,
    `Nothing answers after ${hopName(last)} (${silentProbes} probes to hop ${after.ttl} and beyond), and the ` +
      `destination never answers: the path breaks between hop ${last.ttl} and hop ${after.ttl}` +
      (failed !== undefined
        ? ` (${failed.protocol.toUpperCase()} probes do not get through either).`
        : ` - or everything beyond hop ${last.ttl} ignores ${path.protocol.toUpperCase()} probes.`),
    (failed !== undefined
      ? ''
      : `Check with another protocol first (mtr-ts -T -P 443, or --confirm): if it gets through, this is ` +
        `filtering, not a break. `) +
      `If not, hop ${last.ttl}'s forwarding, its link to the next router, or that router is down: report it ` +
      `to the operator of hop ${last.ttl} with this trace.`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// first-hop-silent

function firstHopSilent(path: PathEvidence, hops: Hop[], o: DiagnoseOptions): Verdict | undefined {
  const first = hops[0];
  if (path.firstTtl !== 1 || first === undefined || first.ttl !== 1) return undefined;
  if (first.answers || first.sent < o.minSamples) return undefined;
  const later = hops.slice(1).find((h) => h.answers && h.enough);
  if (later === undefined) return undefined;
  return verdict(
    'first-hop-silent',
    1,
    1 - Math.pow(0.5, first.sent),
    { sent: first.sent, received: 0, laterTtl: later.ttl, laterReceived: later.received },
    {},
    `Your first router (hop 1) never answers (${first.sent} probes), while ${hopName(later)} does: the local ` +
      `gateway does not send ICMP Time Exceeded; traffic passes through it.`,
    `Nothing to fix: a firewall or home router setting. If you want to see it, allow outgoing ICMP ` +
      `Time Exceeded on the gateway.`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Loss: the downstream envelope

function* lossRules(path: PathEvidence, hops: Hop[], o: DiagnoseOptions): Generator<Verdict> {
  const R = hops.filter((h) => h.answers && h.enough);
  if (R.length === 0) return;
  // envelope: for each index, the hop at or after it with the lowest loss
  const env: Hop[] = new Array<Hop>(R.length);
  for (let i = R.length - 1; i >= 0; i--) {
    const h = R[i]!;
    const next = env[i + 1];
    env[i] = next !== undefined && next.loss.p < h.loss.p ? next : h; // ties: the nearer hop
  }

  // icmp-rate-limited: a hop losing more than what comes after it lets through
  for (let i = 0; i + 1 < R.length; i++) {
    const h = R[i]!;
    if (h.isDestination || h.mixed) continue;
    const down = env[i + 1]!;
    if (down.mixed && down.ttl === h.ttl + 1) continue;
    if (!(h.loss.lo > down.loss.hi) || h.loss.p - down.loss.p < o.minLoss) continue;
    const pinged = directPings(path, h, down);
    const fromTrace = confidenceGreater(h.lost, h.sent, down.lost, down.sent);
    yield verdict(
      'icmp-rate-limited',
      h.ttl,
      pinged === undefined
        ? fromTrace
        : pinged.against
        ? Math.min(fromTrace, pinged.confidence)
        : Math.max(fromTrace, pinged.confidence),
      {
        ...(pinged?.evidence ?? {}),
        loss: h.loss.p,
        lossLow: h.loss.lo,
        lossHigh: h.loss.hi,
        sent: h.sent,
        received: h.received,
        downstreamTtl: down.ttl,
        downstreamLoss: down.loss.p,
        downstreamLossHigh: down.loss.hi,
        lifetimeSent: h.ev.lifetime.sent,
        lifetimeReceived: h.ev.lifetime.received,
      },
      h.address !== undefined ? { responder: h.address } : {},
      `${cap(hopName(h))} loses ${lossText(h)}, but hop ${down.ttl} further on loses only ${lossText(down)}: ` +
        `more probes get past hop ${h.ttl} than it answers: the router limits its own answers (ICMP rate ` +
        `limiting or deprioritisation). That part of its loss is not loss of your traffic.` +
        (pinged?.text ?? ''),
      pinged?.against === true
        ? `Ignore hop ${h.ttl}'s Loss% for your traffic: the hops beyond do not lose it. To see the way back ` +
            `from hop ${h.ttl}, trace from the other end.`
        : `Ignore hop ${h.ttl}'s Loss%.` +
            (pinged === undefined
              ? ` To check: ping ${h.address ?? `hop ${h.ttl}`} directly (echo replies are rarely limited), or ` +
                `trace at a slower rate (-i 1): rate limiting shrinks as the rate drops.`
              : ''),
    );
  }

  // forwarding-loss / destination-drops-icmp: a significant step up in the envelope
  if (!path.destination.reached || !R[R.length - 1]!.isDestination) return;
  const dest = R[R.length - 1]!;
  for (let i = 0; i < R.length; i++) {
    const here = env[i]!;
    const prevEnv = i > 0 ? env[i - 1]! : undefined;
    // env[i-1] is either R[i-1] itself (lower than everything after) or the same hop as env[i] (no step)
    if (prevEnv === here) continue;
    const prevHi = prevEnv?.loss.hi ?? 0;
    const prevP = prevEnv?.loss.p ?? 0;
    if (!(here.loss.lo > prevHi) || here.loss.p - prevP < o.minLoss) continue;
    // where it shows: the first hop from here on whose own loss is not above the envelope (a hop that also
    // limits its answers cannot show where the loss enters)
    let m = i;
    while (m < R.length && R[m] !== here && R[m]!.loss.lo > here.loss.hi) m++;
    const h = R[m] ?? here;
    // against the hop before; for the first answering hop, against "no more than minLoss"
    const conf =
      prevEnv !== undefined
        ? confidenceGreater(here.lost, here.sent, prevEnv.lost, prevEnv.sent)
        : confidenceFromZ(here.loss.p - o.minLoss, Math.sqrt((here.loss.p * (1 - here.loss.p)) / here.sent));
    const segment =
      prevEnv !== undefined && prevEnv.loss.p < 1 ? 1 - (1 - here.loss.p) / (1 - prevEnv.loss.p) : here.loss.p;
    const evidence: Record<string, number> = {
      loss: here.loss.p,
      lossLow: here.loss.lo,
      lossHigh: here.loss.hi,
      lowestAtTtl: here.ttl,
      segmentLoss: segment,
      destinationLoss: dest.loss.p,
      destinationLossLow: dest.loss.lo,
      destinationLossHigh: dest.loss.hi,
      destinationSent: dest.sent,
    };
    if (prevEnv !== undefined)
      Object.assign(evidence, { beforeTtl: prevEnv.ttl, beforeLoss: prevEnv.loss.p, beforeLossHigh: prevEnv.loss.hi });
    const facts: Record<string, string> = {};
    if (h.address !== undefined) facts['responder'] = h.address;
    const before =
      prevEnv !== undefined ? `hop ${prevEnv.ttl} loses ${lossText(prevEnv)}` : 'nothing is lost before it';
    if (h.isDestination) {
      const alt = (path.alternates ?? []).find(
        (a) => a.protocol !== path.protocol && a.toDestination.sent >= o.minSamples,
      );
      if (alt !== undefined) {
        const altLoss = lossInterval(alt.toDestination.sent, alt.toDestination.received);
        if (!(altLoss.hi < here.loss.lo)) {
          // another protocol loses as much: loss on the last link, not ICMP handling at the host
          yield forwardingLoss(h, here, dest, before, conf, evidence, facts, prevEnv);
          continue;
        }
      }
      yield verdict(
        'destination-drops-icmp',
        h.ttl,
        alt !== undefined ? conf : Math.min(conf, AMBIGUOUS),
        evidence,
        facts,
        `Only the destination loses probes: ${before}, the destination ${lossText(dest)}. The destination ` +
          `(or the last link to it) drops or rate-limits these ${path.protocol.toUpperCase()} probes; the ` +
          `routers before it lose nothing.`,
        `If the service works, the host only limits ICMP: ignore it. To tell the host from its last link, ` +
          `trace with TCP or UDP to a port it serves (mtr-ts -T -P 443, or --confirm).`,
      );
      continue;
    }
    yield forwardingLoss(h, here, dest, before, conf, evidence, facts, prevEnv);
  }
}

function forwardingLoss(
  h: Hop,
  here: Hop,
  dest: Hop,
  before: string,
  conf: number,
  evidence: Record<string, number>,
  facts: Record<string, string>,
  prevEnv: Hop | undefined,
): Verdict {
  const from = prevEnv !== undefined ? `hop ${prevEnv.ttl}` : 'this host';
  return verdict(
    'forwarding-loss',
    h.ttl,
    conf,
    evidence,
    facts,
    `Loss starts at ${hopName(h)} and carries on to the destination: ${before}; from hop ${h.ttl} on no hop ` +
      `loses less than ${lossText(here)}${here !== h ? ` (the lowest, at hop ${here.ttl})` : ''}. The destination ` +
      `loses ${lossText(dest)}: this is real loss.`,
    `The loss enters between ${from} and hop ${h.ttl}: ${from}'s forwarding, the link to hop ${h.ttl}, hop ` +
      `${h.ttl} itself, or the return path from hop ${h.ttl} on (paths are often asymmetric: a trace from the ` +
      `other end tells). Report it to the operator of hop ${h.ttl} with this trace.`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Latency: the same envelope on the median

/** robust spread of one hop's RTTs (ms): from the p95-median distance, never below 0.05 ms */
function spread(h: Hop): number {
  const r = h.ev.rtt!;
  return Math.max(0.05, Math.min(r.stddev, (r.p95 - r.median) / 1.645 || r.stddev));
}

function medianSe(h: Hop): number {
  const r = h.ev.rtt!;
  return (1.2533 * spread(h)) / Math.sqrt(Math.max(1, r.n));
}

function* latencyRules(path: PathEvidence, hops: Hop[], o: DiagnoseOptions): Generator<Verdict> {
  const L = hops.filter((h) => h.ev.rtt !== undefined && h.ev.rtt.n >= o.minRttSamples);
  if (L.length < 2) return;
  const med = (h: Hop): number => h.ev.rtt!.median;
  const env: Hop[] = new Array<Hop>(L.length);
  for (let i = L.length - 1; i >= 0; i--) {
    const h = L[i]!;
    const next = env[i + 1];
    env[i] = next !== undefined && med(next) <= med(h) ? next : h;
  }
  const threshold = (base: number): number => Math.max(o.latencyMs, o.latencyRatio * base);

  // latency-at-one-hop: a hop slower than what comes after it
  for (let i = 0; i + 1 < L.length; i++) {
    const h = L[i]!;
    if (h.isDestination || h.mixed) continue;
    const down = env[i + 1]!;
    const excess = med(h) - med(down);
    const t = threshold(med(down));
    if (excess <= t) continue;
    const r = h.ev.rtt!;
    yield verdict(
      'latency-at-one-hop',
      h.ttl,
      confidenceFromZ(excess - t, Math.hypot(medianSe(h), medianSe(down))),
      { median: r.median, min: r.min, p95: r.p95, downstreamTtl: down.ttl, downstreamMedian: med(down), excess },
      h.address !== undefined ? { responder: h.address } : {},
      `${cap(hopName(h))} answers slowly (median ${ms(r.median)}), but hop ${down.ttl} further on answers in ` +
        `${ms(med(down))}: the router at hop ${h.ttl} is slow to make its ICMP answers (a busy control plane); ` +
        `traffic through it is not delayed.`,
      `Ignore hop ${h.ttl}'s latency; judge the path by the hops after it and the destination.`,
    );
  }

  // latency-step: a significant step up in the envelope that lasts to the destination (or the last hop)
  for (let i = 1; i < L.length; i++) {
    const here = env[i]!;
    const prev = env[i - 1]!;
    if (prev === here) continue;
    const step = med(here) - med(prev);
    const t = threshold(med(prev));
    if (step <= t) continue;
    const h = L[i]!;
    const r = here.ev.rtt!;
    const p = prev.ev.rtt!;
    const minRise = r.min - p.min;
    const queueing = r.median - r.min;
    const standing = minRise > t;
    yield verdict(
      'latency-step',
      h.ttl,
      confidenceFromZ(step - t, Math.hypot(medianSe(here), medianSe(prev))),
      {
        beforeTtl: prev.ttl,
        beforeMedian: med(prev),
        beforeMin: p.min,
        median: r.median,
        min: r.min,
        p95: r.p95,
        stddev: r.stddev,
        step,
        minRise,
        queueing,
        lowestAtTtl: here.ttl,
      },
      h.address !== undefined ? { responder: h.address } : {},
      `Latency rises at ${hopName(h)} and stays up${path.destination.reached ? ' to the destination' : ''}: ` +
        `median ${ms(med(prev))} at hop ${prev.ttl}, ${ms(r.median)} from hop ${h.ttl} on (+${ms(step)}). ` +
        (standing
          ? `Best rises too (${ms(p.min)} -> ${ms(r.min)}, StDev only ${ms(r.stddev)}): every probe waits, a ` +
            `long link or a queue that never drains (bufferbloat).`
          : `Best stays near ${ms(r.min)}: the extra time is queueing (median - Best = ${ms(queueing)}), congestion.`),
      `Compare with this path's usual latency: a long-distance link adds a constant step and is normal. If the ` +
        `step is new, the link between hop ${prev.ttl} and hop ${h.ttl} is congested or its queue is too ` +
        `large: report it to the operator of hop ${h.ttl} with this trace.`,
    );
  }
}

function unstableLatency(hops: Hop[], o: DiagnoseOptions): Verdict | undefined {
  const L = hops.filter((h) => h.ev.rtt !== undefined && h.ev.rtt.n >= o.minRttSamples);
  if (L.length === 0) return undefined;
  // a spread of tens of ms on top of the median: a few ms of host or timer noise on a fast path is not it
  const unstable = (h: Hop): boolean => {
    const r = h.ev.rtt!;
    return r.stddev > Math.max(o.unstableMs, 0.5 * r.median) || r.p95 - r.median > Math.max(o.unstableMs, r.median);
  };
  // it must persist: the last two hops with RTTs at least (one noisy destination is not a path's trait)
  let k = L.length;
  while (k > 0 && unstable(L[k - 1]!)) k--;
  if (L.length - k < 2) return undefined;
  const from = L[k]!;
  const last = L[L.length - 1]!;
  const r = last.ev.rtt!;
  const count = L.length - k;
  return verdict(
    'unstable-latency',
    from.ttl,
    1 - Math.pow(0.5, count + 2),
    {
      hops: count,
      min: r.min,
      median: r.median,
      mean: r.mean,
      p95: r.p95,
      max: r.max,
      stddev: r.stddev,
      atTtl: last.ttl,
    },
    {},
    `From hop ${from.ttl} on the round-trip times vary too much for Avg to mean much: at hop ${last.ttl} ` +
      `Best ${ms(r.min)}, median ${ms(r.median)}, Avg ${ms(r.mean)}, p95 ${ms(r.p95)}, Wrst ${ms(r.max)}, StDev ` +
      `${ms(r.stddev)}.`,
    `Read Best (the path's floor), the median and p95 rather than Avg. Delay that comes and goes from hop ` +
      `${from.ttl} on is queueing on a busy link (congestion, bufferbloat) before or at hop ${from.ttl}; trace ` +
      `again at a quiet time to compare.`,
  );
}

/**
 * How much likelier the pings' losses must be under the loss of the path beyond the hop than under the hop's
 * own loss in the trace before echo is called answered where Time Exceeded is not ("strong" evidence).
 */
const PINGS_LIKE_PATH = 20;
/** the path's loss the pings are weighed against is at least this (a clean path still loses a ping now and then) */
const PATH_LOSS_FLOOR = 0.02;

/**
 * The likelihood ratio of `lost` of `n` pings lost at the loss of the path beyond (`pathLoss`, floored)
 * against at the hop's loss in the trace (`hopLoss`): large when the pings behave like the path, not like
 * the hop's Time Exceeded. 0 when the hop loses no more than the path.
 */
export function pingsLikePath(lost: number, n: number, pathLoss: number, hopLoss: number): number {
  const pd = Math.min(0.999, Math.max(PATH_LOSS_FLOOR, pathLoss));
  const ph = Math.min(0.999, Math.max(PATH_LOSS_FLOOR, hopLoss));
  if (n <= 0 || ph <= pd) return 0;
  return Math.exp(lost * Math.log(pd / ph) + (n - lost) * Math.log((1 - pd) / (1 - ph)));
}

/**
 * What --confirm's direct pings of a hop (ICMP echo to its own address, at a slow and a fast rate) say about
 * its loss in the trace: answered where its Time Exceeded are not, or answered less at the faster rate, the
 * router limits its answers (`confidence` is a floor). Answers lost at the slow rate too, more often than
 * the hops beyond lose, are no rate limit: the answers are lost on their way back or the router drops pings as
 * well, and the verdict becomes a suspicion (`against`: `confidence` is a ceiling). Undefined without pings.
 */
function directPings(
  path: PathEvidence,
  h: Hop,
  down: Hop,
): { confidence: number; against: boolean; evidence: Record<string, number>; text: string } | undefined {
  const pings = (path.alternates ?? []).filter((a) => a.direct !== undefined && a.direct.address === h.address);
  if (pings.length === 0) return undefined;
  const byRate = [...pings].sort((a, b) => b.direct!.interval - a.direct!.interval); // slowest first
  const slow = byRate[0]!;
  const fast = byRate.length > 1 ? byRate[byRate.length - 1]! : undefined;
  const loss = (a: AlternateEvidence): Interval => lossInterval(a.toDestination.sent, a.toDestination.received);
  const evidence: Record<string, number> = {
    slowPingSent: slow.toDestination.sent,
    slowPingReceived: slow.toDestination.received,
    slowPingInterval: slow.direct!.interval,
  };
  if (fast !== undefined) {
    evidence['fastPingSent'] = fast.toDestination.sent;
    evidence['fastPingReceived'] = fast.toDestination.received;
    evidence['fastPingInterval'] = fast.direct!.interval;
  }
  const rate = (a: AlternateEvidence): string => `${Math.round(1 / a.direct!.interval)}/s`;
  // the faster rate loses significantly more: rate limiting shown directly
  if (fast !== undefined && fast.toDestination.sent > 0 && slow.toDestination.sent > 0) {
    const lf = loss(fast);
    const ls = loss(slow);
    if (lf.lo > ls.hi)
      return {
        confidence: Math.max(0.9, confidenceGreater(fast.toDestination.sent - fast.toDestination.received, fast.toDestination.sent, slow.toDestination.sent - slow.toDestination.received, slow.toDestination.sent)),
        against: false,
        evidence,
        text: ` Pinged directly it answers ${pct(1 - ls.p)} at ${rate(slow)} but ${pct(1 - lf.p)} at ${rate(fast)}: ` +
          `it answers fewer the faster it is asked (rate limiting, checked).`,
      };
  }
  // echo answered where Time Exceeded is not: the router forwards and answers, it limits only those. The
  // pings must lose like the path beyond, not like the hop (lower than the hop's loss is not enough: with
  // 80% of the answers lost on their way back, 20 pings once lost 11 and the trace 86%)
  const all = pings.reduce((a, p) => a + p.toDestination.sent, 0);
  const answered = pings.reduce((a, p) => a + p.toDestination.received, 0);
  if (all > 0 && pingsLikePath(all - answered, all, down.loss.p, h.loss.p) >= PINGS_LIKE_PATH)
    return {
      confidence: 0.9,
      against: false,
      evidence,
      text: ` Pinged directly it answers ${answered} of ${all}: it is up and answering, only its Time Exceeded ` +
        `answers are limited (checked).`,
    };
  // the slow pings, which a rate limit lets through, lose more than the hops beyond lose (and echo is not
  // answered better than the trace's Time Exceeded): not a rate limit. The trace still shows the loss is not
  // carried on (not loss of your traffic), but what the hop does is unknown: as likely as not.
  const ls = loss(slow);
  if (slow.toDestination.sent > 0 && ls.lo > down.loss.hi)
    return {
      confidence: 0.5,
      against: true,
      evidence,
      text: ` Pinged directly it answers only ${slow.toDestination.received} of ${slow.toDestination.sent} at ` +
        `${rate(slow)}, slow enough for a rate limit (${answered} of ${all} in all): no rate limit shows; its ` +
        `answers are lost on their way back, or it drops pings as well (suspected, not checked).`,
    };
  return { confidence: 0, against: false, evidence, text: ` Pinged directly it answers ${answered} of ${all} too.` };
}

// ---------------------------------------------------------------------------------------------------------
// mtu from probes of several sizes, asymmetric-return from the answers' TTLs

/** IPv6's minimum link MTU (RFC 8200, section 5): every IPv6 link carries packets of this size whole */
const IPV6_MIN_MTU = 1280;

/** how a router says a packet is too big for its next link, in the path's IP version */
function tooBigWords(path: PathEvidence): { readonly answer: string; readonly icmp: string } {
  return path.ipVersion === 6
    ? { answer: '"packet too big"', icmp: 'ICMPv6' }
    : { answer: '"fragmentation needed"', icmp: 'ICMP' };
}

function mtuFromAlternates(path: PathEvidence, hops: Hop[], o: DiagnoseOptions): Verdict | undefined {
  const alts = path.alternates ?? [];
  const dest = hops.find((h) => h.isDestination);
  const { answer, icmp } = tooBigWords(path);
  const ip = path.ipVersion === 6 ? 'ip -6' : 'ip';
  for (const big of alts) {
    if (big.protocol !== path.protocol || big.size <= path.probeSize) continue;
    if (big.reportedMtu !== undefined) {
      const m = big.reportedMtu;
      // a router answers "fragmentation needed" to probes that would leave it, i.e. at TTLs beyond its own:
      // name it by the hop where the trace saw it (as destination-unreachable does)
      const at = hops.find((h) => m.address !== undefined && h.address === m.address)?.ttl ?? m.ttl;
      // an IPv6 link must carry 1280 bytes: a smaller MTU is that link's fault, and senders go no lower
      const belowV6Minimum = path.ipVersion === 6 && m.mtu < IPV6_MIN_MTU;
      return verdict(
        'mtu',
        at,
        0.95,
        { mtu: m.mtu, size: big.size, smallSize: path.probeSize, answeredAtTtl: m.ttl },
        m.address !== undefined ? { responder: m.address } : {},
        `Probes of ${big.size} bytes with don't-fragment are refused at hop ${at}, which reports an MTU of ` +
          `${m.mtu}` +
          (belowV6Minimum ? `, below IPv6's minimum of ${IPV6_MIN_MTU} (senders will not go under it)` : '') +
          `; ${path.probeSize}-byte probes pass.`,
        belowV6Minimum
          ? `The link after hop ${at} breaks IPv6's rule that every link carries ${IPV6_MIN_MTU}-byte packets: ` +
              `packets above ${m.mtu} bytes are lost there, and path MTU discovery cannot help (senders go no ` +
              `lower than ${IPV6_MIN_MTU}). Ask the operator of hop ${at} to raise that link's MTU (or to ` +
              `fragment and reassemble below IPv6).`
          : `Packets above ${m.mtu} bytes need fragmentation or path MTU discovery on this path: make sure ` +
              `${icmp} ${answer} reaches senders, or lower the MTU / TCP MSS.`,
      );
    }
    const refused = big.refusedLocally ?? 0;
    if (big.dontFragment && refused > 0 && big.toDestination.received === 0) {
      return verdict(
        'mtu',
        undefined,
        0.9,
        { refusedLocally: refused, size: big.size, smallSize: path.probeSize },
        {},
        `This host refuses to send ${big.size}-byte probes with don't-fragment to ${path.target} (${refused} ` +
          `times): it already knows a smaller path MTU, learnt from an earlier ${answer}; ` +
          `${path.probeSize}-byte probes pass.`,
        `A link on this path has a smaller MTU. To see which hop, run again once the kernel has forgotten it ` +
          `(about 10 minutes; \`${ip} route get ${path.target}\` shows the cached MTU), or flush it with ` +
          `\`${ip} route flush cache\`.`,
      );
    }
    if (dest === undefined || dest.sent < o.minSamples) continue;
    // --confirm sends MTU_PROBES, fewer than minSamples: enough when every one of them was lost, as a black
    // hole drops every large packet; only some of them lost is not told from chance on so few
    const allLost = big.toDestination.sent >= MTU_PROBES && big.toDestination.received === 0;
    if (big.toDestination.sent < o.minSamples && !allLost) continue;
    const bigLoss = lossInterval(big.toDestination.sent, big.toDestination.received);
    if (!(bigLoss.lo > dest.loss.hi) || bigLoss.p - dest.loss.p < o.minLoss) continue;
    const hop = big.lastAnsweredTtl !== undefined ? big.lastAnsweredTtl + 1 : undefined;
    return verdict(
      'mtu',
      hop,
      confidenceGreater(
        big.toDestination.sent - big.toDestination.received,
        big.toDestination.sent,
        dest.lost,
        dest.sent,
      ),
      {
        size: big.size,
        smallSize: path.probeSize,
        bigLoss: bigLoss.p,
        bigLossLow: bigLoss.lo,
        smallLoss: dest.loss.p,
        smallLossHigh: dest.loss.hi,
        ...(big.lastAnsweredTtl !== undefined ? { lastAnsweredTtl: big.lastAnsweredTtl } : {}),
      },
      {},
      `${big.size}-byte probes${big.dontFragment ? " with don't-fragment" : ''} lose ${pct(bigLoss.p)} on the way to ` +
        `the destination, ${path.probeSize}-byte probes ${pct(dest.loss.p)}: large packets are dropped without ` +
        `a ${answer} answer (an MTU black hole)` +
        (hop !== undefined ? `, after hop ${hop - 1}.` : '.'),
      `A link on this path has a smaller MTU and the ${icmp} that would say so is lost or filtered: lower the ` +
        `MTU or TCP MSS, or let ${icmp} ${answer} through.`,
    );
  }
  return undefined;
}

/** initial TTLs senders use; the return hop count is the distance to the next one up */
const INITIAL_TTLS = [32, 64, 128, 255];

function asymmetricReturn(hops: Hop[]): Verdict | undefined {
  for (const h of hops) {
    const ttls = h.ev.replyTtls;
    if (ttls === undefined || ttls.length < 5) continue;
    let asym = 0;
    let sumBack = 0;
    for (const t of ttls) {
      const initial = INITIAL_TTLS.find((x) => x >= t) ?? 255;
      const back = initial - t + 1;
      sumBack += back;
      if (Math.abs(back - h.ttl) >= 3) asym++;
    }
    const share = asym / ttls.length;
    if (share <= 0.5) continue;
    const back = sumBack / ttls.length;
    return verdict(
      'asymmetric-return',
      h.ttl,
      confidenceFromZ(share - 0.5, Math.sqrt(0.25 / ttls.length)),
      { forwardHops: h.ttl, returnHops: back, samples: ttls.length, asymmetricShare: share },
      h.address !== undefined ? { responder: h.address } : {},
      `Answers from ${hopName(h)} come back over about ${Math.round(back)} hops while the probes took ` +
        `${h.ttl}: the return path differs from the forward path.`,
      `Loss and latency seen from here may come from the way back: run mtr-ts from the far end towards this ` +
        `host as well, and read the two traces together.`,
    );
  }
  return undefined;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export { UNCERTAIN };
