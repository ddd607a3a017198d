import { describe, expect, it } from 'vitest';
import { helpText, parseOptions, UsageError } from '../src/options.js';

const env = { isRoot: true, readFile: (p: string) => (p === 'targets.txt' ? 'a.example\n\n  b.example  \n' : (() => { throw Object.assign(new Error('x'), { code: 'ENOENT' }); })()) };
const parse = (args: string[], envOpts?: string) => parseOptions(args, envOpts, env);
const error = (args: string[], envOpts?: string): string => {
  try {
    parse(args, envOpts);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('no error');
};

describe('options', () => {
  it('defaults are mtr 0.95s', () => {
    const c = parse(['example.org']);
    expect(c).toMatchObject({ mode: 'report', defaultedMode: true, cycles: 10, interval: 1, gracetime: 5, timeout: 10, firstTtl: 1, maxTtl: 30, maxUnknown: 12, psize: 64, bitpattern: 0, tos: 0, protocol: 'icmp', port: 0, dns: true, order: 'LS NABWV', ipinfo: undefined, targets: ['example.org'] });
  });
  it('no target means localhost', () => expect(parse([]).targets).toEqual(['localhost']));
  it('bundled short flags and attached values; the last output flag wins', () => {
    expect(parse(['-rwc', '5', 'x'])).toMatchObject({ mode: 'wide', cycles: 5 });
    expect(parse(['-c5', '-j', '-C', 'x'])).toMatchObject({ mode: 'csv', cycles: 5 });
    expect(parse(['--json', '--report', 'x']).mode).toBe('report');
    expect(parse(['-x', 'x']).mode).toBe('xml');
    expect(parse(['-l', 'x']).mode).toBe('raw');
    expect(parse(['-p', 'x']).mode).toBe('split');
    expect(parse(['-t', 'x'])).toMatchObject({ mode: 'report', defaultedMode: true });
    expect(parse(['--report-cycles=3', '-r', 'x'])).toMatchObject({ mode: 'report', defaultedMode: false, cycles: 3 });
  });
  it('protocols, ports, -T defaults to port 80', () => {
    expect(parse(['-T', 'x'])).toMatchObject({ protocol: 'tcp', port: 80 });
    expect(parse(['-u', '-P', '53', 'x'])).toMatchObject({ protocol: 'udp', port: 53 });
    expect(parse(['-S', 'x'])).toMatchObject({ protocol: 'sctp', port: 80 });
    expect(parse(['-u', '-L', '2000', 'x']).localPort).toBe(2000);
  });
  it('clamps like mtr: -f/-m, -U, -B > 255 random, -Q out of range 0', () => {
    expect(parse(['-f', '40', '-m', '5', 'x'])).toMatchObject({ firstTtl: 5, maxTtl: 5 });
    expect(parse(['-f', '0', 'x']).firstTtl).toBe(1);
    expect(parse(['-m', '999', 'x']).maxTtl).toBe(255);
    expect(parse(['-U', '0', 'x']).maxUnknown).toBe(1);
    expect(parse(['-B', '300', 'x']).bitpattern).toBe(-1);
    expect(parse(['-Q', '300', 'x']).tos).toBe(0);
  });
  it('names, fields, AS, MPLS, address family, mark, sizes, times', () => {
    expect(parse(['-n', '-b', '-e', '-o', 'LDRSNBAWVGJMXI', '-z', 'x'])).toMatchObject({ dns: false, showIps: true, mpls: true, order: 'LDRSNBAWVGJMXI', ipinfo: 0 });
    expect(parse(['-y', '2', 'x']).ipinfo).toBe(2);
    expect(parse(['-6', 'x']).af).toBe(6);
    expect(parse(['-4', 'x']).af).toBe(4);
    expect(parse(['-M', '7', '-s', '-100', '-i', '0.2', '-G', '1.5', '-Z', '3', 'x'])).toMatchObject({ mark: 7, psize: -100, interval: 0.2, gracetime: 1.5, timeout: 3 });
    expect(parse(['-I', 'lo', '-a', '127.0.0.1', 'x'])).toMatchObject({ interfaceName: 'lo', address: '127.0.0.1' });
  });
  it('several targets, -F file, MTR_OPTIONS first', () => {
    expect(parse(['a', 'b']).targets).toEqual(['a', 'b']);
    expect(parse(['-F', 'targets.txt', 'c']).targets).toEqual(['a.example', 'b.example', 'c']);
    expect(parse(['-c', '2', 'x'], '-n -c 7\t-j')).toMatchObject({ dns: false, cycles: 2, mode: 'json' });
  });
  it('errors are one clear line', () => {
    expect(error(['--bogus', 'x'])).toBe('Unknown argument: bogus');
    expect(error(['-k', 'x'])).toBe('Unknown argument: k');
    expect(error(['-c', 'abc', 'x'])).toBe("invalid argument: 'abc' for -c");
    expect(error(['-c'])).toBe('Not enough arguments following: c');
    expect(error(['-o', 'LSZ', 'x'])).toBe('Unknown field identifier: Z');
    expect(error(['-o', 'LLLLLLLLLLLLLLLLLLLLL', 'x'])).toMatch(/^Too many fields/);
    expect(error(['-u', '-T', 'x'])).toBe('-u , -T and -S are mutually exclusive');
    expect(error(['-P', '70000', 'x'])).toBe('Illegal port number: 70000');
    expect(error(['-L', '80', 'x'])).toBe('Illegal port number: 80');
    expect(error(['-i', '0', 'x'])).toBe('wait time must be positive');
    expect(error(['-G', '-1', 'x'])).toBe('wait time must be positive');
    expect(error(['-y', '5', 'x'])).toBe('value 5 out of range (0 - 4)');
    expect(error(['-F', 'missing.txt'])).toBe('open missing.txt: ENOENT');
    expect(() => parseOptions(['-i', '0.5', 'x'], undefined, { ...env, isRoot: false })).toThrow('non-root users cannot request an interval < 1.0 seconds');
  });
  it('--help lists every flag and says what replaces curses', () => {
    const h = helpText();
    for (const f of ['-r', '-w', '-c', '-j', '-C', '-x', '-l', '-p', '-n', '-b', '-o', '-i', '-f', '-m', '-U', '-s', '-B', '-Q', '-u', '-T', '-S', '-P', '-L', '-a', '-I', '-4', '-6', '-Z', '-G', '-M', '-e', '-z', '-y', '-F']) {
      expect(h).toContain(` ${f}, `);
    }
    expect(h).toMatch(/On a terminal, without an output flag, mtr-ts shows mtr's live display/);
    expect(parse(['--help']).help).toBe(true);
    expect(parse(['-v']).version).toBe(true);
  });
});
