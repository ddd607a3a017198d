import { readFileSync } from 'node:fs';
import type { MplsLabel } from '@mtr-ts/protocol';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ORDER } from '../src/fields.js';
import { EMPTY_HOP, reduceHop, type HopEvent, type HopState } from '../src/stats.js';
import type { Names, RenderOptions, Snapshot } from '../src/render/model.js';
import { NO_NAMES } from '../src/render/model.js';
import { renderReport, renderReportHeader } from '../src/render/report.js';
import { renderJson } from '../src/render/json.js';
import { renderCsv } from '../src/render/csv.js';
import { renderXml } from '../src/render/xml.js';
import { newSplitState, renderSplit } from '../src/render/split.js';

const ref = (name: string): string[] =>
  readFileSync(new URL(`./fixtures/mtr-0.95/${name}.out`, import.meta.url), 'utf8').replace(/\n$/, '').split('\n');

/** numbers normalised: floats become F, the start time T; integers stay (counts must agree) */
const norm = (lines: string[]): string[] =>
  lines.map((l) =>
    l
      .replace(/^Start: .*/, 'Start: T')
      .replace(/^(MTR\.[\d.]+),\d+,/, '$1,T,')
      .replace(/\d+\.\d+/g, 'F'),
  );

function hop(events: HopEvent[]): HopState {
  return events.reduce(reduceHop, EMPTY_HOP);
}
const sent: HopEvent = { kind: 'sent' };
const r = (address: string, rtt: number, mpls?: MplsLabel[]): HopEvent => ({ kind: 'reply', address, rtt, mpls });

function loopback(cycles: number): Snapshot {
  const events: HopEvent[] = [];
  for (let i = 0; i < cycles; i++) events.push(sent, r('127.0.0.1', 60 + i * 10));
  const hops: HopState[] = Array.from({ length: 30 }, () => EMPTY_HOP);
  hops[0] = hop(events);
  return {
    info: { localHostname: 'vm', target: '127.0.0.1', targetAddress: '127.0.0.1', startTime: Date.UTC(2026, 10, 22, 6, 25, 1), tos: 0, psize: 64, bitpattern: 0, tests: cycles },
    hops,
    firstTtl: 1,
    maxTtl: 30,
  };
}

const opts = (o: Partial<RenderOptions> = {}): RenderOptions => ({
  order: DEFAULT_ORDER,
  wide: false,
  dns: false,
  showIps: false,
  ipinfo: undefined,
  mpls: false,
  ...o,
});
const ALL = 'LDRSNBAWVGJMXI';

describe('renderers have mtr 0.95 shapes (against captured output, numbers normalised)', () => {
  const s3 = loopback(3);
  const s2 = loopback(2);
  const report = (s: Snapshot, o: RenderOptions, names: Names = NO_NAMES): string[] => [...renderReportHeader(s), ...renderReport(s, names, o)];
  it('report -r', () => expect(norm(report(s3, opts()))).toEqual(norm(ref('r'))));
  it('wide -w', () => expect(norm(report(s3, opts({ wide: true })))).toEqual(norm(ref('w'))));
  it('every field -o LDRSNBAWVGJMXI', () => expect(norm(report(s3, opts({ order: ALL })))).toEqual(norm(ref('o'))));
  it('json -j', () => expect(norm(renderJson(s3, NO_NAMES, opts()))).toEqual(norm(ref('j'))));
  it('json every field', () => expect(norm(renderJson(s3, NO_NAMES, opts({ order: ALL })))).toEqual(norm(ref('oj'))));
  it('csv -C', () => expect(norm(renderCsv(s3, NO_NAMES, opts()))).toEqual(norm(ref('c'))));
  it('csv every field', () => expect(norm(renderCsv(s3, NO_NAMES, opts({ order: ALL })))).toEqual(norm(ref('oc'))));
  it('xml -x', () => expect(norm(renderXml(s3, NO_NAMES, opts()))).toEqual(norm(ref('x'))));
  it('xml every field', () => expect(norm(renderXml(s3, NO_NAMES, opts({ order: ALL })))).toEqual(norm(ref('ox'))));
  it('report -b with a name', () => {
    const names: Names = { host: (a) => (a === '127.0.0.1' ? 'localhost' : undefined), ipinfo: () => undefined };
    expect(norm(report(s2, opts({ dns: true, showIps: true }), names))).toEqual(norm(ref('b')));
  });
  it('-z report, json, csv with an unknown AS', () => {
    expect(norm(report(s2, opts({ ipinfo: 0 })))).toEqual(norm(ref('z')));
    expect(norm(renderJson(s2, NO_NAMES, opts({ ipinfo: 0 })))).toEqual(norm(ref('zj')));
    expect(norm(renderCsv(s2, NO_NAMES, opts({ ipinfo: 0 })))).toEqual(norm(ref('zc')));
  });
});

describe('a longer path: unknown hops, ECMP, MPLS, names, truncation', () => {
  const hops: HopState[] = Array.from({ length: 30 }, () => EMPTY_HOP);
  const label = { label: 24001, tc: 0, bottomOfStack: 1, ttl: 1 };
  hops[0] = hop([sent, r('192.168.1.1', 1200), sent, r('192.168.1.1', 1400)]);
  hops[1] = hop([sent, { kind: 'lost' }, sent, { kind: 'lost' }]);
  hops[2] = hop([sent, r('10.0.0.1', 5000, [label]), sent, r('10.0.0.2', 7000), sent, r('10.0.0.3', 6000)]);
  hops[3] = hop([sent, r('203.0.113.9', 9000), sent, { kind: 'lost' }]);
  const s: Snapshot = {
    info: { localHostname: 'host', target: 'example.org', targetAddress: '203.0.113.9', startTime: 0, tos: 0, psize: 64, bitpattern: 0, tests: 2 },
    hops,
    firstTtl: 1,
    maxTtl: 30,
  };
  const names: Names = {
    host: (a) => (a === '192.168.1.1' ? 'a-very-long-gateway-name.home.example.net' : undefined),
    ipinfo: (a) => (a === '203.0.113.9' ? '64500' : undefined),
  };

  it('report: ??? for silent hops, name cut at 33 columns, ECMP members under their hop, MPLS with -e', () => {
    expect(renderReport(s, names, opts({ dns: true, mpls: true }))).toEqual([
      'HOST: host                        Loss%   Snt   Last   Avg  Best  Wrst StDev',
      '  1.|-- a-very-long-gateway-name.  0.0%     2    1.4   1.3   1.2   1.4   0.1',
      '  2.|-- ???                       100.0%     2    0.0   0.0   0.0   0.0   0.0',
      '  3.|-- 10.0.0.3                   0.0%     3    6.0   6.0   5.0   7.0   1.0',
      '    |  `|-- 10.0.0.1',
      '    |   +-- [MPLS: Lbl 24001 Exp 0 S 1 TTL 1]',
      '    |   |-- 10.0.0.2',
      '  4.|-- 203.0.113.9               50.0%     2    9.0   9.0   9.0   9.0   0.0',
    ]);
  });

  it('wide report fits the longest name', () => {
    const lines = renderReport(s, names, opts({ dns: true, wide: true }));
    expect(lines[1]).toBe('  1.|-- a-very-long-gateway-name.home.example.net  0.0%     2    1.4   1.3   1.2   1.4   0.1');
    expect(lines[0]?.indexOf('Loss%')).toBe((lines[1]?.indexOf('0.0%') ?? 0) - 1 - 2);
  });

  it('-z shows AS numbers; ECMP members in the ipinfo shape', () => {
    expect(renderReport(s, names, opts({ ipinfo: 0 }))).toEqual([
      'HOST: host                        Loss%   Snt   Last   Avg  Best  Wrst StDev',
      '  1. AS???    192.168.1.1          0.0%     2    1.4   1.3   1.2   1.4   0.1',
      '  2. AS???    ???                 100.0%     2    0.0   0.0   0.0   0.0   0.0',
      '  3. AS???    10.0.0.3             0.0%     3    6.0   6.0   5.0   7.0   1.0',
      '     AS???    10.0.0.1',
      '     AS???    10.0.0.2',
      '  4. AS64500  203.0.113.9         50.0%     2    9.0   9.0   9.0   9.0   0.0',
    ]);
  });

  it('json lists responders with their counts when a hop has several', () => {
    const doc = JSON.parse(renderJson(s, NO_NAMES, opts()).join('\n'));
    expect(doc.report.hubs).toHaveLength(4);
    expect(doc.report.hubs[1]).toMatchObject({ count: 2, host: '???', 'Loss%': 100, Snt: 2 });
    expect(doc.report.hubs[2].responders).toEqual([
      { host: '10.0.0.1', count: 1 },
      { host: '10.0.0.2', count: 1 },
      { host: '10.0.0.3', count: 1 },
    ]);
    expect(doc.report.mtr).toEqual({ src: 'host', dst: 'example.org', tos: 0, tests: 2, psize: '64', bitpattern: '0x00' });
  });

  it('split writes changed lines only, ??? for silent hops', () => {
    const st = newSplitState();
    const first = renderSplit(st, s, NO_NAMES, opts());
    expect(first).toEqual(['1 192.168.1.1 0 2 2 1 1 1', '3 10.0.0.3 0 3 3 5 6 7', '4 203.0.113.9 50000 1 2 9 9 9']);
    expect(renderSplit(st, s, NO_NAMES, opts())).toEqual([]);
  });

  it('the report stops at a hop that answered unreachable', () => {
    const h2 = hops.slice();
    h2[1] = hop([sent, { kind: 'reply', address: '10.1.1.1', rtt: 300, error: 'no-route-host' }]);
    const lines = renderReport({ ...s, hops: h2 }, NO_NAMES, opts());
    expect(lines).toHaveLength(3);
  });
});
