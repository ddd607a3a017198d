// The protocol extensions (not in mtr-packet 0.95) a daemon session has turned on. A client turns
// one on by asking `check-support feature NAME`; the answer `ok` means it is on from then on, for
// this session (this process's stdin). Nothing is on at start: mtr 0.95, which never asks for
// these names, sees 0.95's replies and has 0.95's arguments ignored. Words: protocol/names.ts
// EXT_FEATURE / EXT_REPLY_ARG / EXT_ARG.

import { EXT_FEATURE, SUPPORT, type DecodeExtensions, type ProbeResultReply } from '@mtr-ts/protocol';
import type { AnswerDetail } from './codec.js';

/** What this daemon can do for the extensions, with the sockets it opened. */
export interface ExtensionFacts {
  /**
   * Whether a probe of this family can go out with don't-fragment. Raw IPv4: the DF bit in the
   * header we build; raw IPv6: IPV6_DONTFRAG on the packet. (Datagram sockets: not yet.)
   */
  dontFragment(family: 4 | 6): boolean;
}

/** destinations whose reported MTU is remembered, at most */
const MAX_MTU_ENTRIES = 1024;

export class Extensions {
  private icmpDetail = false;
  private dontFragment = false;
  private flow = false;

  constructor(private readonly facts: ExtensionFacts) {}

  /**
   * The answer to `check-support feature NAME` for an extension feature, turning it on when it is
   * `ok`; undefined when NAME is not an extension (check-support.ts answers it).
   */
  ask(feature: string): string | undefined {
    switch (feature) {
      case EXT_FEATURE.icmpDetail:
        this.icmpDetail = true;
        return SUPPORT.ok;
      case EXT_FEATURE.dontFragment:
        if (!this.facts.dontFragment(4) && !this.facts.dontFragment(6)) return SUPPORT.no;
        this.dontFragment = true;
        return SUPPORT.ok;
      default:
        return undefined;
    }
  }

  /** The extension arguments send-probe decodes now. */
  get decode(): DecodeExtensions {
    return { dontFragment: this.dontFragment };
  }

  /** Whether a don't-fragment probe of this family can be sent. */
  canDontFragment(family: 4 | 6): boolean {
    return this.dontFragment && this.facts.dontFragment(family);
  }

  /** `flow` (its check-support answer is check-support.ts's, from the sockets): turned on by an `ok` */
  turnOnFlow(): void {
    this.flow = true;
  }

  /** whether the flow extension is on (send-probe `flow N` honoured, replies may carry `nat 1`) */
  get flowOn(): boolean {
    return this.flow;
  }

  /**
   * The reply with the icmp-detail words when the session asked for them, and `nat 1` when a flow
   * probe's quote was rewritten (only ever found with the flow extension on); as given otherwise.
   */
  detail(r: ProbeResultReply, d: AnswerDetail | undefined, nat = false): ProbeResultReply {
    if (nat) r.nat = true;
    if (!this.icmpDetail || d === undefined) return r;
    const out: ProbeResultReply = { ...r };
    if (d.icmpType !== undefined && d.icmpCode !== undefined) {
      out.icmpType = d.icmpType;
      out.icmpCode = d.icmpCode;
    }
    if (d.mtu !== undefined) out.mtu = d.mtu;
    if (d.replyTtl !== undefined) out.replyTtl = d.replyTtl;
    return out;
  }

  /** the MTU the last Fragmentation Needed / Packet Too Big for a destination reported (bounded memory) */
  private readonly mtus = new Map<string, number>();

  /** An answer reported an MTU towards `dst` (its address as text). */
  noteMtu(dst: string, mtu: number): void {
    this.mtus.delete(dst);
    this.mtus.set(dst, mtu);
    if (this.mtus.size > MAX_MTU_ENTRIES) this.mtus.delete(this.mtus.keys().next().value as string);
  }

  /** The MTU last reported towards `dst`, if any. */
  knownMtu(dst: string): number | undefined {
    return this.mtus.get(dst);
  }

  /** whether icmp-detail is on (packet-too-big answers are only taken then: 0.95 ignores them) */
  get icmpDetailOn(): boolean {
    return this.icmpDetail;
  }
}
