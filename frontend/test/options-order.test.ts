import { describe, expect, it } from 'vitest';
import { optionsInOrder, parseOptions } from '../src/options.js';

const env = { isRoot: true, readFile: () => '' };
const parse = (args: string[], envOpts?: string) => parseOptions(args, envOpts, env);

describe('options apply in command-line order', () => {
  it('-4 -6 is IPv6, -6 -4 is IPv4, in every spelling', () => {
    expect(parse(['-4', '-6', 'x']).af).toBe(6);
    expect(parse(['-6', '-4', 'x']).af).toBe(4);
    expect(parse(['--inet', '--inet6', 'x']).af).toBe(6);
    expect(parse(['--inet6', '-4', 'x']).af).toBe(4);
    expect(parse(['-n46', 'x']).af).toBe(6);
    expect(parse(['-64r', 'x']).af).toBe(4);
    // MTR_OPTIONS come first, so the command line wins
    expect(parse(['-4', 'x'], '-6').af).toBe(4);
  });
  it('values are skipped: a value that looks like a flag is not one', () => {
    expect(optionsInOrder(['-c', '6', '-o', 'LS', '-4', 'x'])).toEqual(['report-cycles', 'order', 'inet']);
    expect(optionsInOrder(['-c6', '--order=LS', '--inet6'])).toEqual(['report-cycles', 'order', 'inet6']);
    expect(optionsInOrder(['-r', '--', '-4'])).toEqual(['report']);
  });
});
