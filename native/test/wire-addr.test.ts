import { spawnSync } from 'node:child_process';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../src/wire/index.js';

const hex = (b: Uint8Array | undefined): string | null => (b === undefined ? null : Buffer.from(b).toString('hex'));
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

// One python3 process answers a whole batch through glibc's inet_pton / inet_ntop.
type Query = { op: 'pton4' | 'pton6' | 'ntop4' | 'ntop6'; s: string };
function glibc(queries: Query[]): Array<string | null> {
  const script = String.raw`
import sys, json, socket
out = []
for q in json.load(sys.stdin):
    op, s = q['op'], q['s']
    try:
        if op == 'pton4': out.append(socket.inet_pton(socket.AF_INET, s).hex())
        elif op == 'pton6': out.append(socket.inet_pton(socket.AF_INET6, s).hex())
        elif op == 'ntop4': out.append(socket.inet_ntop(socket.AF_INET, bytes.fromhex(s)))
        else: out.append(socket.inet_ntop(socket.AF_INET6, bytes.fromhex(s)))
    except (OSError, ValueError):
        out.append(None)
json.dump(out, sys.stdout)
`;
  const r = spawnSync('python3', ['-c', script], { input: JSON.stringify(queries), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Array<string | null>;
}

describe('parseIPv4 (glibc inet_pton rules)', () => {
  it.each([
    ['1.2.3.4', '01020304'],
    ['0.0.0.0', '00000000'],
    ['255.255.255.255', 'ffffffff'],
    ['10.0.2.1', '0a000201'],
    ['192.168.254.254', 'c0a8fefe'],
  ])('accepts %s', (text, expected) => {
    expect(hex(parseIPv4(text))).toBe(expected);
  });

  it.each([
    '', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '00.0.0.0', '256.1.1.1', '1.2.3.256', '1..2.3',
    '.1.2.3', '1.2.3.4.', ' 1.2.3.4', '1.2.3.4 ', '0x1.2.3.4', '1.2.3.-4', '1.2.3.4\0', '1e1.2.3.4',
    '1.2.3.4/8', '１.2.3.4', '1234.1.1.1', '4294967295', '127.1',
  ])('rejects %j', (text) => {
    expect(parseIPv4(text)).toBeUndefined();
  });
});

describe('parseIPv6 (glibc inet_pton rules)', () => {
  it.each([
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['1::', '00010000000000000000000000000000'],
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:DB8:0:0:0:0:0:1', '20010db8000000000000000000000001'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
    ['::1.2.3.4', '00000000000000000000000001020304'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
    ['fe80::abcd:ef01', 'fe8000000000000000000000abcdef01'],
    ['0000:0000::0001', '00000000000000000000000000000001'],
  ])('accepts %s', (text, expected) => {
    expect(hex(parseIPv6(text))).toBe(expected);
  });

  it.each([
    '', ':', ':::', '1:', ':1', '1::2::3', '1::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7', '12345::', 'g::', '1.2.3.4', '::1.2.3', '::1.2.3.4:5', '::01.2.3.4', '::256.1.1.1',
    '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%eth0', '[::1]', '::1/128', ' ::1', '::1 ', '1::2:', ':1::2',
    '::ffff:1.2.3.4.5', '1:::2',
  ])('rejects %j', (text) => {
    expect(parseIPv6(text)).toBeUndefined();
  });
});

describe('formatIPv4 / formatIPv6 (glibc inet_ntop)', () => {
  it.each([
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['00000000000000000000ffff01020304', '::ffff:1.2.3.4'],
    ['00000000000000000000000001020304', '::1.2.3.4'],
    ['00000000000000000000000000010000', '::0.1.0.0'], // IPv4-compatible form, as glibc prints it
    ['00000000000000000000000000000100', '::100'],
    ['00000000000000000000ffff00000000', '::ffff:0.0.0.0'],
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['00010000000100000000000000000000', '1:0:1::'],
    ['00010002000300040005000600070008', '1:2:3:4:5:6:7:8'],
    ['00010000000200030004000500060007', '1:0:2:3:4:5:6:7'],
    ['fe80000000000000abcdef0123456789', 'fe80::abcd:ef01:2345:6789'],
    ['0000000000000000000000000000ffff', '::ffff'],
    ['00000000000000000001ffff01020304', '::1:ffff:102:304'],
  ])('formats %s as %s', (h, expected) => {
    expect(formatIPv6(bytes(h))).toBe(expected);
  });

  it('formats IPv4 and honours the offset', () => {
    expect(formatIPv4(bytes('0a000201'))).toBe('10.0.2.1');
    expect(formatIPv4(bytes('ffffffff'))).toBe('255.255.255.255');
    expect(formatIPv4(bytes('450000c0a80001'), 3)).toBe('192.168.0.1');
    expect(formatIPv6(bytes('ff' + '20010db8000000000000000000000001'), 1)).toBe('2001:db8::1');
  });
});

describe('cross-check with glibc through python3', () => {
  const seed = 20240611;

  it('parses like inet_pton on generated text', () => {
    const v4part = fc.oneof(
      fc.integer({ min: 0, max: 300 }).map(String),
      fc.stringMatching(/^[0-9]{1,4}$/),
      fc.constantFrom('', 'x', '-1', ' 1', '00', '01'),
    );
    const v4text = fc.oneof(
      fc.array(fc.integer({ min: 0, max: 255 }).map(String), { minLength: 4, maxLength: 4 }).map((p) => p.join('.')),
      fc.array(v4part, { minLength: 1, maxLength: 6 }).map((p) => p.join('.')),
      fc.string({ unit: fc.constantFrom(...'0123456789.'), maxLength: 18 }),
    );
    const group = fc.oneof(
      fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)),
      fc.stringMatching(/^[0-9a-fA-F]{1,5}$/),
      fc.constantFrom('', 'g', '0000', '00000'),
    );
    // mostly valid: eight words, any run of them compressed (not only the longest), random
    // case and zero padding, sometimes a dotted-quad tail
    const wellFormed = fc
      .record({
        words: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }),
        cut: fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 8 })),
        upper: fc.boolean(),
        pad: fc.boolean(),
        quad: fc.boolean(),
      })
      .map(({ words, cut, upper, pad, quad }) => {
        let parts = words.map((w) => {
          const t = w.toString(16);
          return pad ? t.padStart(4, '0') : t;
        });
        if (quad) parts = [...parts.slice(0, 6), `${words[6]! >> 8}.${words[6]! & 255}.${words[7]! >> 8}.${words[7]! & 255}`];
        const [a, b] = [Math.min(...cut), Math.max(...cut)];
        let text = a === b ? parts.join(':') : `${parts.slice(0, a).join(':')}::${parts.slice(b).join(':')}`;
        if (upper) text = text.toUpperCase();
        return text;
      });
    const v6text = fc.oneof(
      wellFormed,
      wellFormed,
      fc.array(group, { minLength: 0, maxLength: 10 }).map((g) => g.join(':')),
      fc
        .tuple(fc.array(group, { maxLength: 8 }), fc.array(group, { maxLength: 8 }))
        .map(([a, b]) => `${a.join(':')}::${b.join(':')}`),
      fc
        .tuple(fc.array(group, { maxLength: 7 }), fc.boolean(), v4text)
        .map(([a, dbl, v4]) => `${a.join(':')}${dbl ? '::' : ':'}${v4}`),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.g% '), maxLength: 45 }),
    );
    const v4s = fc.sample(v4text, { seed, numRuns: 4000 });
    const v6s = fc.sample(v6text, { seed, numRuns: 8000 });
    const queries: Query[] = [
      ...v4s.map((s): Query => ({ op: 'pton4', s })),
      ...v6s.map((s): Query => ({ op: 'pton6', s })),
      ...v4s.map((s): Query => ({ op: 'pton6', s })),
    ];
    const want = glibc(queries);
    const got = queries.map((q) => hex(q.op === 'pton4' ? parseIPv4(q.s) : parseIPv6(q.s)));
    const mismatches = queries.filter((_, i) => got[i] !== want[i]).map((q, i) => ({ q, got: got[i], want: want[i] }));
    expect(mismatches.slice(0, 5)).toEqual([]);
    // the generators must exercise both outcomes, or the check proves little
    expect(want.filter((w) => w !== null).length).toBeGreaterThan(1000);
    expect(want.filter((w) => w === null).length).toBeGreaterThan(1000);
  });

  it('formats like inet_ntop on generated addresses', () => {
    // bias towards zero groups so that runs, ties and the IPv4 forms are common
    const word = fc.oneof(
      { weight: 5, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.constant(0xffff) },
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xf }) },
    );
    const addrs = fc.sample(fc.array(word, { minLength: 8, maxLength: 8 }), { seed, numRuns: 6000 }).map((w) => {
      const b = new Uint8Array(16);
      w.forEach((v, i) => {
        b[2 * i] = v >> 8;
        b[2 * i + 1] = v & 0xff;
      });
      return b;
    });
    const v4 = fc.sample(fc.uint8Array({ minLength: 4, maxLength: 4 }), { seed, numRuns: 1000 });
    const queries: Query[] = [
      ...addrs.map((b): Query => ({ op: 'ntop6', s: hex(b) as string })),
      ...v4.map((b): Query => ({ op: 'ntop4', s: hex(b) as string })),
    ];
    const want = glibc(queries);
    const got = [...addrs.map((b) => formatIPv6(b)), ...v4.map((b) => formatIPv4(b))];
    const mismatches = queries.filter((_, i) => got[i] !== want[i]).map((q, i) => ({ q, got: got[i], want: want[i] }));
    expect(mismatches.slice(0, 5)).toEqual([]);
    // and every formatted address parses back to itself
    for (const b of addrs) expect(hex(parseIPv6(formatIPv6(b)))).toBe(hex(b));
  });
});
