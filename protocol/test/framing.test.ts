import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineFramer, MAX_LINE_BYTES, latin1Decode, latin1Encode, type FrameEvent } from '../src/index.js';
import { bytes, concat, simulateReference } from './helpers.js';

function frameAll(chunks: Uint8Array[], limit?: number): FrameEvent[] {
  const f = new LineFramer(limit);
  const out: FrameEvent[] = [];
  for (const c of chunks) out.push(...f.push(c));
  out.push(...f.end());
  return out;
}

const line = (s: string): FrameEvent => ({ kind: 'line', line: s });
const OVERFLOW: FrameEvent = { kind: 'overflow' };

describe('LineFramer basics', () => {
  it('splits on \\n only, keeps \\r, drops an unterminated tail', () => {
    expect(frameAll([bytes('1 a\r\n\n2 b\n3 c')])).toEqual([line('1 a\r'), line(''), line('2 b')]);
  });

  it('treats NUL and high bytes as ordinary bytes (latin1, 1:1)', () => {
    const input = concat(bytes('1 x\0y\n'), new Uint8Array([0x32, 0x80, 0x9f, 0xff, 0x0a]));
    expect(frameAll([input])).toEqual([line('1 x\u0000y'), line('2\u0080\u009f\u00ff')]);
  });

  it('end() resets: a later push starts a fresh line', () => {
    const f = new LineFramer();
    expect(f.push(bytes('abc'))).toEqual([]);
    expect(f.pendingBytes).toBe(3);
    expect(f.end()).toEqual([]);
    expect(f.pendingBytes).toBe(0);
    expect(f.push(bytes('1 x\n'))).toEqual([line('1 x')]);
  });

  it('empty chunks produce nothing', () => {
    const f = new LineFramer();
    expect(f.push(new Uint8Array(0))).toEqual([]);
    expect(f.push(bytes('\n'))).toEqual([line('')]);
  });
});

describe('overflow at the 4095-byte bound (verified against mtr-packet 0.95)', () => {
  it('a 4094-byte line is a line, a 4095-byte line overflows and leaves an empty line', () => {
    expect(MAX_LINE_BYTES).toBe(4095);
    const a4094 = 'a'.repeat(4094);
    expect(frameAll([bytes(`${a4094}\nx y\n`)])).toEqual([line(a4094), line('x y')]);
    expect(frameAll([bytes(`${'a'.repeat(4095)}\nx y\n`)])).toEqual([OVERFLOW, line(''), line('x y')]);
  });

  it('a 10,000-byte line overflows twice, its 1,810-byte tail is a line of its own', () => {
    const events = frameAll([bytes(`${'a'.repeat(10_000)}\n1 check-support feature version\n`)]);
    expect(events).toEqual([OVERFLOW, OVERFLOW, line('a'.repeat(1810)), line('1 check-support feature version')]);
  });

  it('a line of 4095 bytes then more text without newline: overflow, the rest is the next line', () => {
    expect(frameAll([bytes(`${'a'.repeat(4095)}3 check-support\n`)])).toEqual([OVERFLOW, line('3 check-support')]);
  });

  it('earlier complete lines in the same chunk do not count toward the bound', () => {
    const first = `${'b'.repeat(3000)}\n`;
    const second = 'c'.repeat(4094);
    expect(frameAll([bytes(`${first}${second}\n`)])).toEqual([line('b'.repeat(3000)), line(second)]);
  });

  it('overflows while bytes trickle in one at a time', () => {
    const input = bytes(`${'z'.repeat(8191)}\n`);
    const chunks = Array.from(input, (b) => new Uint8Array([b]));
    expect(frameAll(chunks)).toEqual([OVERFLOW, OVERFLOW, line('z')]);
  });
});

describe('every split offset gives the same events', () => {
  const small = bytes('1 check-support feature version\r\n\n  \n2 send-probe ip-4 127.0.0.1\n3 x\0y\nno newline');
  const smallExpected = [
    line('1 check-support feature version\r'),
    line(''),
    line('  '),
    line('2 send-probe ip-4 127.0.0.1'),
    line('3 x\u0000y'),
  ];

  it('every two- and three-way split of a CRLF / blank / NUL input', () => {
    expect(frameAll([small])).toEqual(smallExpected);
    for (let i = 0; i <= small.length; i++) {
      expect(frameAll([small.subarray(0, i), small.subarray(i)])).toEqual(smallExpected);
      for (let j = i; j <= small.length; j++) {
        const events = frameAll([small.subarray(0, i), small.subarray(i, j), small.subarray(j)]);
        if (events.length !== smallExpected.length) expect({ i, j, events }).toEqual({ i, j, events: smallExpected });
      }
    }
  });

  it('every split of an input with overflows at the real 4095 bound', () => {
    const input = bytes(`1 a\r\n${'x'.repeat(5000)}\n${'y'.repeat(4095)}\n2 b\r\n${'q'.repeat(4094)}\n3 c`);
    const expected = [
      line('1 a\r'),
      OVERFLOW,
      line('x'.repeat(905)),
      OVERFLOW,
      line(''),
      line('2 b\r'),
      line('q'.repeat(4094)),
    ];
    expect(frameAll([input])).toEqual(expected);
    const f = new LineFramer();
    for (let i = 0; i <= input.length; i++) {
      const events = [...f.push(input.subarray(0, i)), ...f.push(input.subarray(i)), ...f.end()];
      if (events.length !== expected.length || events[2]?.kind !== 'line' || events[2].line.length !== 905) {
        expect({ i, events }).toEqual({ i, events: expected });
      }
    }
    // spot-check deep equality at the boundaries too
    for (const i of [0, 1, 4, 5, 6, 4099, 4100, 4101, 5005, 5006, 9100, 9101, 9102, input.length]) {
      expect(frameAll([input.subarray(0, i), input.subarray(i)])).toEqual(expected);
    }
  });

  it('every split with a small limit, compared deeply', () => {
    const input = bytes('ab\ncdefgh\nijklmnopqrstu\r\nv\n\nwxyz');
    const expected = [line('ab'), OVERFLOW, line('h'), OVERFLOW, OVERFLOW, line('stu\r'), line('v'), line('')];
    expect(frameAll([input], 5)).toEqual(expected);
    for (let i = 0; i <= input.length; i++) {
      for (let j = i; j <= input.length; j++) {
        expect(frameAll([input.subarray(0, i), input.subarray(i, j), input.subarray(j)], 5)).toEqual(expected);
      }
    }
  });
});

describe('model check against a byte-level simulation of 0.95 read loop', () => {
  const inputArb = fc
    .array(
      fc.oneof(
        fc.uint8Array({ maxLength: 40 }),
        fc.constantFrom(bytes('\n'), bytes('\r\n'), bytes('1 a b\n')),
        fc.integer({ min: 1, max: 30 }).map((n) => new Uint8Array(n).fill(0x61)),
      ),
      { maxLength: 30 },
    )
    .map((parts) => concat(...parts));

  it('same events as the simulated C buffer, for any read sizes (size 16)', () => {
    fc.assert(
      fc.property(inputArb, fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 8 }), (input, reads) => {
        const chunks: Uint8Array[] = [];
        let o = 0;
        let r = 0;
        while (o < input.length) {
          const n = reads[r++ % reads.length] as number;
          chunks.push(input.subarray(o, o + n));
          o += n;
        }
        expect(frameAll(chunks, 15)).toEqual(simulateReference(input, reads, 16));
      }),
      { numRuns: 500 },
    );
  });

  it('same events as the simulated 4096-byte buffer for long lines', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 13_000 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 4 }),
        (lengths, reads) => {
          const input = bytes(lengths.map((n) => 'L'.repeat(n)).join('\n') + '\n');
          expect(frameAll([input])).toEqual(simulateReference(input, reads));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('never throws on random bytes in random chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }), fc.integer({ min: 1, max: 64 }), (chunks, limit) => {
        const events = frameAll(chunks, limit);
        for (const e of events) {
          if (e.kind === 'line') expect(e.line.length).toBeLessThan(limit);
        }
      }),
    );
  });
});

describe('latin1', () => {
  it('decodes every byte value to the same code point, also in large mixed chunks', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    const s = latin1Decode(all);
    expect(s.length).toBe(256);
    for (let i = 0; i < 256; i++) expect(s.charCodeAt(i)).toBe(i);
    const big = new Uint8Array(200_000).map((_, i) => (i % 7 === 0 && i > 100_000 ? 0xe9 : 0x41 + (i % 26)));
    const t = latin1Decode(big);
    expect(t.length).toBe(big.length);
    expect(t.charCodeAt(100_003)).toBe(0x41 + (100_003 % 26));
    expect(t.charCodeAt(100_009)).toBe(0xe9);
    expect(latin1Encode(t)).toEqual(big);
  });
});

describe('performance', () => {
  it('frames 50,000 short lines in one chunk without quadratic cost', () => {
    let s = '';
    for (let i = 0; i < 50_000; i++) s += `${i} send-probe ip-4 10.0.0.1 ttl ${i % 30}\n`;
    const input = bytes(s);
    new LineFramer().push(input); // warm up the JIT
    new LineFramer().push(input);
    const times: number[] = [];
    let events: FrameEvent[] = [];
    for (let run = 0; run < 5; run++) {
      const t0 = performance.now();
      events = new LineFramer().push(input);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    expect(events.length).toBe(50_000);
    expect(events[49_999]).toEqual(line('49999 send-probe ip-4 10.0.0.1 ttl 19'));
    // typically ~8 ms. Speed is the benchmark's business; this only catches a framer that rescans its
    // buffer per line (quadratic: seconds on these 2.3 MB), with room for a loaded CI machine.
    expect(times[0]).toBeLessThan(1000);
  });

  it('a 1 MB line without newline in 1-byte-less-than-bound chunks stays linear', () => {
    const chunk = new Uint8Array(4000).fill(0x61);
    const f = new LineFramer();
    const t0 = performance.now();
    let overflows = 0;
    for (let i = 0; i < 250; i++) overflows += f.push(chunk).length;
    expect(overflows).toBe(Math.floor((250 * 4000) / 4095));
    expect(performance.now() - t0).toBeLessThan(200);
  });
});
