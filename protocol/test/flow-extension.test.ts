// The `flow` extension's words (not in 0.95): send-probe `flow N` and a probe result's `nat 1`.
import { describe, expect, it } from 'vitest';
import {
  FLOW_ARG,
  FLOW_FEATURE,
  NAT_REPLY_ARG,
  defaultSendProbe,
  formatReply,
  formatRequest,
  parseReply,
  type Reply,
} from '../src/index.js';
import { MPLS_16, decode, probeResult } from './helpers.js';

describe('send-probe flow N', () => {
  it('names the words once', () => {
    expect([FLOW_FEATURE, FLOW_ARG, NAT_REPLY_ARG]).toEqual(['flow', 'flow', 'nat']);
  });

  it('decodes flow N and formats it back', () => {
    const r = decode('7 send-probe ip-4 10.0.0.1 ttl 3 flow 5');
    expect(r).toEqual({ ...defaultSendProbe(7), ipVersion: 4, address: '10.0.0.1', ttl: 3, flow: 5 });
    if (!('command' in r) || r.command !== 'send-probe') throw new Error('not a send-probe');
    const line = formatRequest(r);
    expect(line).toBe('7 send-probe ip-4 10.0.0.1 ttl 3 timeout 10 flow 5');
    expect(decode(line)).toEqual(r);
  });

  it('a bad value is never a parse error (0.95 ignores the pair): -1 for the daemon to judge', () => {
    expect(decode('7 send-probe ip-4 10.0.0.1 flow x')).toMatchObject({ command: 'send-probe', flow: -1 });
    expect(decode('7 send-probe ip-4 10.0.0.1 flow 70000')).toMatchObject({ command: 'send-probe', flow: 70000 });
  });

  it('without flow the request has no flow key (0.95 requests are unchanged)', () => {
    const r = decode('7 send-probe ip-4 10.0.0.1');
    expect(r).not.toHaveProperty('flow');
    expect(formatRequest(r as Parameters<typeof formatRequest>[0])).not.toContain('flow');
  });
});

describe('probe result nat 1', () => {
  const base = probeResult({ type: 'ttl-expired', address: '10.0.0.2', roundTripTime: 120 });

  it('formats after mpls and parses back', () => {
    const r: Reply = { ...base, nat: true };
    expect(formatReply(r)).toBe('9 ttl-expired ip-4 10.0.0.2 round-trip-time 120 nat 1');
    expect(parseReply(formatReply(r))).toEqual(r);
    const m: Reply = { ...base, mpls: [MPLS_16], nat: true };
    expect(formatReply(m)).toBe('9 ttl-expired ip-4 10.0.0.2 round-trip-time 120 mpls 16,0,1,1 nat 1');
    expect(parseReply(formatReply(m))).toEqual(m);
  });

  it('a reply without nat is 0.95 byte for byte, and has no nat key', () => {
    expect(formatReply(base)).toBe('9 ttl-expired ip-4 10.0.0.2 round-trip-time 120');
    expect(parseReply('9 ttl-expired ip-4 10.0.0.2 round-trip-time 120')).not.toHaveProperty('nat');
  });

  it('nat other than 1, or twice, is not a known reply', () => {
    expect(parseReply('9 ttl-expired ip-4 10.0.0.2 round-trip-time 120 nat 0')?.type).toBe('unknown');
    expect(parseReply('9 ttl-expired ip-4 10.0.0.2 round-trip-time 120 nat 1 nat 1')?.type).toBe('unknown');
  });
});
