// The protocol extensions' words (names.ts EXT_*): parsed and formatted by the one codec, and absent
// from every line unless the fields are set (a session that did not ask gets 0.95's lines).

import { describe, expect, it } from 'vitest';
import {
  EXT_ARG,
  EXT_FEATURE,
  EXT_REPLY_ARG,
  FEATURES,
  defaultSendProbe,
  formatReply,
  formatRequest,
  parseReply,
  type ProbeResultReply,
} from '../src/index.js';
import { MPLS_16, decode, probeResult } from './helpers.js';

const base = probeResult({ type: 'no-route', address: '10.0.2.2', roundTripTime: 1234 });

describe('icmp-detail words', () => {
  it('are not 0.95 feature names', () => {
    for (const f of Object.values(EXT_FEATURE)) expect(FEATURES as readonly string[]).not.toContain(f);
  });

  it('a probe result without them formats as 0.95 does', () => {
    expect(formatReply(base)).toBe('9 no-route ip-4 10.0.2.2 round-trip-time 1234');
  });

  it('format after round-trip-time and mpls, and parse back', () => {
    const r: ProbeResultReply = {
      ...base,
      mpls: [MPLS_16],
      icmpType: 3,
      icmpCode: 4,
      mtu: 1400,
      replyTtl: 62,
    };
    const line = formatReply(r);
    expect(line).toBe(
      '9 no-route ip-4 10.0.2.2 round-trip-time 1234 mpls 16,0,1,1 icmp-type 3 icmp-code 4 mtu 1400 reply-ttl 62',
    );
    expect(parseReply(line)).toEqual(r);
    expect(parseReply('9 ttl-expired ip-6 fd00::1 round-trip-time 5 reply-ttl 63')).toEqual({
      token: 9,
      type: 'ttl-expired',
      ipVersion: 6,
      address: 'fd00::1',
      roundTripTime: 5,
      mpls: undefined,
      replyTtl: 63,
    });
  });

  it('a repeated or malformed extension word makes the line unknown, as any malformed known shape', () => {
    expect(parseReply('9 reply ip-4 10.0.0.1 round-trip-time 5 mtu 1 mtu 2')?.type).toBe('unknown');
    expect(parseReply('9 reply ip-4 10.0.0.1 round-trip-time 5 reply-ttl x')?.type).toBe('unknown');
    expect(parseReply('9 reply ip-4 10.0.0.1 round-trip-time 5 nonsense 1')?.type).toBe('unknown');
  });

  it('names every word once', () => {
    expect(Object.values(EXT_REPLY_ARG)).toEqual(['icmp-type', 'icmp-code', 'mtu', 'reply-ttl']);
  });
});

describe('dont-fragment argument', () => {
  const line = `1 send-probe ip-4 10.0.0.1 ttl 3 ${EXT_ARG.dontFragment} 1 timeout 1`;

  it('is ignored unless the session turned it on (0.95 ignores unknown argument names)', () => {
    const req = decode(line);
    expect(req).toMatchObject({ command: 'send-probe', ttl: 3, timeout: 1 });
    expect((req as { dontFragment?: boolean }).dontFragment).toBeUndefined();
    // even a value 0.95 could not parse is ignored then
    expect(decode('1 send-probe ip-4 10.0.0.1 dont-fragment x')).toMatchObject({
      command: 'send-probe',
    });
  });

  it('decodes 0 or 1 when on; anything else is invalid-argument', () => {
    const on = { dontFragment: true };
    expect(decode(line, on)).toMatchObject({ dontFragment: true });
    expect(decode('1 send-probe ip-4 10.0.0.1 dont-fragment 0', on)).toMatchObject({
      dontFragment: false,
    });
    expect(decode('1 send-probe ip-4 10.0.0.1 dont-fragment 2', on)).toEqual({
      token: 1,
      type: 'invalid-argument',
      reason: undefined,
    });
  });

  it('is formatted only when set, and round-trips', () => {
    const req = { ...defaultSendProbe(4), ipVersion: 4 as const, address: '10.0.0.1', dontFragment: true };
    const text = formatRequest(req);
    expect(text).toBe('4 send-probe ip-4 10.0.0.1 ttl 255 timeout 10 dont-fragment 1');
    expect(decode(text, { dontFragment: true })).toEqual(req);
    expect(formatRequest({ ...req, dontFragment: false })).toBe('4 send-probe ip-4 10.0.0.1 ttl 255 timeout 10');
  });
});

describe('packet-too-big reply', () => {
  it('formats and parses, with and without the MTU', () => {
    expect(formatReply({ token: 4, type: 'packet-too-big', mtu: 1400 })).toBe('4 packet-too-big mtu 1400');
    expect(formatReply({ token: 4, type: 'packet-too-big', mtu: undefined })).toBe('4 packet-too-big');
    expect(parseReply('4 packet-too-big mtu 1400')).toEqual({ token: 4, type: 'packet-too-big', mtu: 1400 });
    expect(parseReply('4 packet-too-big')).toEqual({ token: 4, type: 'packet-too-big', mtu: undefined });
    expect(parseReply('4 packet-too-big mtu x')?.type).toBe('unknown');
  });
});
