// The daemon's core: one request line in, replies out, probes matched to answers.
// No I/O of its own: lines arrive through handleLine, packets through handlePackets,
// time through the transport's clock; replies leave through `write`. main.ts wires it up.

import {
  decodeRequest,
  formatReply,
  parseCommandLine,
  replyForErrno,
  type CheckSupportRequest,
  type Reply,
  type SendProbeRequest,
} from '@mtr-ts/protocol';
import { buildProbe, decodeAnswer, formatAddress, needsSource, parseAddress, type Answer, type ProbeIdentity } from './codec.js';
import { SourceCache } from './source-cache.js';
import { ProbeTable, type Probe, DEFAULT_MAX_IN_FLIGHT } from './probes.js';
import { isSendError, type Received, type Transport } from './transport.js';

/** The protocol version we answer `check-support feature version` with: the mtr-packet protocol we speak. */
export const PROTOCOL_VERSION = '0.95';

/** IPv6 raw socket protocol per probe protocol (ICMP probes are ICMPv6 there). */
const PROTOCOL_NUMBERS_V6 = { icmp: 58, udp: 17, tcp: 6, sctp: 132 } as const;

export interface DaemonOptions {
  maxInFlight?: number;
  /** the per-process ICMP identifier; random when not given */
  icmpId?: number;
  firstSequence?: number;
  /** which probe protocols this build can send */
  protocols?: ReadonlySet<string>;
  /** whether SO_MARK may be set (needs CAP_NET_ADMIN) */
  markSupported?: boolean;
}

export interface DaemonStats {
  ignoredPackets: number;
  unmatchedPackets: number;
}

export class Daemon {
  readonly probes: ProbeTable;
  readonly icmpId: number;
  readonly stats: DaemonStats = { ignoredPackets: 0, unmatchedPackets: 0 };
  private readonly protocols: ReadonlySet<string>;
  private readonly markSupported: boolean;
  private readonly sources: SourceCache;
  /** called whenever the earliest deadline may have changed */
  onDeadlineChange: () => void = () => {};

  constructor(
    private readonly transport: Transport,
    private readonly write: (line: string) => void,
    opts: DaemonOptions = {},
  ) {
    this.probes = new ProbeTable(opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT, opts.firstSequence);
    this.icmpId = opts.icmpId ?? Math.floor(Math.random() * 0x10000);
    this.protocols = opts.protocols ?? new Set(['icmp']);
    this.markSupported = opts.markSupported ?? false;
    this.sources = new SourceCache((family, dst) => transport.sourceAddress(family, dst), () => transport.now());
  }

  private reply(r: Reply): void {
    this.write(formatReply(r));
  }

  /** A command line from the framer (without its newline). */
  handleLine(line: string): void {
    const cmd = parseCommandLine(line);
    if (cmd === undefined) {
      this.reply({ token: 0, type: 'command-parse-error' });
      return;
    }
    const req = decodeRequest(cmd);
    if ('type' in req) {
      this.reply(req);
      return;
    }
    switch (req.command) {
      case 'check-support':
        this.checkSupport(req);
        return;
      case 'send-probe':
        this.sendProbe(req);
        return;
      case 'unknown':
        this.reply({ token: req.token, type: 'unknown-command' });
        return;
    }
  }

  /** The framer found a line longer than the command buffer. */
  handleOverflow(): void {
    this.reply({ token: 0, type: 'command-buffer-overflow' });
  }

  private checkSupport(req: CheckSupportRequest): void {
    this.reply({ token: req.token, type: 'feature-support', support: this.support(req.feature) });
  }

  support(feature: string): string {
    switch (feature) {
      case 'version':
        return PROTOCOL_VERSION;
      case 'send-probe':
        return 'ok';
      case 'ip-4':
        return this.transport.ip4 ? 'ok' : 'no';
      case 'ip-6':
        return this.transport.ip6 ? 'ok' : 'no';
      case 'icmp':
      case 'udp':
      case 'tcp':
      case 'sctp':
        return this.protocolSupported(feature) ? 'ok' : 'no';
      case 'mark':
        return this.markSupported ? 'ok' : 'no';
      default:
        return 'no';
    }
  }

  private protocolSupported(p: string): boolean {
    if (p === 'sctp' && !this.transport.sctp) return false;
    return this.protocols.has(p);
  }

  private sendProbe(req: SendProbeRequest): void {
    const { token } = req;
    const family = req.ipVersion;
    if (
      family === undefined ||
      (family === 4 && !this.transport.ip4) ||
      (family === 6 && !this.transport.ip6)
    ) {
      this.reply({ token, type: 'invalid-argument', reason: 'ip-version-not-supported' });
      return;
    }
    if (!this.protocolSupported(req.protocol)) {
      this.reply({ token, type: 'invalid-argument', reason: 'protocol-not-supported' });
      return;
    }
    if (this.probes.full) {
      this.reply({ token, type: 'probes-exhausted' });
      return;
    }
    const dst = req.address === undefined ? undefined : parseAddress(family, req.address);
    const src =
      req.localAddress === undefined ? undefined : parseAddress(family, req.localAddress);
    if (dst === undefined || (req.localAddress !== undefined && src === undefined)) {
      this.reply({ token, type: 'invalid-argument', reason: undefined });
      return;
    }

    // IPv6 takes hop limit and traffic class as socket values: -1 is the kernel's default, and
    // anything outside -1..255 is EINVAL, as it is for mtr-packet's setsockopt.
    if (family === 6 && !(inByteOrDefault(req.ttl) && inByteOrDefault(req.tos))) {
      this.reply({ token, type: 'invalid-argument', reason: undefined });
      return;
    }

    let txNs: number;
    const sequence = this.probes.allocateSequence();
    const identity: ProbeIdentity = { icmpId: this.icmpId, sequence };
    let built;
    try {
      const source = src ?? (needsSource(req) ? this.sources.get(family, dst) : undefined);
      built = buildProbe(req, family, dst, source, identity);
      if (built === undefined) {
        this.reply({ token, type: 'invalid-argument', reason: undefined });
        return;
      }
      const opts: { mark?: number; device?: string } = {};
      if (req.mark !== undefined) opts.mark = req.mark;
      if (req.localDevice !== undefined) opts.device = req.localDevice;
      txNs =
        family === 4
          ? this.transport.sendIPv4(built.bytes, dst, opts)
          : this.transport.sendIPv6(PROTOCOL_NUMBERS_V6[req.protocol], built.bytes, dst, {
              ...opts,
              hopLimit: req.ttl,
              trafficClass: req.tos,
              ...(src ? { src } : {}),
            });
    } catch (e) {
      // A send error maps to its reply; anything else the layer below refused is a bad argument.
      this.reply(
        isSendError(e) ? replyForErrno(token, e.errno) : { token, type: 'invalid-argument', reason: undefined },
      );
      return;
    }

    const probe: Probe = {
      token,
      family,
      protocol: req.protocol,
      dst,
      sequence,
      srcPort: built.srcPort,
      dstPort: built.dstPort,
      txNs,
      deadlineNs: txNs + req.timeout * 1e9,
      heapIndex: -1,
    };
    const earliest = this.probes.peekDeadline();
    this.probes.add(probe);
    if (earliest === undefined || probe.deadlineNs < earliest.deadlineNs) this.onDeadlineChange();
  }

  /** A batch of received packets from the transport. */
  handlePackets(batch: readonly Received[]): void {
    for (const p of batch) this.handlePacket(p);
  }

  private handlePacket(p: Received): void {
    const answer = decodeAnswer(p);
    if (answer === undefined) {
      this.stats.ignoredPackets++;
      return;
    }
    const probe = this.match(answer, p);
    if (probe === undefined) {
      this.stats.unmatchedPackets++;
      return;
    }
    this.probes.remove(probe);
    const rtt = Math.max(0, Math.floor((p.rxNs - probe.txNs) / 1000));
    this.reply({
      token: probe.token,
      type: answer.kind === 'echo' ? 'reply' : answer.type,
      ipVersion: p.family,
      address: formatAddress(p.family, p.from),
      roundTripTime: rtt,
      mpls: answer.kind === 'echo' ? undefined : answer.mpls,
    });
  }

  /**
   * The probe an answer is for: by our ICMP identifier and sequence, or by the ports that carry
   * the sequence (UDP: destination port, source port or checksum, as mtr-packet places it), and
   * always the same family, protocol and destination.
   */
  private match(a: Answer, p: Received): Probe | undefined {
    const same = (probe: Probe | undefined, protocol: Probe['protocol'], dst: Uint8Array): Probe | undefined =>
      probe !== undefined && probe.family === p.family && probe.protocol === protocol && sameBytes(dst, probe.dst)
        ? probe
        : undefined;
    if (a.kind === 'echo') {
      return a.id === this.icmpId ? same(this.probes.get(a.sequence), 'icmp', p.from) : undefined;
    }
    const q = a.quoted;
    switch (q.protocol) {
      case 'icmp':
        if (q.icmpId !== this.icmpId || q.icmpSeq === undefined) return undefined;
        return same(this.probes.get(q.icmpSeq), 'icmp', q.dst);
      case 'udp':
        for (const s of [q.dstPort, q.srcPort, q.udpChecksum]) {
          if (s === undefined) continue;
          const probe = same(this.probes.get(s), 'udp', q.dst);
          if (probe !== undefined && probe.srcPort === q.srcPort && probe.dstPort === q.dstPort) return probe;
        }
        return undefined;
      case 'tcp':
      case 'sctp': {
        if (q.srcPort === undefined) return undefined;
        const probe = same(this.probes.get(q.srcPort), q.protocol, q.dst);
        return probe !== undefined && probe.dstPort === q.dstPort ? probe : undefined;
      }
    }
  }

  /** Answers `no-reply` for every probe past its deadline. */
  expire(nowNs: number = this.transport.now()): void {
    for (const probe of this.probes.takeExpired(nowNs)) {
      this.reply({ token: probe.token, type: 'no-reply' });
    }
  }

  /** ns until the earliest deadline, or undefined when nothing is in flight */
  nextDeadlineIn(nowNs: number = this.transport.now()): number | undefined {
    const p = this.probes.peekDeadline();
    return p === undefined ? undefined : Math.max(0, p.deadlineNs - nowNs);
  }

  get inFlight(): number {
    return this.probes.size;
  }
}

function inByteOrDefault(v: number): boolean {
  return v >= -1 && v <= 255;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export { DEFAULT_MAX_IN_FLIGHT };
