import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LineFramer,
  REFERENCE_VERSION,
  decodeRequest,
  defaultSendProbe,
  formatReply,
  formatRequest,
  isReply,
  isRequest,
  parseCommandLine,
  requestOf,
  type RawCommand,
  type Request,
  type SendProbeRequest,
} from '../src/index.js';
import { bytes, referenceAvailable, runReference } from './helpers.js';

function decodeLine(line: string): ReturnType<typeof decodeRequest> | undefined {
  const cmd = parseCommandLine(line);
  return cmd === undefined ? undefined : decodeRequest(cmd);
}

function probe(line: string): SendProbeRequest {
  const r = decodeLine(line);
  if (r === undefined || !isRequest(r) || r.command !== 'send-probe') throw new Error(`not a send-probe: ${line}`);
  return r;
}

/**
 * What 0.95 answers at once for a line whose answer does not depend on the network: decoding
 * errors, unknown commands, `feature version`, and send-probe without an address (it validates
 * the ip version right after decoding all arguments).
 */
function immediateAnswer(line: string): string {
  const cmd = parseCommandLine(line);
  if (cmd === undefined) return '0 command-parse-error';
  const r = decodeRequest(cmd);
  if (isReply(r)) return formatReply(r);
  switch (r.command) {
    case 'check-support':
      if (r.feature !== 'version') throw new Error('only feature version is host independent');
      return formatReply({ token: r.token, type: 'feature-support', support: REFERENCE_VERSION });
    case 'send-probe':
      if (r.ipVersion !== undefined) throw new Error('would send a probe');
      return formatReply({ token: r.token, type: 'invalid-argument', reason: 'ip-version-not-supported' });
    default:
      throw new Error('unexpected');
  }
}

function ourOutput(input: Uint8Array): string[] {
  const f = new LineFramer();
  const out: string[] = [];
  for (const e of [...f.push(input), ...f.end()]) {
    out.push(e.kind === 'overflow' ? '0 command-buffer-overflow' : immediateAnswer(e.line));
  }
  return out;
}

describe('decodeRequest', () => {
  it('applies 0.95 defaults', () => {
    expect(probe('7 send-probe ip-4 10.0.0.1')).toEqual({
      ...defaultSendProbe(7),
      ipVersion: 4,
      address: '10.0.0.1',
    });
    expect(defaultSendProbe(1)).toMatchObject({
      protocol: 'icmp',
      ttl: 255,
      size: 64,
      timeout: 10,
      port: 0,
      localPort: 0,
      tos: 0,
      bitPattern: 0,
      mark: undefined,
      localDevice: undefined,
    });
  });

  it('decodes every argument', () => {
    expect(
      probe(
        '9 send-probe ip-6 ::1 local-ip-6 ::2 protocol udp port 33434 local-port 40000 tos 16 mark 7 size 100 bit-pattern 255 ttl 3 timeout 2 local-device eth0',
      ),
    ).toEqual({
      token: 9,
      command: 'send-probe',
      ipVersion: 6,
      address: '::1',
      protocol: 'udp',
      port: 33434,
      localAddress: '::2',
      localPort: 40000,
      ttl: 3,
      size: 100,
      bitPattern: 255,
      tos: 16,
      mark: 7,
      timeout: 2,
      localDevice: 'eth0',
    });
  });

  it('last ip-4/ip-6 wins, local-ip-* set only the local address', () => {
    expect(probe('1 send-probe ip-4 1.2.3.4 ip-6 ::1')).toMatchObject({ ipVersion: 6, address: '::1' });
    expect(probe('1 send-probe ip-6 ::1 ip-4 1.2.3.4')).toMatchObject({ ipVersion: 4, address: '1.2.3.4' });
    expect(probe('1 send-probe local-ip-6 ::1 local-ip-4 1.2.3.4')).toMatchObject({
      ipVersion: undefined,
      address: undefined,
      localAddress: '1.2.3.4',
    });
  });

  it('numeric values are C ints: wrap and clamp like strtol -> int', () => {
    expect(probe('1 send-probe ttl 4294967297').ttl).toBe(1);
    expect(probe('1 send-probe tos 99999999999999999999').tos).toBe(-1);
    expect(probe('1 send-probe size -99999999999999999999').size).toBe(0);
    expect(probe('1 send-probe local-port 4294968320').localPort).toBe(1024);
    expect(probe('1 send-probe port +5 timeout -1 mark 0').port).toBe(5);
    expect(probe('1 send-probe timeout -1').timeout).toBe(-1);
    expect(probe('1 send-probe mark 0').mark).toBe(0);
  });

  it('first bad argument answers invalid-argument; unknown names are ignored', () => {
    const bad = (line: string): unknown => decodeLine(line);
    const ia = (token: number): unknown => ({ token, type: 'invalid-argument', reason: undefined });
    expect(bad('3 send-probe port 0x10')).toEqual(ia(3));
    expect(bad('3 send-probe ttl 1x')).toEqual(ia(3));
    expect(bad('3 send-probe local-port 1023')).toEqual(ia(3));
    expect(bad('3 send-probe local-port 0')).toEqual(ia(3));
    expect(bad('3 send-probe protocol ICMP')).toEqual(ia(3));
    expect(bad('3 send-probe ttl x protocol bogus')).toEqual(ia(3));
    expect(probe('3 send-probe foo bar feature x ttl 4')).toMatchObject({ ttl: 4 });
  });

  it('check-support: first feature wins, missing feature is invalid-argument', () => {
    expect(decodeLine('5 check-support foo bar feature mark feature version')).toEqual({
      token: 5,
      command: 'check-support',
      feature: 'mark',
    });
    expect(decodeLine('5 check-support foo bar')).toEqual({ token: 5, type: 'invalid-argument', reason: undefined });
  });

  it('unknown commands answer unknown-command; requestOf keeps them as requests', () => {
    expect(decodeLine('6 Send-Probe')).toEqual({ token: 6, type: 'unknown-command' });
    expect(requestOf(parseCommandLine('6 frobnicate a b') as RawCommand)).toEqual({
      token: 6,
      command: 'unknown',
      name: 'frobnicate',
    });
  });
});

describe('formatRequest', () => {
  it('writes the front-end line: address, non-defaults, ttl and timeout always', () => {
    expect(formatRequest({ ...defaultSendProbe(4207), ipVersion: 4, address: '10.0.3.1', ttl: 3 })).toBe(
      '4207 send-probe ip-4 10.0.3.1 ttl 3 timeout 10',
    );
    expect(
      formatRequest({
        ...defaultSendProbe(1),
        ipVersion: 6,
        address: '::1',
        localAddress: '::2',
        protocol: 'tcp',
        port: 80,
        localPort: 2000,
        size: 100,
        bitPattern: 1,
        tos: 2,
        mark: 0,
        localDevice: 'lo',
      }),
    ).toBe(
      '1 send-probe ip-6 ::1 local-ip-6 ::2 protocol tcp port 80 local-port 2000 ttl 255 size 100 bit-pattern 1 tos 2 mark 0 timeout 10 local-device lo',
    );
    expect(formatRequest({ token: 2, command: 'check-support', feature: 'ip-6' })).toBe('2 check-support feature ip-6');
    expect(formatRequest({ token: 3, command: 'unknown', name: 'noop' })).toBe('3 noop');
  });

  it('refuses requests the wire cannot carry', () => {
    expect(() => formatRequest({ ...defaultSendProbe(1), address: '1.2.3.4' })).toThrow(RangeError);
    expect(() => formatRequest({ ...defaultSendProbe(1), ipVersion: 4 })).toThrow(RangeError);
    expect(() => formatRequest({ ...defaultSendProbe(1), ipVersion: 4, address: 'a b' })).toThrow(RangeError);
    expect(() => formatRequest({ ...defaultSendProbe(1), ttl: 1.5 })).toThrow(RangeError);
    expect(() => formatRequest({ ...defaultSendProbe(1), localPort: 80 })).toThrow(RangeError);
  });

  const word = fc.stringMatching(/^[!-~]{1,20}$/);
  const int = fc.integer({ min: -2147483648, max: 2147483647 });
  const sendProbe: fc.Arbitrary<SendProbeRequest> = fc
    .record({
      token: int,
      ip: fc.option(fc.tuple(fc.constantFrom<4 | 6>(4, 6), word), { nil: undefined }),
      protocol: fc.constantFrom('icmp', 'udp', 'tcp', 'sctp' as const),
      port: int,
      localAddress: fc.option(word, { nil: undefined }),
      localPort: fc.oneof(fc.constant(0), fc.integer({ min: 1024, max: 2147483647 })),
      ttl: int,
      size: int,
      bitPattern: int,
      tos: int,
      mark: fc.option(int, { nil: undefined }),
      timeout: int,
      localDevice: fc.option(word, { nil: undefined }),
    })
    .map(({ ip, ...rest }) => ({
      ...rest,
      command: 'send-probe' as const,
      ipVersion: ip?.[0],
      address: ip?.[1],
    }));
  const request: fc.Arbitrary<Request> = fc.oneof(
    sendProbe,
    fc.record({ token: int, command: fc.constant('check-support' as const), feature: word }),
  );

  it('decodeRequest(parseCommandLine(formatRequest(r))) == r', () => {
    fc.assert(
      fc.property(request, (r) => {
        const back = decodeLine(formatRequest(r));
        expect(back).toEqual(r);
      }),
      { numRuns: 500 },
    );
  });

  it('decodeRequest never throws on any parsed line', () => {
    const names = fc.constantFrom('send-probe', 'check-support', 'x', 'feature');
    const argNames = fc.constantFrom('ip-4', 'ip-6', 'protocol', 'port', 'local-port', 'ttl', 'mark', 'feature', 'local-device', 'zz');
    const values = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.stringMatching(/^[+-]?[0-9]{0,22}$/));
    fc.assert(
      fc.property(int, names, fc.array(fc.tuple(argNames, values), { maxLength: 20 }), (token, name, args) => {
        const r = decodeRequest({ token, name, args });
        expect(isRequest(r) || isReply(r)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe.runIf(referenceAvailable())('compared with the reference /usr/bin/mtr-packet 0.95', () => {
  it('tokens are read like strtol into an int', () => {
    const tokens = [
      'abc', '12abc', '+7', '-3', '-', '+', '0009', '-0', '0x10', '2147483648', '4294967297', '-2147483649',
      '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809',
      '99999999999999999999', '00000000000000000000000000007',
    ];
    const input = tokens.map((t) => `${t} check-support feature version\n`).join('');
    const ours = ourOutput(bytes(input));
    expect(ours.slice(0, 4)).toEqual([
      '0 feature-support support 0.95',
      '12 feature-support support 0.95',
      '7 feature-support support 0.95',
      '-3 feature-support support 0.95',
    ]);
    expect(runReference(input)).toEqual(ours);
  });

  it('argument decoding: accept / reject exactly like the reference', () => {
    const lines = [
      // accepted (no address: the reference then answers ip-version-not-supported)
      '1 send-probe port +5',
      '2 send-probe ttl 00',
      '3 send-probe tos 99999999999999999999',
      '4 send-probe local-port 1024',
      '5 send-probe local-port 4294968320',
      '6 send-probe local-port 65535 protocol sctp',
      '7 send-probe mark 0 size -1 timeout -1 bit-pattern 256',
      '8 send-probe foo bar local-device eth9 feature version',
      '9 send-probe',
      '10 send-probe local-ip-4 1.2.3.4 local-ip-6 ::1 protocol tcp protocol udp',
      // rejected
      '11 send-probe port 0x10',
      '12 send-probe ttl 1x',
      '13 send-probe ttl -',
      '14 send-probe ttl +',
      '15 send-probe local-port 1023',
      '16 send-probe local-port 0',
      '17 send-probe local-port -70000',
      '18 send-probe local-port 4294968319',
      '19 send-probe protocol ICMP',
      '20 send-probe protocol udp protocol bogus',
      '21 send-probe ttl 1 ttl x',
      '22 send-probe mark x',
      '23 send-probe timeout 1.5',
      '24 send-probe size 1e3',
      // syntax
      '25 send-probe ttl',
      '26',
      '',
      '27 check-support',
      '28 check-support feature',
      '29 check-support foo bar',
      '30 check-support foo bar feature version feature ip-4',
      '31 frobnicate',
      '32 Send-Probe ttl 1',
      '33\tcheck-support\vfeature\fversion\r',
      `34 check-support${' a b'.repeat(15)} feature version`,
      `35 check-support${' a b'.repeat(16)} feature version`,
      `36 check-support feature version${' a b'.repeat(15)} odd`,
    ];
    const input = lines.map((l) => `${l}\n`).join('');
    const ours = ourOutput(bytes(input));
    expect(ours).toContain('1 invalid-argument reason ip-version-not-supported');
    expect(ours).toContain('11 invalid-argument');
    expect(ours).toContain('34 feature-support support 0.95');
    expect(ours.filter((l) => l === '0 command-parse-error').length).toBe(6);
    expect(runReference(input)).toEqual(ours);
  });

  it('overflow chunking: a 10,000-byte line then a valid command', () => {
    const input = bytes(`${'a'.repeat(10_000)}\n1 check-support feature version\n`);
    const expected = [
      '0 command-buffer-overflow',
      '0 command-buffer-overflow',
      '0 command-parse-error',
      '1 feature-support support 0.95',
    ];
    expect(ourOutput(input)).toEqual(expected);
    expect(runReference(input)).toEqual(expected);
  });

  it('overflow at the exact bound, a tail after an overflow, CRLF, unterminated tail', () => {
    const cmd = '5 check-support feature version';
    const cases = [
      `${cmd}${' '.repeat(4094 - cmd.length)}\n${cmd}\n`, // 4094-byte line: fine
      `${cmd}${' '.repeat(4095 - cmd.length)}\n${cmd}\n`, // 4095: overflow, then an empty line
      `${'a'.repeat(8190)}\n${cmd}\n`,
      `${'a'.repeat(4095)}${cmd}\n`,
      `${'b'.repeat(3000)}\n${'c'.repeat(4094)}\n${cmd}\r\n${cmd}`,
    ];
    const expectations = [
      ['5 feature-support support 0.95', '5 feature-support support 0.95'],
      ['0 command-buffer-overflow', '0 command-parse-error', '5 feature-support support 0.95'],
      ['0 command-buffer-overflow', '0 command-buffer-overflow', '0 command-parse-error', '5 feature-support support 0.95'],
      ['0 command-buffer-overflow', '5 feature-support support 0.95'],
      ['0 command-parse-error', '0 command-parse-error', '5 feature-support support 0.95'],
    ];
    cases.forEach((input, i) => {
      const ours = ourOutput(bytes(input));
      expect(ours).toEqual(expectations[i]);
      expect(runReference(input)).toEqual(ours);
    });
  });

  it('random lines of protocol-ish words give the same answers', () => {
    const word = fc.constantFrom(
      'send-probe', 'check-support', 'feature', 'version', 'ttl', 'port', 'local-port', 'protocol', 'udp', 'x',
      'tos', 'mark', '-', '+1', '1024', '0x1', '99999999999999999999', '7', 'size', 'timeout', '1023',
    );
    const line = fc
      .tuple(fc.constantFrom('1', '22', '-4', 'q'), fc.array(word, { minLength: 0, maxLength: 8 }))
      .map(([t, ws]) => [t, ...ws].join(' '))
      .filter((l) => {
        const cmd = parseCommandLine(l);
        if (cmd === undefined) return true;
        const r = decodeRequest(cmd);
        return isReply(r) || r.command !== 'check-support' || r.feature === 'version';
      });
    const sample = fc.sample(fc.array(line, { minLength: 200, maxLength: 200 }), { numRuns: 1, seed: 4207 })[0] as string[];
    const input = sample.map((l) => `${l}\n`).join('');
    expect(runReference(input)).toEqual(ourOutput(bytes(input)));
  });

});

describe('NUL bytes (the reference stalls on them; for us they are ordinary bytes)', () => {
  it('a NUL stays inside its token', () => {
    const events = new LineFramer().push(bytes('1\0 check-support feature version\0\n'));
    expect(events).toEqual([{ kind: 'line', line: '1\u0000 check-support feature version\u0000' }]);
    const line = (events[0] as { line: string }).line;
    expect(decodeLine(line)).toEqual({ token: 1, command: 'check-support', feature: 'version\u0000' });
    expect(decodeLine('2 send-probe ttl 5\u0000')).toEqual({ token: 2, type: 'invalid-argument', reason: undefined });
  });
});
