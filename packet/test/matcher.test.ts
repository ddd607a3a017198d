// The matcher as a table: one answer, the probes in flight, and which probe (if any) it is for.

import { describe, expect, it } from 'vitest';
import { parseIPv4, parseIPv6, type QuotedProbe } from '@mtr-ts/native/wire';
import type { Answer } from '../src/codec.js';
import { matchAnswer, type MatchLookup } from '../src/matcher.js';
import type { Probe } from '../src/probes.js';
import type { Received } from '../src/transport.js';

const DST4 = parseIPv4('10.0.4.2')!;
const OTHER4 = parseIPv4('10.0.4.3')!;
const DST6 = parseIPv6('fd00::2')!;
const ROUTER4 = parseIPv4('10.0.2.2')!;
const ICMP_ID = 0x1234;
const IP_ID = 0x4321;
const TX = 5_000_000;

function probe(p: Partial<Probe> & Pick<Probe, 'sequence' | 'protocol'>): Probe {
  return {
    token: p.sequence,
    family: 4,
    dst: DST4,
    srcPort: 0,
    dstPort: 0,
    tcpId: -1,
    failedErrno: 0,
    txNs: TX,
    txId: -1,
    deadlineNs: TX + 10e9,
    heapIndex: -1,
    ...p,
  };
}

const IN_FLIGHT: Probe[] = [
  probe({ sequence: 40000, protocol: 'icmp', ipId: IP_ID, icmpLength: 44, icmpPattern: 0 }),
  probe({ sequence: 40001, protocol: 'icmp', family: 6, dst: DST6, icmpLength: 40, icmpPattern: 0 }),
  probe({ sequence: 40002, protocol: 'udp', srcPort: ICMP_ID, dstPort: 40002, ipId: IP_ID }),
  probe({ sequence: 40003, protocol: 'udp', srcPort: 40003, dstPort: 53, ipId: IP_ID }),
  probe({ sequence: 40004, protocol: 'udp', srcPort: 5000, dstPort: 53, ipId: IP_ID }),
  probe({ sequence: 40005, protocol: 'tcp', srcPort: 40005, dstPort: 80, tcpId: 7 }),
  probe({ sequence: 40006, protocol: 'icmp', icmpLength: 44 }), // datagram mode: no IPv4 id of ours
];

const lookup: MatchLookup = {
  bySequence: (s) => IN_FLIGHT.find((p) => p.sequence === s),
  byTcpId: (id) => IN_FLIGHT.find((p) => p.tcpId === id),
  icmpId: (source) => (source === 'raw' ? ICMP_ID : 777),
};

function received(r: Partial<Received>): Received {
  return { source: 'raw', family: 4, from: ROUTER4, data: new Uint8Array(0), rxNs: TX + 1000, ...r } as Received;
}

function quoted(q: Partial<QuotedProbe> & Pick<QuotedProbe, 'protocol'>): Answer {
  return { kind: 'quoted', type: 'ttl-expired', mpls: undefined, quoted: { src: ROUTER4, dst: DST4, ...q } };
}

type Row = [name: string, answer: Answer, packet: Received, expected: number | undefined];

const rows: Row[] = [
  ['echo reply by identifier, sequence and sender', { kind: 'echo', id: ICMP_ID, sequence: 40000, length: 44, pattern: 0 }, received({ from: DST4 }), 40000],
  ['echo reply with another identifier', { kind: 'echo', id: 0x9999, sequence: 40000, length: 44, pattern: 0 }, received({ from: DST4 }), undefined],
  ['echo reply from another host', { kind: 'echo', id: ICMP_ID, sequence: 40000, length: 44, pattern: 0 }, received({ from: OTHER4 }), undefined],
  ['echo reply of another length (another prober with our identifier)', { kind: 'echo', id: ICMP_ID, sequence: 40000, length: 64, pattern: 0 }, received({ from: DST4 }), undefined],
  ['echo reply stamped before the probe left', { kind: 'echo', id: ICMP_ID, sequence: 40000, length: 44, pattern: 0 }, received({ from: DST4, rxNs: TX - 1 }), undefined],
  ['echo reply stamped as the probe left', { kind: 'echo', id: ICMP_ID, sequence: 40000, length: 44, pattern: 0 }, received({ from: DST4, rxNs: TX }), 40000],
  ['echo reply in the other family', { kind: 'echo', id: ICMP_ID, sequence: 40000, length: 44, pattern: 0 }, received({ family: 6, from: DST4 }), undefined],
  ['IPv6 echo reply', { kind: 'echo', id: ICMP_ID, sequence: 40001, length: 40, pattern: 0 }, received({ family: 6, from: DST6 }), 40001],
  ['IPv6 echo reply with mixed data (another prober with our identifier, sequence and length)', { kind: 'echo', id: ICMP_ID, sequence: 40001, length: 40, pattern: -1 }, received({ family: 6, from: DST6 }), undefined],
  ['IPv6 echo reply repeating another byte than our bit pattern', { kind: 'echo', id: ICMP_ID, sequence: 40001, length: 40, pattern: 0x55 }, received({ family: 6, from: DST6 }), undefined],
  ['IPv4 echo reply with mixed data', { kind: 'echo', id: ICMP_ID, sequence: 40000, length: 44, pattern: -1 }, received({ from: DST4 }), undefined],
  ['ping socket echo reply, identifier = its port', { kind: 'echo', id: 777, sequence: 40006, length: 44, pattern: 0 }, received({ source: 'ping', from: DST4 }), 40006],
  ['quoted echo with our identifiers', quoted({ protocol: 'icmp', icmpId: ICMP_ID, icmpSeq: 40000, ipId: IP_ID }), received({}), 40000],
  ['quoted echo with another IPv4 identification', quoted({ protocol: 'icmp', icmpId: ICMP_ID, icmpSeq: 40000, ipId: 0x1111 }), received({}), undefined],
  ['quoted echo to another destination', quoted({ protocol: 'icmp', icmpId: ICMP_ID, icmpSeq: 40000, ipId: IP_ID, dst: OTHER4 }), received({}), undefined],
  ['quoted echo, stamped before the probe left', quoted({ protocol: 'icmp', icmpId: ICMP_ID, icmpSeq: 40000, ipId: IP_ID }), received({ rxNs: TX - 1000 }), undefined],
  ['quoted UDP, sequence in the destination port', quoted({ protocol: 'udp', srcPort: ICMP_ID, dstPort: 40002, ipId: IP_ID }), received({}), 40002],
  ['quoted UDP, sequence in the source port', quoted({ protocol: 'udp', srcPort: 40003, dstPort: 53, ipId: IP_ID }), received({}), 40003],
  ['quoted UDP, sequence in the checksum', quoted({ protocol: 'udp', srcPort: 5000, dstPort: 53, udpChecksum: 40004, ipId: IP_ID }), received({}), 40004],
  ['quoted UDP with a wrong source port', quoted({ protocol: 'udp', srcPort: 5001, dstPort: 40002, ipId: IP_ID }), received({}), undefined],
  ['quoted UDP of another prober (other IPv4 identification)', quoted({ protocol: 'udp', srcPort: ICMP_ID, dstPort: 40002, ipId: 7 }), received({}), undefined],
  ['quoted TCP by source port and destination port', quoted({ protocol: 'tcp', srcPort: 40005, dstPort: 80, ipId: 999 }), received({}), 40005],
  ['quoted TCP to another port', quoted({ protocol: 'tcp', srcPort: 40005, dstPort: 443 }), received({}), undefined],
  ['quoted TCP for the port\'s earlier owner (stamped before this probe left)', quoted({ protocol: 'tcp', srcPort: 40005, dstPort: 80 }), received({ rxNs: TX - 50_000 }), undefined],
  ['quoted SCTP for a TCP probe', quoted({ protocol: 'sctp', srcPort: 40005, dstPort: 80 }), received({}), undefined],
  [
    'queued TCP error by probe id',
    { kind: 'queued', type: 'no-route', protocol: 'tcp', dst: DST4, icmpId: undefined, icmpSeq: undefined, srcPort: 40005, dstPort: 80, payloadSeq: undefined, tcpId: 7 },
    received({ source: 'error' }),
    40005,
  ],
  [
    'queued TCP error stamped before the probe left',
    { kind: 'queued', type: 'no-route', protocol: 'tcp', dst: DST4, icmpId: undefined, icmpSeq: undefined, srcPort: 40005, dstPort: 80, payloadSeq: undefined, tcpId: 7 },
    received({ source: 'error', rxNs: 1 }),
    undefined,
  ],
  [
    'queued echo error by the ping socket identifier',
    { kind: 'queued', type: 'ttl-expired', protocol: 'icmp', dst: DST4, icmpId: 777, icmpSeq: 40006, srcPort: undefined, dstPort: undefined, payloadSeq: undefined, tcpId: undefined },
    received({ source: 'error' }),
    40006,
  ],
];

describe('matchAnswer', () => {
  for (const [name, answer, packet, expected] of rows) {
    it(`${name}: ${expected === undefined ? 'nobody' : `probe ${expected}`}`, () => {
      expect(matchAnswer(answer, packet, lookup)?.sequence).toBe(expected);
    });
  }
});
