// The diagnosis engine's own input and output. The input is a small, explicit description of one target's
// per-hop evidence over one window (plus lifetime counts for context); adapters build it from whatever the
// statistics look like. The output is a list of verdicts keyed by a fixed rule id that every output uses.

/** Every rule id, fixed: text, JSON, NDJSON, HTML and the exporter all use these words. */
export const RULE_IDS = [
  'icmp-rate-limited',
  'forwarding-loss',
  'destination-drops-icmp',
  'routing-loop',
  'path-breaks',
  'first-hop-silent',
  'icmp-filtered-beyond',
  'latency-step',
  'latency-at-one-hop',
  'unstable-latency',
  'destination-unreachable',
  'mtu',
  'path-changed',
  'asymmetric-return',
] as const;

export type RuleId = (typeof RULE_IDS)[number];

export type ProbeProtocol = 'icmp' | 'udp' | 'tcp' | 'sctp';

/** Probes that finished (answered or timed out; never those still in flight) and the answers among them. */
export interface Counts {
  readonly sent: number;
  readonly received: number;
}

/** Round-trip times of the answers, in milliseconds. */
export interface RttSummary {
  /** number of RTT samples the figures come from */
  readonly n: number;
  readonly min: number;
  readonly mean: number;
  readonly median: number;
  readonly p95: number;
  readonly max: number;
  readonly stddev: number;
}

export interface ResponderCount {
  readonly address: string;
  /** answers from this address in the window */
  readonly count: number;
}

/** Why a hop answered with an ICMP unreachable, as far as the packet program says. */
export interface UnreachableEvidence {
  /** unreachable answers in the window */
  readonly count: number;
  /**
   * The reply word of the packet program (`no-route`, `no-route-network`, `no-route-host`, `host-down`), or,
   * with a protocol extension that carries it, `icmp-<type>-<code>` / `icmp6-<type>-<code>`.
   */
  readonly kind: string;
  /** ICMP type and code, when the packet program reports them (mtr-packet 0.95's protocol does not) */
  readonly icmpType?: number | undefined;
  readonly icmpCode?: number | undefined;
  /** the next-hop MTU a Fragmentation-Needed / Packet-Too-Big answer carried, when reported */
  readonly mtu?: number | undefined;
}

export interface HopEvidence {
  /** the TTL probed (mtr's hop number) */
  readonly ttl: number;
  /** this window's finished probes and answers */
  readonly window: Counts;
  /** since the start, for context in the verdict's text */
  readonly lifetime: Counts;
  /** this window's RTTs; undefined without answers */
  readonly rtt?: RttSummary | undefined;
  /** who answered at this TTL in the window, most answers first */
  readonly responders: readonly ResponderCount[];
  /** answers that were ICMP Destination Unreachable (or ICMPv6's) */
  readonly unreachable?: UnreachableEvidence | undefined;
  /** the IP TTL / hop limit the answers arrived with, when the packet program reports it (0.95 does not) */
  readonly replyTtls?: readonly number[] | undefined;
}

/**
 * Probes of another kind than the trace's own, aimed at the same target: another protocol, another size,
 * don't-fragment. Filled by active confirmation (--confirm); absent otherwise.
 */
export interface AlternateEvidence {
  readonly protocol: ProbeProtocol;
  readonly port?: number | undefined;
  /** IP packet size of these probes */
  readonly size: number;
  readonly dontFragment: boolean;
  /** probes sent with a TTL large enough to reach the destination, and the destination's answers to them */
  readonly toDestination: Counts;
  /** the smallest TTL at which the destination answered these probes */
  readonly destinationTtl?: number | undefined;
  /** the largest TTL at which anything answered these probes */
  readonly lastAnsweredTtl?: number | undefined;
  /**
   * --confirm's direct pings: ICMP echo requests to a hop's own address (not to the target), one probe every
   * `interval` seconds; `toDestination` then counts them and that address's answers
   */
  readonly direct?: { readonly address: string; readonly hopTtl: number; readonly interval: number } | undefined;
  /**
   * don't-fragment probes this host refused to send (the packet program's `packet-too-big`): larger than the
   * path MTU the kernel already learnt for the destination from an earlier Fragmentation Needed (IPv4) or
   * Packet Too Big (IPv6)
   */
  readonly refusedLocally?: number | undefined;
  /** an MTU a router reported (frag-needed / packet-too-big), and the TTL it came from */
  readonly reportedMtu?:
    { readonly mtu: number; readonly ttl: number; readonly address?: string | undefined } | undefined;
}

export interface PathChange {
  readonly ttl: number;
  readonly from: string | undefined;
  readonly to: string | undefined;
}

export interface PathEvidence {
  /** the address probed */
  readonly target: string;
  readonly ipVersion: 4 | 6;
  readonly protocol: ProbeProtocol;
  /** IP packet size of the trace's probes (mtr's -s) */
  readonly probeSize: number;
  readonly firstTtl: number;
  readonly maxTtl: number;
  /** cycles in this window (for the text), and since the start */
  readonly windowCycles: number;
  readonly lifetimeCycles: number;
  /** one entry per TTL probed, ascending, from firstTtl up to the last TTL the trace probes */
  readonly hops: readonly HopEvidence[];
  /** the target answered in this window; `ttl` is the smallest TTL it answered at */
  readonly destination: { readonly reached: boolean; readonly ttl?: number | undefined };
  /** the path (the responder at some TTL) changed during this window */
  readonly pathChanged: boolean;
  /** what changed, when known */
  readonly changes?: readonly PathChange[] | undefined;
  readonly alternates?: readonly AlternateEvidence[] | undefined;
}

export type Severity = 'info' | 'warning' | 'problem';

export interface Verdict {
  readonly rule: RuleId;
  /** the TTL the verdict is about; undefined when it is about the whole path */
  readonly hop: number | undefined;
  /** 0..1: how sure the numbers make us; below `UNCERTAIN` a verdict says so and --confirm can check it */
  readonly confidence: number;
  readonly severity: Severity;
  /** the numbers behind it: loss as fractions 0..1, times in ms, counts as counts */
  readonly evidence: Readonly<Record<string, number>>;
  /** words behind it: responder addresses, reply kinds */
  readonly facts: Readonly<Record<string, string>>;
  /** one sentence: what the trace means */
  readonly summary: string;
  /** what to do about it */
  readonly advice: string;
}

/** A verdict below this confidence is shown as a suspicion. */
export const UNCERTAIN = 0.8;

export interface DiagnoseOptions {
  /** minimum finished probes at a hop before its loss takes part in a verdict (default 20) */
  readonly minSamples: number;
  /** minimum RTT samples at a hop before its latency takes part (default 10) */
  readonly minRttSamples: number;
  /** smallest loss difference worth a verdict, 0..1 (default 0.05) */
  readonly minLoss: number;
  /** latency: a rise must exceed both this many ms and `latencyRatio` of the level before (default 10 ms, 0.2) */
  readonly latencyMs: number;
  readonly latencyRatio: number;
  /** unstable-latency: StDev or p95 - median above this many ms (and above the median's scale) (default 30) */
  readonly unstableMs: number;
}

export const DEFAULT_DIAGNOSE_OPTIONS: DiagnoseOptions = Object.freeze({
  minSamples: 20,
  minRttSamples: 10,
  minLoss: 0.05,
  latencyMs: 10,
  latencyRatio: 0.2,
  unstableMs: 30,
});
