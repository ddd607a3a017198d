// Per-flow (ECMP) statistics from scenario files (fixtures/flows): probes sent, answered and lost on stable
// flows at one hop; each member's own numbers and share (a flow's loss charged to its own member, a probe in
// flight at the end too), each flow's counts and responders, per-flow vs per-packet balancing; the members
// report lines and the rich JSON hop (strict schema) from the same snapshot; --flows and --members options.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HopStats } from '../src/stats/hop-stats.js';
import { memberLines, memberShare } from '../src/render/members.js';
import { hopJson } from '../src/outputs/json-shapes.js';
import { NO_NAMES, type RenderOptions } from '../src/render/model.js';
import { parseOptions } from '../src/options.js';
import { DEFAULT_ORDER } from '../src/fields.js';
import { validateReport, explain } from './schemas.js';
import { createEngine } from '../src/engine/engine.js';
import { FakeClock, fakeEngineOptions, recorder, type Script } from './engine-fakes.js';

type Ev = ['sent', number, number] | ['reply', number, number, string, number] | ['lost', number, number] | ['end'];
interface Scenario {
  description: string;
  ttl: number;
  events: Ev[];
  expect: {
    balancing: string;
    members: Record<string, { sent: number; received: number; lossPercent: number; avg: number; share: number }>;
    flows: Array<{ flow: number; sent: number; received: number; responders: string[]; changes: number }>;
  };
}

const DIR = new URL('./fixtures/flows/', import.meta.url);
const scenarios = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f, JSON.parse(readFileSync(new URL(f, DIR), 'utf8')) as Scenario] as const);

function play(s: Scenario): HopStats {
  const h = new HopStats(s.ttl, 100, 100);
  const slots = new Map<number, number>();
  for (const e of s.events) {
    if (e[0] === 'sent') slots.set(e[1], h.sent(e[1], e[1], e[2]));
    else if (e[0] === 'reply') {
      h.answered(
        slots.get(e[1])!,
        e[1],
        e[1],
        { address: e[3], rtt: e[4], mpls: [], reply: { kind: 'ttl-expired' }, error: undefined },
        0,
        e[2],
      );
    } else if (e[0] === 'lost') h.lost(slots.get(e[1])!, e[1], e[2]);
    else h.end();
  }
  return h;
}

const RENDER: RenderOptions = {
  order: DEFAULT_ORDER,
  wide: false,
  dns: false,
  showIps: false,
  ipinfo: undefined,
  mpls: false,
};

describe('per-flow hop statistics from scenario files', () => {
  it('has scenarios', () => expect(scenarios.length).toBeGreaterThanOrEqual(2));
  for (const [file, s] of scenarios) {
    it(`${file}: ${s.description}`, () => {
      const hop = play(s).snapshot();
      expect(hop.balancing).toBe(s.expect.balancing);
      for (const [addr, m] of Object.entries(s.expect.members)) {
        const r = hop.responders.find((x) => x.address === addr);
        expect(r, addr).toBeDefined();
        expect({
          sent: r!.stats.sent,
          received: r!.stats.received,
          lossPercent: r!.stats.lossPercent,
          avg: r!.stats.avg,
        }).toEqual({
          sent: m.sent,
          received: m.received,
          lossPercent: m.lossPercent,
          avg: m.avg,
        });
        expect(Math.round(memberShare(hop, addr))).toBe(m.share);
      }
      // the members' counts add up to the hop's
      expect(hop.responders.reduce((n, r) => n + r.stats.sent, 0)).toBe(hop.lifetime.sent);
      for (const f of s.expect.flows) {
        const got = hop.flows!.find((x) => x.flow === f.flow)!;
        expect({
          flow: got.flow,
          sent: got.stats.sent,
          received: got.stats.received,
          responders: got.responders,
          changes: got.changes,
        }).toEqual(f);
        expect(got.stats.inFlight).toBe(0);
      }
      // one report line per member (share, address, Loss%, Snt), then the balancing
      const lines = memberLines(hop, NO_NAMES, RENDER, 33);
      expect(lines).toHaveLength(hop.responders.length + 1);
      for (const [i, r] of hop.responders.entries()) {
        expect(lines[i]).toMatch(
          new RegExp(
            `^ {4}\\+-- +${s.expect.members[r.address]!.share}% ${r.address.replace(/\./g, '\\.')} +${r.stats.lossPercent.toFixed(1)}% +${r.stats.sent} `,
          ),
        );
      }
      expect(lines.at(-1)).toBe(`    +-- ${s.expect.balancing} balancing`);
      // the rich JSON hop validates against the strict report schema (inside a minimal document)
      const json = hopJson(hop, NO_NAMES);
      expect((json['flows'] as unknown[]).length).toBe(hop.flows!.length);
      const doc = richDoc(json);
      expect(validateReport(doc), explain(validateReport.errors)).toBe(true);
    });
  }
});

describe('classic probing keeps the hop snapshot as it was', () => {
  it('no flows, no balancing keys', () => {
    const h = new HopStats(1, 10, 10);
    const slot = h.sent(1, 1);
    h.answered(
      slot,
      1,
      1,
      { address: '10.0.0.1', rtt: 1000, mpls: [], reply: { kind: 'ttl-expired' }, error: undefined },
      0,
    );
    const snap = h.snapshot();
    expect('flows' in snap).toBe(false);
    expect('balancing' in snap).toBe(false);
    expect('flows' in hopJson(snap, NO_NAMES)).toBe(false);
  });
});

describe('per (TTL, flow, responder) statistics', () => {
  it("a flow's members: each responder's answers, the losses while it was the member, the early loss to the first", () => {
    const h = play({
      description: 'flow 0 balanced per packet over A and B',
      ttl: 2,
      events: [
        ['sent', 1, 0],
        ['lost', 1, 0], // before any answer: charged to A, the first member it answers from
        ['sent', 2, 0],
        ['reply', 2, 0, 'A', 1000],
        ['sent', 3, 0],
        ['reply', 3, 0, 'B', 3000],
        ['sent', 4, 0],
        ['lost', 4, 0], // B is the member now
        ['sent', 5, 0],
        ['end'], // in flight at the end: B's
      ],
      expect: undefined,
    } as unknown as Scenario);
    const f = h.snapshot().flows![0]!;
    expect(f.stats.sent).toBe(5);
    // avg in ms
    expect(f.members!.map((m) => [m.address, m.stats.sent, m.stats.received, m.stats.avg])).toEqual([
      ['A', 2, 1, 1],
      ['B', 3, 1, 3],
    ]);
    const json = hopJson(h.snapshot(), NO_NAMES) as { flows: Array<{ members: Array<{ address: string; stats: { sent: number } }> }> };
    expect(json.flows[0]!.members.map((m) => [m.address, m.stats.sent])).toEqual([
      ['A', 2],
      ['B', 3],
    ]);
  });
});

describe('--flows and --members options', () => {
  const parse = (a: string[]) => parseOptions(a, undefined, { isRoot: true, readFile: () => '' });
  it('--flows N with ICMP or -u sets flows and members', () => {
    expect(parse(['-u', '--flows', '8', 'x'])).toMatchObject({ flows: 8, members: true });
    expect(parse(['--flows', '2', 'x'])).toMatchObject({ flows: 2, members: true, protocol: 'icmp' });
    expect(parse(['--members', 'x'])).toMatchObject({ flows: undefined, members: true });
    expect(parse(['x'])).toMatchObject({ flows: undefined, members: false });
  });
  it('TCP flows (-T): -P and -L kept, -s not needed (a bare SYN); -L + N - 1 within 65535', () => {
    expect(parse(['-T', '--flows', '8', '-P', '443', '-L', '40000', 'x'])).toMatchObject({ flows: 8, members: true, protocol: 'tcp', port: 443, localPort: 40000 });
    expect(parse(['-T', '-s', '40', '--flows', '2', 'x'])).toMatchObject({ flows: 2, psize: 40 });
    expect(() => parse(['-T', '-L', '65535', '--flows', '2', 'x'])).toThrow(/passes port 65535/);
  });
  it('refuses SCTP flows with one line, and out-of-range counts', () => {
    expect(() => parse(['-S', '--flows', '2', 'x'])).toThrow('--flows works with ICMP, UDP (-u) and TCP (-T): not with SCTP');
    expect(() => parse(['-u', '--flows', '0', 'x'])).toThrow(/out of range \(1 - 64\)/);
    expect(() => parse(['-u', '--flows', '65', 'x'])).toThrow(/out of range/);
    expect(() => parse(['-u', '-L', '65535', '--flows', '2', 'x'])).toThrow(/passes port 65535/);
    expect(() => parse(['-s', '53', '--flows', '2', 'x'])).toThrow('--flows needs -s 54 or more');
    expect(parse(['-s', '54', '--flows', '2', 'x'])).toMatchObject({ flows: 2, psize: 54 });
    expect(() => parse(['-s', '-100', '--flows', '2', 'x'])).toThrow('--flows needs -s 54 or more');
  });
});

/** A report document with one target whose one hop is `hop`. */
function richDoc(hop: Record<string, unknown>): unknown {
  const t = '2026-01-01T00:00:00.000000Z';
  return {
    schema_version: 1,
    program: { name: 'mtr-ts', version: '0.1.0' },
    local_hostname: 'h',
    started_at: t,
    ended_at: t,
    end_reason: 'completed',
    targets: [
      {
        target: { id: 1, name: 'x', address: '10.1.9.1', family: 4 },
        status: 'done',
        error: null,
        started_at: t,
        options: {
          family: 4,
          protocol: 'udp',
          port: 0,
          local_port: 0,
          local_address: null,
          interface: null,
          psize: 64,
          bitpattern: 0,
          tos: 0,
          mark: null,
          timeout_s: 10,
          interval_s: 1,
          gracetime_s: 5,
          cycles: 8,
          first_ttl: 1,
          max_ttl: 30,
          max_unknown: 12,
          window_size: 100,
          ring_size: 100,
          flows: 3,
        },
        cycles: 8,
        probes: 8,
        window_size: 100,
        path: {
          id: null,
          responders: [],
          changes: 0,
          last_change_cycle: null,
          destination_ttl: null,
          reached: false,
          end: 'unknown',
        },
        hops: [hop],
      },
    ],
  };
}

describe('engine with --flows over a fake ECMP hop', () => {
  const T = '10.9.9.9';
  const M1 = '10.0.1.1';
  const M2 = '10.0.2.1';
  /** TTL 2 balanced by the local port's parity; M2 loses every probe of local port 50003 at TTL 2 */
  const ecmp: Script = (f) => {
    const member = (f.localPort ?? 0) % 2 === 0 ? M1 : M2;
    if (f.ttl === 1)
      return { outcome: { kind: 'ttl-expired', address: '10.0.0.1', rtt: 1000, mpls: undefined }, after: 1 };
    if (f.ttl === 2 && f.localPort === 50003) return { outcome: { kind: 'no-reply' }, after: 50 };
    if (f.ttl === 2) return { outcome: { kind: 'ttl-expired', address: member, rtt: 2000, mpls: undefined }, after: 2 };
    return { outcome: { kind: 'reply', address: T, rtt: 3000, mpls: undefined }, after: 3 };
  };

  it('cycle c probes flow (c-1) mod N on fixed ports; each flow keeps its member; the loss lands on M2', async () => {
    const clock = new FakeClock();
    const o = fakeEngineOptions(clock, { [T]: ecmp });
    const engine = createEngine(o);
    const rec = recorder();
    engine.subscribe(rec.listener);
    const ref = engine.add(T, { protocol: 'udp', interval: 0.1, gracetime: 1, cycles: 8, flows: 4 });
    await clock.advance(5_000);
    await engine.settled();
    const sent = o.senders[0]!.sent;
    for (const e of rec.of('probe-sent')) {
      const f = sent.find((s) => s.token === e.probe.token)!;
      expect(e.probe.flow).toBe((e.probe.cycle - 1) % 4);
      expect([f.localPort, f.port]).toEqual([50000 + e.probe.flow!, 33434]);
    }
    const s = engine.snapshot(ref.id)!;
    const hop2 = s.hops[1]!;
    expect(hop2.balancing).toBe('per-flow');
    expect(hop2.flows!.map((f) => [f.flow, f.responder, f.stats.sent, f.stats.received])).toEqual([
      [0, M1, 2, 2],
      [1, M2, 2, 2],
      [2, M1, 2, 2],
      // flow 3 never answered at TTL 2: no member known; its losses are in the hop's, on no member
      [3, undefined, 2, 0],
    ]);
    expect(hop2.lifetime.sent - hop2.lifetime.received).toBe(2);
    expect(hop2.responders.map((r) => [r.address, r.stats.sent, r.stats.received])).toEqual([
      [M1, 4, 4],
      [M2, 2, 2],
    ]);
    // the classic option set is untouched by flows: no flow key without --flows
    const plain = createEngine(fakeEngineOptions(new FakeClock(), { [T]: ecmp }));
    const rec2 = recorder();
    plain.subscribe(rec2.listener);
    plain.add(T, { protocol: 'udp', interval: 0.1, cycles: 1 });
    await plain.stop();
    for (const e of rec2.of('probe-sent')) expect(e.probe.flow).toBeUndefined();
  });

  it('TCP: flow i from -L + i (or 50000 + i) to -P (or 80), sent with the flow extension', async () => {
    for (const [opts, ports] of [
      [{}, (flow: number) => [50000 + flow, 80]],
      [{ port: 443, localPort: 41000 }, (flow: number) => [41000 + flow, 443]],
    ] as const) {
      const clock = new FakeClock();
      const o = fakeEngineOptions(clock, { [T]: ecmp });
      const engine = createEngine(o);
      const rec = recorder();
      engine.subscribe(rec.listener);
      engine.add(T, { protocol: 'tcp', interval: 0.1, gracetime: 1, cycles: 4, flows: 2, ...opts });
      await clock.advance(5_000);
      await engine.settled();
      const sent = o.senders[0]!.sent;
      expect(rec.of('probe-sent').length).toBeGreaterThan(0);
      for (const e of rec.of('probe-sent')) {
        const f = sent.find((s) => s.token === e.probe.token)!;
        expect([f.protocol, f.flow, [f.localPort, f.port]]).toEqual(['tcp', e.probe.flow, ports(e.probe.flow!)]);
      }
    }
  });
});

describe('mtr-ts --members with the fake packet program', () => {
  const BIN = new URL('../bin/mtr-ts.js', import.meta.url).pathname;
  const FAKE = new URL('./fixtures/fake-mtr-packet.mjs', import.meta.url).pathname;
  const env = {
    ...process.env,
    MTR_PACKET: FAKE,
    FAKE_PATH: '10.0.0.1|10.0.0.9,fd00:aaaa:bbbb:cccc:dddd:eeee:ffff:1|10.0.0.7,127.0.0.1',
  };
  const runBin = (args: string[]): string =>
    execFileSync(process.execPath, [BIN, '-n', '-c', '4', '-i', '0.1', '-G', '0.5', ...args, '127.0.0.1'], {
      env,
      encoding: 'utf8',
    });

  it('-r and -w: a line per member, the Loss% column where the hop rows have it; -r alone stays mtr', () => {
    for (const mode of ['-r', '-w']) {
      const out = runBin([mode, '--members']).split('\n');
      const hopRows = out.filter((l) => /^ +\d+\.\|-- /.test(l));
      const memberRows = out.filter((l) => /^ {4}\+-- +\d+% /.test(l));
      expect(hopRows).toHaveLength(3);
      expect(memberRows).toHaveLength(4);
      const col = (l: string): number => l.indexOf('%', l.search(/ \d+\.\d%/));
      const want = col(hopRows[0]!);
      for (const l of [...hopRows, ...memberRows]) expect(col(l), `${mode}\n${out.join('\n')}`).toBe(want);
      expect(memberRows.map((l) => /\+-- +(\d+)%/.exec(l)![1])).toEqual(['50', '50', '50', '50']);
    }
    const plain = runBin(['-r']);
    expect(plain).not.toMatch(/\+-- +\d+%/);
    expect(plain).toMatch(/^ {4}\| {2}`\|-- 10\.0\.0\.1$/m);
  });

  it('-C and -x with --members: member rows / elements with their own fields and share; without, mtr 0.95\'s', () => {
    const csv = runBin(['-C', '--members']).trim().split('\n');
    expect(csv[0]).toMatch(/,Share,$/);
    const hopRows = csv.filter((l) => /^MTR\.0\.95,\d+,OK,/.test(l));
    const memberRows = csv.filter((l) => /^MTR\.0\.95,\d+,MEMBER,/.test(l));
    expect(hopRows).toHaveLength(3);
    for (const l of hopRows) expect(l).toMatch(/,100\.00$/);
    expect(memberRows.map((l) => [l.split(',')[4], l.split(',')[5], l.split(',').at(-1)])).toEqual([
      ['1', '10.0.0.1', '50.00'],
      ['1', '10.0.0.9', '50.00'],
      ['2', 'fd00:aaaa:bbbb:cccc:dddd:eeee:ffff:1', '50.00'],
      ['2', '10.0.0.7', '50.00'],
    ]);
    // every member row has as many columns as the header has titles
    for (const l of memberRows) expect(l.split(',').length).toBe(csv[0]!.split(',').length - 1);
    expect(runBin(['-C'])).not.toMatch(/MEMBER|Share/);

    const xml = runBin(['-x', '--members']);
    expect(xml.match(/<MEMBER HOST="[^"]+" SHARE="50\.0%">/g)).toHaveLength(4);
    expect(xml).toMatch(/<MEMBER HOST="10\.0\.0\.9" SHARE="50\.0%">\n {12}<Loss>/);
    expect(runBin(['-x'])).not.toMatch(/MEMBER/);

    // -j: mtr 0.95's keys as they were, "members" added to the balanced hubs (and with flows "balancing", "flows")
    interface Hub {
      count: number;
      host: string;
      'Loss%': number;
      members?: Array<{ host: string; share: number; 'Loss%': number; Snt: number }>;
      balancing?: string;
      flows?: Array<{ id: number; host: string; 'Loss%': number; changes: number }>;
    }
    const hubs = (args: string[]): Hub[] => (JSON.parse(runBin(['-j', ...args])) as { report: { hubs: Hub[] } }).report.hubs;
    const plainJson = hubs([]);
    const membersJson = hubs(['--members']);
    expect(plainJson.some((h) => 'members' in h || 'flows' in h)).toBe(false);
    for (const [i, h] of membersJson.entries()) {
      const { members, ...rest } = h;
      expect(rest).toEqual(plainJson[i]);
      if (i < 2) expect(members!.map((m) => [m.host, m.share, m.Snt])).toEqual([[i === 0 ? '10.0.0.1' : 'fd00:aaaa:bbbb:cccc:dddd:eeee:ffff:1', 50, 2], [i === 0 ? '10.0.0.9' : '10.0.0.7', 50, 2]]);
      else expect(members).toBeUndefined();
    }
    const flowJson = hubs(['-u', '--flows', '2']);
    // the target answers alone ('none'); the two balanced hops keep each flow on one member
    expect(flowJson.map((h) => [h.balancing, h.flows?.map((f) => [f.id, f['Loss%'], f.changes])])).toEqual(
      ['per-flow', 'per-flow', 'none'].map((b) => [b, [[0, 0, 0], [1, 0, 0]]]),
    );
    const flows = runBin(['-x', '-u', '--flows', '2']);
    expect(flows.match(/<BALANCING>per-flow<\/BALANCING>/g)).toHaveLength(2);
    expect(flows.match(/<FLOW ID="[01]" HOST="[^"]+" LOSS="0\.0%" CHANGES="0"\/>/g)).toHaveLength(6); // 2 flows at each of 3 hops
  });

  it('--json-rich with --flows validates; per-flow vs per-packet as the fake balances (per probe at a TTL)', () => {
    interface Doc {
      targets: Array<{
        options: { flows?: number };
        hops: Array<{ balancing?: string; flows?: Array<{ changes: number }> }>;
      }>;
    }
    const rich = (flows: string): Doc => {
      const doc = JSON.parse(runBin(['-u', '--flows', flows, '--json-rich'])) as Doc;
      expect(validateReport(doc), explain(validateReport.errors)).toBe(true);
      return doc;
    };
    // two flows over a hop that alternates per probe at its TTL: flow 0 always meets a, flow 1 always b
    const two = rich('2').targets[0]!;
    expect(two.options.flows).toBe(2);
    expect(two.hops[0]!.balancing).toBe('per-flow');
    expect(two.hops[0]!.flows!.map((f) => f.changes)).toEqual([0, 0]);
    // one flow meeting both: per-packet
    const one = rich('1').targets[0]!;
    expect(one.hops[0]!.balancing).toBe('per-packet');
    expect(one.hops[0]!.flows![0]!.changes).toBe(3);
    // without --flows: no flows keys
    const plain = JSON.parse(runBin(['-u', '--json-rich'])) as Doc;
    expect(plain.targets[0]!.options.flows).toBeUndefined();
    expect(plain.targets[0]!.hops[0]!.balancing).toBeUndefined();
  });
});
