// A reply's meaning for the one who sent the probe. Parsing is @mtr-ts/protocol's; this file only
// sorts its replies into outcomes. Not part of the published declarations (they must not name the
// private protocol package): outcomeOfLine in outcome.ts is the public face.

import type { MplsLabel as ProtocolMplsLabel, ProbeProtocol as ProtocolProbeProtocol, Reply, SendProbeRequest } from '@mtr-ts/protocol';
import type { ProbeFields } from './mtr-packet.js';
import type { MplsLabel, ProbeOutcome, ProbeProtocol, RefusalReason } from './outcome.js';

// The published types restate a few of @mtr-ts/protocol's (the declarations must not name that
// private package); these fail to compile the day the two drift apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const SAME_TYPES: [
  Same<ProbeFields, Omit<SendProbeRequest, 'token' | 'command'>>,
  Same<MplsLabel, ProtocolMplsLabel>,
  Same<ProbeProtocol, ProtocolProbeProtocol>,
] = [true, true, true];

/** The words mtr 0.95 prints for the replies it stops on. */
const MESSAGES: Record<Exclude<RefusalReason, 'unknown-reply'>, string> = {
  'probes-exhausted': 'Probes exhausted',
  'invalid-argument': 'mtr-packet reported invalid argument',
  'permission-denied': 'Permission denied',
  'address-in-use': 'Address in use',
  'address-not-available': 'Address not available',
  'unexpected-error': 'Unexpected mtr-packet error',
  'unknown-command': 'mtr-packet does not know the command',
  'command-parse-error': 'mtr-packet could not parse the command',
  'command-buffer-overflow': 'mtr-packet command buffer overflow',
};

function refused(reason: Exclude<RefusalReason, 'unknown-reply'>, detail?: string, extra = ''): ProbeOutcome {
  return { kind: 'refused', reason, message: MESSAGES[reason] + extra, detail };
}

type Detailed = { icmpType?: number | undefined; icmpCode?: number | undefined; mtu?: number | undefined; replyTtl?: number | undefined; nat?: true };

/**
 * An answered outcome with the icmp-detail extension's fields of its reply (none unless the session asked
 * for them) and `nat 1` (extension `flow`) carried over, added in that order; absent otherwise, so 0.95's
 * outcomes are unchanged. Added to the literal, not spread into it: a spread per reply is V8's slow path.
 */
function detailed(o: ProbeOutcome, r: Detailed): ProbeOutcome {
  const d = o as { -readonly [K in keyof Detailed]: Detailed[K] };
  if (r.icmpType !== undefined) d.icmpType = r.icmpType;
  if (r.icmpCode !== undefined) d.icmpCode = r.icmpCode;
  if (r.mtu !== undefined) d.mtu = r.mtu;
  if (r.replyTtl !== undefined) d.replyTtl = r.replyTtl;
  if (r.nat === true) d.nat = true;
  return o;
}

/** The outcome of the reply to a send-probe. */
export function outcomeOf(r: Reply): ProbeOutcome {
  switch (r.type) {
    case 'reply':
    case 'ttl-expired':
      return detailed({ kind: r.type, address: r.address, rtt: r.roundTripTime, mpls: r.mpls }, r);
    case 'no-route':
      if ('address' in r) return detailed({ kind: 'unreachable', reason: 'no-route', address: r.address, rtt: r.roundTripTime, mpls: r.mpls }, r);
      return { kind: 'send-failed', reason: 'no-route' };
    case 'no-route-network':
    case 'no-route-host':
    case 'host-down':
      // the 0.96 dialect also says these bare, for a send that failed
      if (!('address' in r)) return { kind: 'send-failed', reason: 'no-route' };
      return detailed({ kind: 'unreachable', reason: r.type, address: r.address, rtt: r.roundTripTime, mpls: r.mpls }, r);
    case 'no-reply':
      return { kind: 'no-reply' };
    case 'network-down':
      return { kind: 'send-failed', reason: 'network-down' };
    case 'invalid-argument':
      return refused(r.type, r.reason, r.reason !== undefined ? ` (${r.reason})` : '');
    case 'unexpected-error':
      return refused(r.type, String(r.errno), ` (errno ${r.errno})`);
    case 'probes-exhausted':
    case 'permission-denied':
    case 'address-in-use':
    case 'address-not-available':
    case 'unknown-command':
    case 'command-parse-error':
    case 'command-buffer-overflow':
      return refused(r.type);
    case 'feature-support':
      return { kind: 'refused', reason: 'unknown-reply', message: 'feature-support reply to a probe', detail: `feature-support ${r.support}` };
    case 'packet-too-big':
      return r.mtu === undefined ? { kind: 'send-failed', reason: r.type } : { kind: 'send-failed', reason: r.type, mtu: r.mtu };
    case 'unknown':
      return { kind: 'refused', reason: 'unknown-reply', message: `unexpected reply from the packet program: ${r.line.trim()}`, detail: r.line.trim() };
  }
}

