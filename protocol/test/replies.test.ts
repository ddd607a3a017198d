import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BARE_REPLIES,
  ERRNO,
  PROBE_RESULT_REPLIES,
  errnoNumber,
  formatReply,
  parseReply,
  replyForErrno,
  replyForErrnoCode,
  type MplsLabel,
  type Reply,
} from '../src/index.js';

describe('formatReply: the exact lines 0.95 prints', () => {
  const cases: Array<[Reply, string]> = [
    [{ token: 42, type: 'reply', ipVersion: 4, address: '127.0.0.1', roundTripTime: 126, mpls: undefined }, '42 reply ip-4 127.0.0.1 round-trip-time 126'],
    [
      {
        token: 11,
        type: 'ttl-expired',
        ipVersion: 4,
        address: '10.0.2.1',
        roundTripTime: 1834,
        mpls: [
          { label: 16, tc: 0, bottomOfStack: 0, ttl: 1 },
          { label: 1048575, tc: 7, bottomOfStack: 1, ttl: 255 },
        ],
      },
      '11 ttl-expired ip-4 10.0.2.1 round-trip-time 1834 mpls 16,0,0,1,1048575,7,1,255',
    ],
    [{ token: 3, type: 'no-route', ipVersion: 6, address: 'fe80::1', roundTripTime: 5, mpls: undefined }, '3 no-route ip-6 fe80::1 round-trip-time 5'],
    [{ token: 3, type: 'no-route' }, '3 no-route'],
    [{ token: 4, type: 'host-down', ipVersion: 4, address: '1.1.1.1', roundTripTime: 0, mpls: [] }, '4 host-down ip-4 1.1.1.1 round-trip-time 0'],
    [{ token: 5, type: 'no-reply' }, '5 no-reply'],
    [{ token: 0, type: 'command-buffer-overflow' }, '0 command-buffer-overflow'],
    [{ token: 6, type: 'invalid-argument', reason: undefined }, '6 invalid-argument'],
    [{ token: 6, type: 'invalid-argument', reason: 'ip-version-not-supported' }, '6 invalid-argument reason ip-version-not-supported'],
    [{ token: -7, type: 'unexpected-error', errno: 13 }, '-7 unexpected-error errno 13'],
    [{ token: 8, type: 'feature-support', support: '0.95' }, '8 feature-support support 0.95'],
    [{ token: 9, type: 'unknown', name: 'icmp-error', args: [], line: '9 icmp-error ip-4 1.2.3.4' }, '9 icmp-error ip-4 1.2.3.4'],
  ];
  for (const [reply, line] of cases) {
    it(line, () => {
      expect(formatReply(reply)).toBe(line);
    });
  }

  it('refuses values that would break the line', () => {
    const base = { token: 1, type: 'reply', ipVersion: 4, address: '1.2.3.4', roundTripTime: 1, mpls: undefined } as const;
    expect(() => formatReply({ ...base, address: '1.2.3.4 x' })).toThrow(RangeError);
    expect(() => formatReply({ ...base, roundTripTime: 1.5 })).toThrow(RangeError);
    expect(() => formatReply({ ...base, ipVersion: 5 as 4 })).toThrow(RangeError);
    expect(() => formatReply({ token: 1, type: 'feature-support', support: '' })).toThrow(RangeError);
    expect(() => formatReply({ token: 1, type: 'unknown', name: 'x', args: [], line: '1 x\n2 reply' })).toThrow(RangeError);
  });
});

describe('parseReply', () => {
  it('reads every reply shape', () => {
    expect(parseReply('42 reply ip-4 127.0.0.1 round-trip-time 126\n')).toEqual({
      token: 42,
      type: 'reply',
      ipVersion: 4,
      address: '127.0.0.1',
      roundTripTime: 126,
      mpls: undefined,
    });
    expect(parseReply('1 ttl-expired ip-6 2001:db8::1 round-trip-time 9 mpls 100,2,1,64')).toMatchObject({
      ipVersion: 6,
      mpls: [{ label: 100, tc: 2, bottomOfStack: 1, ttl: 64 }],
    });
    expect(parseReply('1 no-route')).toEqual({ token: 1, type: 'no-route' });
    // the 0.96 dialect's bare send errors
    expect(parseReply('1 no-route-network')).toEqual({ token: 1, type: 'no-route-network' });
    expect(parseReply('1 no-route-host')).toEqual({ token: 1, type: 'no-route-host' });
    expect(parseReply('1 host-down')).toEqual({ token: 1, type: 'host-down' });
    expect(parseReply('1 no-route-host ip-4 9.9.9.9 round-trip-time 77')).toMatchObject({ type: 'no-route-host', roundTripTime: 77 });
    expect(parseReply('1 no-route-network ip-4 9.9.9.9 round-trip-time 77')).toMatchObject({ type: 'no-route-network' });
    expect(parseReply('2 invalid-argument reason protocol-not-supported')).toEqual({
      token: 2,
      type: 'invalid-argument',
      reason: 'protocol-not-supported',
    });
    expect(parseReply('2 unexpected-error errno 105')).toEqual({ token: 2, type: 'unexpected-error', errno: 105 });
    expect(parseReply('2 feature-support support ok\r\n')).toEqual({ token: 2, type: 'feature-support', support: 'ok' });
    // mtr's front-end reads arguments by name, so order is free
    expect(parseReply('3 reply round-trip-time 5 ip-4 1.2.3.4')).toMatchObject({ type: 'reply', address: '1.2.3.4', roundTripTime: 5 });
  });

  it('undefined only for fewer than two tokens', () => {
    expect(parseReply('')).toBeUndefined();
    expect(parseReply('  \r\n')).toBeUndefined();
    expect(parseReply('12')).toBeUndefined();
  });

  it('anything off-shape is kept whole as unknown', () => {
    const unknown = (line: string, token: number, name: string, args: Array<[string, string]>): void => {
      expect(parseReply(line)).toEqual({ token, type: 'unknown', name, args, line });
    };
    unknown('9 icmp-error ip-4 1.2.3.4 round-trip-time 5 icmp-type 3 icmp-code 1', 9, 'icmp-error', [
      ['ip-4', '1.2.3.4'],
      ['round-trip-time', '5'],
      ['icmp-type', '3'],
      ['icmp-code', '1'],
    ]);
    unknown('5 reply ip-4 1.2.3.4', 5, 'reply', [['ip-4', '1.2.3.4']]); // no round-trip-time
    unknown('5 reply ip-4 1.2.3.4 round-trip-time 1x', 5, 'reply', [['ip-4', '1.2.3.4'], ['round-trip-time', '1x']]);
    unknown('5 reply ip-4 1.2.3.4 round-trip-time 1 mpls 1,2,3', 5, 'reply', [['ip-4', '1.2.3.4'], ['round-trip-time', '1'], ['mpls', '1,2,3']]);
    unknown('5 reply ip-4 1.2.3.4 round-trip-time 1 extra', 5, 'reply', [['ip-4', '1.2.3.4'], ['round-trip-time', '1'], ['extra', '']]);
    unknown('5 no-reply now', 5, 'no-reply', [['now', '']]);
    unknown('5 host-down now', 5, 'host-down', [['now', '']]);
    unknown('5 invalid-argument why not', 5, 'invalid-argument', [['why', 'not']]);
    unknown('x7 no-reply', 0, 'no-reply', []); // token not a plain int: C strtol gives 0
    unknown('2147483648 no-reply', -2147483648, 'no-reply', []);
    unknown('99999999999999999999 no-reply', 0, 'no-reply', []);
    unknown('1 unexpected-error errno many', 1, 'unexpected-error', [['errno', 'many']]);
  });
});

const int32 = fc.integer({ min: -2147483648, max: 2147483647 });
const word = fc.stringMatching(/^[!-~\u0080-\u00ff]{1,16}$/);
const mpls: fc.Arbitrary<MplsLabel> = fc.record({
  label: fc.integer({ min: 0, max: 1048575 }),
  tc: fc.integer({ min: 0, max: 7 }),
  bottomOfStack: fc.integer({ min: 0, max: 1 }),
  ttl: fc.integer({ min: 0, max: 255 }),
});

/** Every Reply variant, each type word included. */
const knownReply: fc.Arbitrary<Reply> = fc.oneof(
  fc.record({
    token: int32,
    type: fc.constantFrom(...PROBE_RESULT_REPLIES),
    ipVersion: fc.constantFrom<4 | 6>(4, 6),
    address: word,
    roundTripTime: int32,
    mpls: fc.option(fc.array(mpls, { minLength: 1, maxLength: 5 }), { nil: undefined }),
  }),
  fc.record({ token: int32, type: fc.constantFrom(...BARE_REPLIES) }),
  fc.record({ token: int32, type: fc.constant('invalid-argument' as const), reason: fc.option(word, { nil: undefined }) }),
  fc.record({ token: int32, type: fc.constant('unexpected-error' as const), errno: int32 }),
  fc.record({ token: int32, type: fc.constant('feature-support' as const), support: word }),
);

describe('properties', () => {
  it('parseReply(formatReply(r)) == r for every known variant', () => {
    fc.assert(
      fc.property(knownReply, (r) => {
        expect(parseReply(formatReply(r))).toEqual(r);
      }),
      { numRuns: 2000 },
    );
  });

  it('unknown replies round-trip through their line', () => {
    const unknownLine = fc
      .tuple(int32, word, fc.array(fc.tuple(word, word), { maxLength: 4 }))
      .filter(([, name]) => parseReply(`1 ${name}`)?.type === 'unknown')
      .map(([token, name, args]) => [token, name, ...args.flat()].join(' '));
    fc.assert(
      fc.property(unknownLine, (line) => {
        const r = parseReply(line);
        expect(r?.type).toBe('unknown');
        expect(formatReply(r as Reply)).toBe(line);
        expect(parseReply(formatReply(r as Reply))).toEqual(r);
      }),
    );
  });

  it('no line, however odd, makes parseReply throw; parse results format again', () => {
    const odd = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      knownReply.chain((r) =>
        fc.tuple(fc.nat(40), fc.string({ unit: 'binary', maxLength: 3 })).map(([at, junk]) => {
          const line = formatReply(r);
          return line.slice(0, at) + junk + line.slice(at);
        }),
      ),
    );
    fc.assert(
      fc.property(odd, (line) => {
        const r = parseReply(line);
        if (r === undefined) return;
        if (r.type === 'unknown') {
          expect(r.line).toBe(line);
        } else {
          expect(parseReply(formatReply(r))).toEqual(r);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('errno -> reply (0.95 report_packet_error)', () => {
  it('maps the listed errnos, everything else is unexpected-error errno N', () => {
    expect(replyForErrno(1, ERRNO.EINVAL)).toEqual({ token: 1, type: 'invalid-argument', reason: undefined });
    expect(replyForErrno(1, 100)).toEqual({ token: 1, type: 'network-down' });
    expect(replyForErrno(1, 101)).toEqual({ token: 1, type: 'no-route' });
    expect(replyForErrno(1, 113)).toEqual({ token: 1, type: 'no-route' });
    expect(replyForErrno(1, 112)).toEqual({ token: 1, type: 'unexpected-error', errno: 112 });
    // the 0.96 dialect splits them, as mtr-packet 0.96 does
    expect(replyForErrno(1, 101, '0.96')).toEqual({ token: 1, type: 'no-route-network' });
    expect(replyForErrno(1, 113, '0.96')).toEqual({ token: 1, type: 'no-route-host' });
    expect(replyForErrno(1, 112, '0.96')).toEqual({ token: 1, type: 'host-down' });
    expect(replyForErrno(1, 100, '0.96')).toEqual({ token: 1, type: 'network-down' });
    expect(replyForErrno(1, 22, '0.96')).toEqual({ token: 1, type: 'invalid-argument', reason: undefined });
    expect(replyForErrno(1, 1)).toEqual({ token: 1, type: 'permission-denied' });
    expect(replyForErrno(1, 98)).toEqual({ token: 1, type: 'address-in-use' });
    expect(replyForErrno(1, 99)).toEqual({ token: 1, type: 'address-not-available' });
    expect(formatReply(replyForErrno(2, 13))).toBe('2 unexpected-error errno 13'); // EACCES is not EPERM in 0.95
    expect(formatReply(replyForErrno(2, 90))).toBe('2 unexpected-error errno 90');
    expect(formatReply(replyForErrno(2, 105))).toBe('2 unexpected-error errno 105');
  });

  it('accepts Node-style negative errno and error codes', () => {
    expect(replyForErrno(3, -101)).toEqual({ token: 3, type: 'no-route' });
    expect(replyForErrnoCode(3, 'EHOSTUNREACH')).toEqual({ token: 3, type: 'no-route' });
    expect(replyForErrnoCode(3, 'EMSGSIZE')).toEqual({ token: 3, type: 'unexpected-error', errno: 90 });
    expect(replyForErrnoCode(3, 'EWHATEVER', 77)).toEqual({ token: 3, type: 'unexpected-error', errno: 77 });
    expect(errnoNumber('toString')).toBeUndefined();
    expect(errnoNumber('EPERM')).toBe(1);
  });
});
