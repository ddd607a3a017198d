// The daemon's core: one request line in, replies out, probes matched to answers.
// No I/O of its own: lines arrive through handleLine, packets through handlePackets,
// time through the transport's clock; replies leave through `write`. main.ts wires it up.

import {
  decodeRequest,
  formatReply,
  parseCommandLine,
  DEFAULT_DIALECT,
  ERRNO,
  FLOW_FEATURE,
  MAX_FLOW,
  SUPPORT,
  replyForErrno,
  type Dialect,
  type CheckSupportRequest,
  type MplsLabel,
  type ProbeResultName,
  type RawCommand,
  type Reply,
  type SendProbeRequest,
} from '@mtr-ts/protocol';
import { decodeAnswer, formatAddress, parseAddress, udpFlowSequence, type AnswerDetail } from './codec.js';
import { Extensions } from './extensions.js';
import { supportOf } from './check-support.js';
import { destinationKind, echoSource } from './destination.js';
import { matchAnswer, matchNatRewrite, quotedSourceRewritten, type MatchLookup } from './matcher.js';
import { sendDgram, sendRaw, sendStream, type SenderContext, type Sent } from './send-probe.js';
import { SourceCache } from './source-cache.js';
import { IdMap } from './id-map.js';
import { ProbeTable, type Probe, DEFAULT_MAX_IN_FLIGHT } from './probes.js';
import {
  isSendError,
  type ProbeOptions,
  type Received,
  type TcpEnd,
  type Transport,
  type TxStampRecord,
} from './transport.js';


const TCP_ICMP_GRACE_NS = 20e6;
/** flow source ports (without local-port) are drawn from the dynamic range */
const FLOW_PORT_MIN = 49152;

export interface DaemonOptions {
  maxInFlight?: number;
  /** the per-process ICMP identifier; random when not given */
  icmpId?: number;
  /** the IPv4 identification of raw IPv4 probes (1..65535); random when not given */
  ipId?: number;
  firstSequence?: number;
  /** extension `flow`: flow 0's source port when a probe gives no local-port; random when not given */
  flowPortBase?: number;
  /** extension `flow`: the 4-byte tag of UDP flow payloads; random when not given */
  flowTag?: Uint8Array;
  /** which probe protocols this build can send */
  protocols?: ReadonlySet<string>;
  /** whether SO_MARK may be set (needs CAP_NET_ADMIN) */
  markSupported?: boolean;
  /** the protocol's words: 0.95's (default) or 0.96's (names.ts DIALECTS) */
  dialect?: Dialect;
}

export interface DaemonStats {
  ignoredPackets: number;
  unmatchedPackets: number;
  /** faults of ours caught at the edge of a command or a packet */
  internalErrors: number;
}

/** How many random identifiers a daemon tries to claim before it goes on with an unclaimed one. */
export const ICMP_ID_TRIES = 64;

/**
 * A random ICMP identifier that no other daemon of this network namespace holds (raw probes
 * carry it: echo identifier, raw UDP source port), claimed through the transport for the
 * daemon's life: two daemons never match each other's answers by a shared identifier. When
 * every try is taken (or the transport cannot claim), the last one drawn, unclaimed.
 */
export function pickIcmpId(transport: Pick<Transport, 'reserveIcmpId'>, random: () => number = Math.random): number {
  let id = 0;
  for (let i = 0; i < ICMP_ID_TRIES; i++) {
    id = Math.floor(random() * 0x10000);
    if (transport.reserveIcmpId === undefined || transport.reserveIcmpId(id)) return id;
  }
  return id;
}

/**
 * A random 4-byte flow tag whose first two bytes (TCP flows' tag, codec.ts tcpFlowTag) no other daemon
 * of this network namespace holds, claimed through the transport for the daemon's life: two daemons'
 * TCP flow probes never share a tag, so never an answer. As pickIcmpId: the last one drawn when every
 * try is taken.
 */
export function pickFlowTag(transport: Pick<Transport, 'reserveTcpFlowTag'>, random: () => number = Math.random): Uint8Array {
  const tag = new Uint8Array(4);
  for (let i = 0; i < ICMP_ID_TRIES; i++) {
    for (let k = 0; k < 4; k++) tag[k] = Math.floor(random() * 256);
    if (transport.reserveTcpFlowTag === undefined || transport.reserveTcpFlowTag((tag[0]! << 8) | tag[1]!)) break;
  }
  return tag;
}

export class Daemon {
  readonly probes: ProbeTable;
  readonly icmpId: number;
  readonly dialect: Dialect;
  /** the IPv4 identification of our raw IPv4 probes: a second identity beside icmpId, never 0 */
  readonly ipId: number;
  /** extension `flow`: the tag in this daemon's UDP flow payloads */
  readonly flowTag: Uint8Array;
  readonly stats: DaemonStats = { ignoredPackets: 0, unmatchedPackets: 0, internalErrors: 0 };
  private readonly protocols: ReadonlySet<string>;
  private readonly markSupported: boolean;
  private readonly sources: SourceCache;
  /** the protocol extensions this session turned on (none at start: 0.95's protocol) */
  readonly extensions: Extensions;
  /** TCP probes by the native probe id */
  private readonly tcpProbes = new IdMap<Probe>();
  /** raw probes waiting for their kernel transmit stamp, by the txId their send was given */
  private readonly txProbes = new IdMap<Probe>();
  /** TCP flows: which families deliver SYN-ACKs and RSTs (asked of the transport at the first TCP flow probe) */
  private segments: { ip4: boolean; ip6: boolean } | undefined;
  /** datagram mode: the ping sockets' ports, which the kernel uses as ICMP identifiers (IPv4, IPv6) */
  private readonly pingIds: [number, number] = [-1, -1];
  /** what the send strategies use of the daemon */
  private readonly sender: SenderContext;
  /** what the matcher sees of the tables */
  private readonly lookup: MatchLookup = {
    bySequence: (sequence) => this.probes.get(sequence),
    byTcpId: (id) => this.tcpProbes.get(id),
    udpFlowSequence: (ipId) => udpFlowSequence(this.ipId, ipId),
    flowTag: () => this.flowTag,
    icmpId: (source, family) => (source === 'raw' ? this.icmpId : this.pingIds[family === 4 ? 0 : 1]),
  };
  /** raw probes queued in the transport's rawQueue this slice, in command order (flushSends sends them) */
  private pendingSends: PendingSend[] = [];
  /** called whenever the earliest deadline may have changed */
  onDeadlineChange: () => void = () => {};

  constructor(
    private readonly transport: Transport,
    private readonly write: (line: string) => void,
    opts: DaemonOptions = {},
  ) {
    this.probes = new ProbeTable(opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT, opts.firstSequence);
    this.icmpId = opts.icmpId ?? pickIcmpId(transport);
    this.dialect = opts.dialect ?? DEFAULT_DIALECT;
    this.ipId = opts.ipId ?? 1 + Math.floor(Math.random() * 0xffff);
    this.protocols = opts.protocols ?? new Set(['icmp', 'udp', 'tcp', 'sctp']);
    this.markSupported = opts.markSupported ?? false;
    // don't-fragment: raw sockets (IPv4: the DF bit of the header we build; IPv6: IPV6_DONTFRAG per packet)
    this.extensions = new Extensions({ dontFragment: (family) => (family === 4 ? transport.mode4 : transport.mode6) === 'raw' });
    this.flowTag = opts.flowTag ?? pickFlowTag(transport);
    this.sources = new SourceCache((family, dst) => transport.sourceAddress(family, dst));
    let nextTxId = 0;
    this.sender = {
      transport,
      probes: this.probes,
      sources: this.sources,
      icmpId: this.icmpId,
      ipId: this.ipId,
      flowTag: this.flowTag,
      flowPortBase: opts.flowPortBase ?? FLOW_PORT_MIN + Math.floor(Math.random() * (0x10000 - MAX_FLOW - FLOW_PORT_MIN)),
      takeTxId: () => {
        // A fresh id per send (uint32, wrapping): a stamp is only ever taken for the send it names.
        const id = nextTxId;
        nextTxId = (id + 1) >>> 0;
        return id;
      },
      pingSocketPort: (family, port) => {
        this.pingIds[family === 4 ? 0 : 1] = port;
      },
    };
  }

  private reply(r: Reply): void {
    // Queued probes leave first: a send error is then answered in command order, as when each
    // probe was sent at once.
    if (this.pendingSends.length > 0) this.flushSends();
    this.write(formatReply(r));
  }

  /**
   * Sends the raw probes queued since the last flush (one native call; sendmmsg) and puts them in
   * flight, or answers each that failed. Call it after each slice of commands; a reply flushes
   * first by itself.
   */
  flushSends(): void {
    const pending = this.pendingSends;
    if (pending.length === 0) return;
    this.pendingSends = [];
    const queue = this.transport.rawQueue!;
    try {
      queue.flush();
    } catch {
      // A fault of ours: no probe of the batch is lost without an answer.
      this.stats.internalErrors++;
      for (const p of pending) this.reply({ token: p.probe.token, type: 'unexpected-error', errno: 0 });
      return;
    }
    const earliest = this.probes.peekDeadline();
    let sooner = false;
    for (const p of pending) {
      const probe = p.probe;
      const errno = queue.errno(p.index);
      if (errno !== 0) {
        this.sendFailed(probe.token, probe.family, probe.dst, p.dontFragment, { errno });
        continue;
      }
      probe.txNs = queue.departure(p.index);
      probe.deadlineNs = probe.txNs + p.timeoutNs;
      this.probes.add(probe);
      if (probe.txId >= 0) this.txProbes.set(probe.txId, probe);
      if (earliest === undefined || probe.deadlineNs < earliest.deadlineNs) sooner = true;
    }
    if (sooner) this.onDeadlineChange();
  }

  /** The answer to a probe whose send failed with e. */
  private sendFailed(token: number, family: 4 | 6, dst: Uint8Array, dontFragment: boolean, e: unknown): void {
    // extension dont-fragment: larger than the path MTU the kernel knows for this destination (learnt
    // from a Fragmentation Needed): not sent; said with the MTU we saw reported, when we did
    if (dontFragment && isSendError(e) && e.errno === ERRNO.EMSGSIZE) {
      this.reply({ token, type: 'packet-too-big', mtu: this.extensions.knownMtu(formatAddress(family, dst)) });
      return;
    }
    // A send error maps to its reply; anything else the layer below refused is a bad argument.
    this.reply(
      isSendError(e) ? replyForErrno(token, e.errno, this.dialect) : { token, type: 'invalid-argument', reason: undefined },
    );
  }

  /** A command line from the framer (without its newline). */
  handleLine(line: string): void {
    const cmd = parseCommandLine(line);
    if (cmd === undefined) {
      this.reply({ token: 0, type: 'command-parse-error' });
      return;
    }
    try {
      this.dispatch(cmd);
    } catch {
      // A fault of ours must not cost the command its answer, nor the daemon its life.
      this.stats.internalErrors++;
      this.reply({ token: cmd.token, type: 'unexpected-error', errno: 0 });
    }
  }

  private dispatch(cmd: RawCommand): void {
    const req = decodeRequest(cmd, this.extensions.decode);
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
    const support = this.extensions.ask(req.feature) ?? this.support(req.feature);
    // asking for an extension this daemon has turns it on
    if (req.feature === FLOW_FEATURE && support === SUPPORT.ok) this.extensions.turnOnFlow();
    this.reply({ token: req.token, type: 'feature-support', support });
  }

  support(feature: string): string {
    const transport = this.transport;
    return supportOf(feature, {
      get mode4() {
        return transport.mode4;
      },
      get mode6() {
        return transport.mode6;
      },
      protocolSupported: (p) => this.protocolSupported(p),
      markSupported: this.markSupported,
    }, this.dialect);
  }

  private protocolSupported(p: string): boolean {
    // SCTP probes are the kernel's SCTP association attempts, as mtr-packet's: only where it has SCTP
    if (p === 'sctp' && !this.transport.sctp) return false;
    return this.protocols.has(p);
  }

  private modeOf(family: 4 | 6): 'raw' | 'dgram' | 'none' {
    return family === 4 ? this.transport.mode4 : this.transport.mode6;
  }

  private sendProbe(req: SendProbeRequest): void {
    const { token } = req;
    const family = req.ipVersion;
    if (family === undefined || this.modeOf(family) === 'none') {
      this.reply({ token, type: 'invalid-argument', reason: 'ip-version-not-supported' });
      return;
    }
    if (!this.protocolSupported(req.protocol)) {
      this.reply({ token, type: 'invalid-argument', reason: 'protocol-not-supported' });
      return;
    }
    if (this.probes.full || this.probes.size + this.pendingSends.length >= this.probes.maxInFlight) {
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
    // extension `flow`: honoured once asked for (0.95 ignores the pair, and so do we before that)
    const flow = this.extensions.flowOn ? req.flow : undefined;
    // Hop limit and traffic class as socket values (IPv6, and every probe sent through a socket
    // of its own kind): -1 is the kernel's default, anything outside -1..255 is EINVAL, as it is
    // for mtr-packet's setsockopt. Raw IPv4 headers take them cut to 8 bits, as 0.95 does.
    // A TCP flow probe is a raw SYN, built whole like the ICMP and UDP probes.
    const stream = (req.protocol === 'tcp' && flow === undefined) || req.protocol === 'sctp';
    const rawV4 = family === 4 && this.modeOf(4) === 'raw' && !stream;
    // extension dont-fragment: only where this daemon can set it (raw ICMP and UDP probes)
    if (req.dontFragment === true && !(!stream && this.modeOf(family) === 'raw' && this.extensions.canDontFragment(family))) {
      this.reply({ token, type: 'invalid-argument', reason: undefined });
      return;
    }
    if (!rawV4 && !(inByteOrDefault(req.ttl) && inByteOrDefault(req.tos))) {
      this.reply({ token, type: 'invalid-argument', reason: undefined });
      return;
    }

    // Special destinations, as 0.95 answers them; then, as 0.95 finds its source address before
    // sending, a destination the kernel will not route to (broadcast, a link-local or multicast
    // address without scope) is invalid-argument, and one without a route is no-route (0.95:
    // invalid-argument, see the README). With a mark or device the route depends on them: the
    // send itself answers.
    const kind = destinationKind(family, dst);
    if (kind === 'ipv4-mapped') {
      this.reply({ token, type: 'address-not-available' });
      return;
    }
    if (kind === 'ipv6-multicast') {
      this.reply({ token, type: 'invalid-argument', reason: undefined });
      return;
    }
    if (src === undefined && req.mark === undefined && req.localDevice === undefined) {
      try {
        this.sources.get(family, dst);
      } catch (e) {
        const unreachable = isSendError(e) && (e.errno === ERRNO.ENETUNREACH || e.errno === ERRNO.EHOSTUNREACH);
        this.reply(unreachable ? replyForErrno(token, e.errno, this.dialect) : { token, type: 'invalid-argument', reason: undefined });
        return;
      }
    }

    // flows are built whole (raw sockets), for ICMP, UDP and TCP (whose answers need the transport's
    // raw TCP receive); any other combination (datagram mode, SCTP) is invalid-argument
    if (
      flow !== undefined &&
      (!Number.isInteger(flow) ||
        flow < 0 ||
        flow > MAX_FLOW ||
        this.modeOf(family) !== 'raw' ||
        (req.protocol !== 'icmp' && req.protocol !== 'udp' && !(req.protocol === 'tcp' && this.segmentsFor(family))))
    ) {
      this.reply({ token, type: 'invalid-argument', reason: undefined });
      return;
    }

    const opts: ProbeOptions = { ttl: req.ttl, tos: req.tos };
    // SO_MARK is a u32: 0.95 passes the int it parsed, so 3000000000 and -1 are marks too
    if (req.mark !== undefined) opts.mark = req.mark >>> 0;
    if (req.localDevice !== undefined) opts.device = req.localDevice;
    if (src !== undefined) opts.src = src;

    // a probe sent at once (a device's, or not raw) leaves after the ones queued before it
    if (this.pendingSends.length > 0 && (opts.device !== undefined || stream || this.modeOf(family) !== 'raw')) this.flushSends();
    let sent: Sent;
    try {
      const s =
        stream
          ? sendStream(this.sender, req, family, dst, opts)
          : this.modeOf(family) === 'dgram'
            ? sendDgram(this.sender, req, family, dst, opts)
            : sendRaw(this.sender, req, family, dst, src, opts, flow);
      if (s === undefined) {
        this.reply({ token, type: 'invalid-argument', reason: undefined });
        return;
      }
      sent = s;
    } catch (e) {
      this.sendFailed(token, family, dst, req.dontFragment === true, e);
      return;
    }

    const probe: Probe = {
      token,
      family,
      protocol: req.protocol,
      dst,
      echoFrom: echoSource(family, dst),
      sequence: sent.sequence,
      srcPort: sent.srcPort,
      dstPort: sent.dstPort,
      tcpId: sent.tcpId,
      failedErrno: 0,
      txNs: sent.txNs,
      deadlineNs: sent.txNs + req.timeout * 1e9,
      heapIndex: -1,
      addOrder: 0,
      txId: sent.txId ?? -1,
      // one shape for every probe (see send-probe.ts): absent fields are there, undefined
      ipId: sent.ipId,
      icmpLength: sent.icmpLength,
      icmpPattern: sent.icmpPattern,
      flow: sent.flow,
      flowIcmpId: sent.flowIcmpId,
      flowChecksum: sent.flowChecksum,
      src: sent.src,
    };
    if (sent.queued !== undefined) {
      // in flight once flushSends has sent it
      this.pendingSends.push({ probe, index: sent.queued, timeoutNs: req.timeout * 1e9, dontFragment: req.dontFragment === true });
      return;
    }
    const earliest = this.probes.peekDeadline();
    this.probes.add(probe);
    if (probe.tcpId >= 0) this.tcpProbes.set(probe.tcpId, probe);
    if (sent.txId !== undefined) this.txProbes.set(sent.txId, probe);
    if (earliest === undefined || probe.deadlineNs < earliest.deadlineNs) this.onDeadlineChange();
  }

  /** Whether TCP flow probes' answers come in for this family (asks the transport once). */
  private segmentsFor(family: 4 | 6): boolean {
    if (this.segments === undefined) {
      try {
        this.segments = this.transport.watchSegments?.() ?? { ip4: false, ip6: false };
      } catch {
        this.segments = { ip4: false, ip6: false };
      }
    }
    return family === 4 ? this.segments.ip4 : this.segments.ip6;
  }

  /** A batch of received packets from the transport. */
  handlePackets(batch: readonly Received[]): void {
    for (const p of batch) {
      try {
        if (p.source === 'tcp') this.handleTcpEnd(p);
        else if (p.source === 'tx') this.handleTxStamp(p);
        else this.handlePacket(p);
      } catch {
        // whatever arrives from the network, the daemon goes on
        this.stats.internalErrors++;
      }
    }
  }

  /**
   * The kernel's transmit timestamp of a raw probe: taken as the driver hands the packet to the
   * device, it replaces the clock read before the send (which can run tens of µs early on a cold
   * send path, or far more when the packet waited for neighbour resolution). The deadline stays.
   */
  private handleTxStamp(p: TxStampRecord): void {
    const probe = this.txProbes.get(p.txId);
    if (probe === undefined) return;
    this.txProbes.delete(p.txId);
    probe.txId = -1;
    probe.txNs = p.rxNs;
  }

  private handlePacket(p: Received): void {
    const answer = decodeAnswer(p, { packetTooBig: this.extensions.icmpDetailOn });
    if (answer === undefined) {
      this.stats.ignoredPackets++;
      return;
    }
    // icmp-detail's reply-ttl where there is no IP header to read it from (IPv6, datagram sockets):
    // the hop limit the socket reported
    const hopLimit = (p.source === 'raw' || p.source === 'ping') && p.hopLimit !== undefined ? p.hopLimit : undefined;
    if (hopLimit !== undefined && answer.detail !== undefined && answer.detail.replyTtl === undefined) answer.detail.replyTtl = hopLimit;
    let probe = matchAnswer(answer, p, this.lookup);
    let nat = false;
    if (probe === undefined && this.extensions.flowOn) {
      probe = matchNatRewrite(answer, p, this.lookup);
      nat = probe !== undefined;
    } else if (probe !== undefined && this.extensions.flowOn) {
      nat = quotedSourceRewritten(answer, probe);
    }
    if (probe === undefined) {
      this.stats.unmatchedPackets++;
      return;
    }
    this.answer(
      probe,
      p,
      answer.kind === 'echo' || answer.kind === 'segment' ? 'reply' : answer.type,
      answer.kind === 'quoted' ? answer.mpls : undefined,
      answer.detail,
      nat,
    );
  }

  /** Answers a probe. The reply is written first: should that fail, the probe stays in flight and its deadline still answers it. */
  private answer(
    probe: Probe,
    p: Received,
    result: ProbeResultName,
    mpls: MplsLabel[] | undefined,
    detail: AnswerDetail | undefined,
    nat: boolean,
  ): void {
    // 0.96 says no-route-host for a router's Destination Unreachable (whatever its code)
    const type = result === 'no-route' && this.dialect === '0.96' ? 'no-route-host' : result;
    // The matcher never takes an answer stamped before its probe left, and a TCP end is stamped
    // after its connect(): no clamping hides a wrong match.
    const rtt = Math.floor((p.rxNs - probe.txNs) / 1000);
    if (detail?.mtu !== undefined) this.extensions.noteMtu(formatAddress(probe.family, probe.dst), detail.mtu);
    this.reply(
      this.extensions.detail(
        {
          token: probe.token,
          type,
          ipVersion: p.family,
          address: formatAddress(p.family, p.from),
          roundTripTime: rtt,
          mpls,
        },
        detail,
        nat,
      ),
    );
    this.finish(probe);
  }

  /** Takes a probe out of the table and lets go of what it holds. */
  private finish(probe: Probe): void {
    this.probes.remove(probe);
    this.release(probe);
  }

  /** Forgets a finished probe's transmit stamp and closes its TCP socket, if still open. */
  private release(probe: Probe): void {
    if (probe.txId >= 0) {
      this.txProbes.delete(probe.txId);
      probe.txId = -1;
    }
    if (probe.tcpId >= 0) {
      this.tcpProbes.delete(probe.tcpId);
      const id = probe.tcpId;
      probe.tcpId = -1;
      try {
        this.transport.closeTcp(id);
      } catch {
        this.stats.internalErrors++; // the probe is answered either way
      }
    }
  }

  /**
   * A TCP probe's connect ended. Connected or refused: the destination answered. Any other
   * error (EHOSTUNREACH when a router's ICMP error aborted the connect) waits a moment for the
   * ICMP message itself, which names the router; without it, the errno is the answer, as with
   * mtr-packet.
   */
  private handleTcpEnd(p: TcpEnd): void {
    const probe = this.tcpProbes.get(p.tcpId);
    if (probe === undefined) return;
    const err = p.tcpErrno;
    if (err === 0 || err === ERRNO.ECONNREFUSED) {
      this.answer(probe, p, 'reply', undefined, undefined, false);
      return;
    }
    this.tcpProbes.delete(probe.tcpId);
    probe.tcpId = -1; // the native layer has closed it
    probe.failedErrno = err;
    const at = this.transport.now() + TCP_ICMP_GRACE_NS;
    if (at < probe.deadlineNs) {
      this.probes.reschedule(probe, at);
      this.onDeadlineChange();
    }
  }

  /** Answers `no-reply` for every probe past its deadline. */
  expire(nowNs: number = this.transport.now()): void {
    for (const probe of this.probes.takeExpired(nowNs)) {
      this.release(probe);
      this.reply(probe.failedErrno ? replyForErrno(probe.token, probe.failedErrno, this.dialect) : { token: probe.token, type: 'no-reply' });
    }
  }

  /** the earliest deadline (ns, on the transport's clock), or undefined when nothing is in flight */
  nextDeadline(): number | undefined {
    return this.probes.peekDeadline()?.deadlineNs;
  }

  /** ns until the earliest deadline, or undefined when nothing is in flight */
  nextDeadlineIn(nowNs: number = this.transport.now()): number | undefined {
    const deadline = this.nextDeadline();
    return deadline === undefined ? undefined : Math.max(0, deadline - nowNs);
  }

  get inFlight(): number {
    return this.probes.size + this.pendingSends.length;
  }
}

/** A raw probe in the transport's rawQueue, not sent yet. */
interface PendingSend {
  probe: Probe;
  /** its index in the queue */
  index: number;
  timeoutNs: number;
  dontFragment: boolean;
}

function inByteOrDefault(v: number): boolean {
  return v >= -1 && v <= 255;
}

export { DEFAULT_MAX_IN_FLIGHT };
