import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/args.js';

describe('mtr-packet-ts arguments', () => {
  it('runs with none, as mtr starts it', () => {
    expect(parseArgs([])).toEqual({ help: false, version: false, verbose: false, maxInFlight: 16384, mode: 'auto', mark: true });
  });

  it('takes its options', () => {
    expect(parseArgs(['--verbose', '--unprivileged', '--no-mark', '--max-in-flight', '100'])).toEqual({
      help: false,
      version: false,
      verbose: true,
      maxInFlight: 100,
      mode: 'dgram',
      mark: false,
    });
    expect(parseArgs(['--max-in-flight=5'])).toMatchObject({ maxInFlight: 5 });
  });

  it('says what is wrong with a bad argument', () => {
    expect(parseArgs(['--bogus'])).toEqual({ error: "unknown argument '--bogus'" });
    for (const v of ['0', '30001', 'x', '1.5', '']) {
      expect(parseArgs(['--max-in-flight', v])).toEqual({ error: '--max-in-flight takes a whole number from 1 to 30000' });
    }
    expect(parseArgs(['--max-in-flight'])).toEqual({ error: '--max-in-flight takes a whole number from 1 to 30000' });
  });
});
