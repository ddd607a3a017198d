import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_COMMAND_TOKENS,
  cStrtol,
  formatCommand,
  parseCIntArgument,
  parseCToken,
  parseCommandLine,
  tokenize,
} from '../src/index.js';

describe('tokenize', () => {
  it('splits on C isspace only (space \\t \\n \\v \\f \\r), not on NBSP / NEL / NUL', () => {
    expect(tokenize(' 1\tcheck-support\vfeature\fversion\r\n')).toEqual(['1', 'check-support', 'feature', 'version']);
    expect(tokenize('1\u00a0a \u0085b \u0000c')).toEqual(['1\u00a0a', '\u0085b', '\u0000c']);
    expect(tokenize('')).toEqual([]);
    expect(tokenize(' \t ')).toEqual([]);
  });

  it('fails as soon as a token beyond maxTokens starts', () => {
    expect(tokenize('a b c', 2)).toBeUndefined();
    expect(tokenize('a b   ', 2)).toEqual(['a', 'b']);
  });
});

describe('cStrtol / parseCToken (token read like strtol(tok, NULL, 10) into an int)', () => {
  const cases: Array<[string, number | undefined]> = [
    ['abc', 0],
    ['12abc', 12],
    ['+7', 7],
    ['-3', -3],
    ['-', 0],
    ['+', 0],
    ['0009', 9],
    ['-0', 0],
    ['0x10', 0],
    ['2147483647', 2147483647],
    ['2147483648', -2147483648],
    ['4294967297', 1],
    ['-2147483649', 2147483647],
    ['9223372036854775807', -1], // LONG_MAX: no ERANGE, wraps to -1
    ['-9223372036854775808', 0], // LONG_MIN: wraps to 0
    ['9223372036854775808', undefined], // ERANGE -> command-parse-error
    ['-9223372036854775809', undefined],
    ['99999999999999999999', undefined],
    ['000000000000000000000000000000042', 42], // leading zeros are not significant
    ['1\u0000', 1],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} -> ${String(expected)}`, () => {
      expect(parseCToken(text)).toBe(expected);
    });
  }

  it('matches a BigInt oracle for random decimal strings', () => {
    const LONG_MAX = (1n << 63n) - 1n;
    const LONG_MIN = -(1n << 63n);
    fc.assert(
      fc.property(fc.constantFrom('', '+', '-'), fc.stringMatching(/^[0-9]{1,25}$/), fc.string({ maxLength: 3 }), (sign, digits, tail) => {
        const v = BigInt(sign === '-' ? `-${digits}` : digits);
        const erange = v > LONG_MAX || v < LONG_MIN;
        const clamped = v > LONG_MAX ? LONG_MAX : v < LONG_MIN ? LONG_MIN : v;
        const text = sign + digits + (/^[0-9]/.test(tail) ? '' : tail);
        const r = cStrtol(text);
        expect(r.erange).toBe(erange);
        expect(r.int).toBe(Number(BigInt.asIntN(32, clamped)));
        expect(r.end).toBe(sign.length + digits.length);
      }),
    );
  });

  it('end is 0 when there are no digits', () => {
    expect(cStrtol('x1')).toEqual({ int: 0, end: 0, erange: false });
    expect(cStrtol('-x')).toEqual({ int: 0, end: 0, erange: false });
  });
});

describe('parseCIntArgument (strtol with *end == 0, into an int)', () => {
  const cases: Array<[string, number | undefined]> = [
    ['10', 10],
    ['+5', 5],
    ['-1', -1],
    ['00', 0],
    ['0x10', undefined],
    ['1x', undefined],
    ['-', undefined],
    ['+', undefined],
    ['5\u0000', undefined], // we do not stop at NUL (the C code would accept "5")
    ['99999999999999999999', -1], // clamps to LONG_MAX, no error check, (int) -> -1
    ['-99999999999999999999', 0],
    ['4294968320', 1024],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} -> ${String(expected)}`, () => {
      expect(parseCIntArgument(text)).toBe(expected);
    });
  }
});

describe('parseCommandLine', () => {
  it('parses token, name and pairs', () => {
    expect(parseCommandLine('42 send-probe ip-4 127.0.0.1 ttl 3\r')).toEqual({
      token: 42,
      name: 'send-probe',
      args: [
        ['ip-4', '127.0.0.1'],
        ['ttl', '3'],
      ],
    });
    expect(parseCommandLine('abc foo')).toEqual({ token: 0, name: 'foo', args: [] });
  });

  it('command-parse-error cases', () => {
    expect(parseCommandLine('')).toBeUndefined();
    expect(parseCommandLine('   ')).toBeUndefined();
    expect(parseCommandLine('1')).toBeUndefined();
    expect(parseCommandLine('1 check-support feature')).toBeUndefined();
    expect(parseCommandLine('99999999999999999999 check-support')).toBeUndefined();
  });

  it('at most 34 tokens (16 argument pairs)', () => {
    expect(MAX_COMMAND_TOKENS).toBe(34);
    const pairs = (n: number): string => Array.from({ length: n }, (_, i) => ` a${i} b`).join('');
    expect(parseCommandLine(`1 x${pairs(16)}`)?.args.length).toBe(16);
    expect(parseCommandLine(`1 x${pairs(16)} odd`)).toBeUndefined();
    expect(parseCommandLine(`1 x${pairs(17)}`)).toBeUndefined();
  });

  it('round-trips formatCommand for words', () => {
    const word = fc.stringMatching(/^[!-~\u0000\u0080-\u00ff]{1,12}$/);
    fc.assert(
      fc.property(
        fc.integer({ min: -2147483648, max: 2147483647 }),
        word,
        fc.array(fc.tuple(word, word), { maxLength: 16 }),
        (token, name, args) => {
          expect(parseCommandLine(formatCommand(token, name, args))).toEqual({ token, name, args });
        },
      ),
    );
  });

  it('never throws on any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: fc.constantFrom(' ', '\t', '1', '-', 'a', '\r', '\u0000', '9'), maxLength: 120 })), (s) => {
        const r = parseCommandLine(s);
        if (r !== undefined) expect(Number.isInteger(r.token)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('formatCommand guards', () => {
  it('refuses words that would change the line structure', () => {
    expect(() => formatCommand(1, 'send probe')).toThrow(RangeError);
    expect(() => formatCommand(1, 'x', [['ip-4', '']])).toThrow(RangeError);
    expect(() => formatCommand(1, 'x', [['ip-4', '1\n2 x']])).toThrow(RangeError);
    expect(() => formatCommand(1.5, 'x')).toThrow(RangeError);
    expect(() => formatCommand(2 ** 31, 'x')).toThrow(RangeError);
    expect(formatCommand(-0, 'x')).toBe('0 x');
  });
});
