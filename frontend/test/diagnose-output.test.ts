// The diagnosis as an event consumer: fed cycle-done / target-done events and snapshots the way the CLI's
// engine feeds its outputs, it prints the Diagnosis section, reports raised verdicts, and writes the page.

import { describe, expect, it } from 'vitest';
import { diagnosisOutput, verdictKey, type ReportSnapshotLike, type Verdict } from '../src/diagnose/index.js';
import { simulate, type SimHop } from './diagnose-sim.js';

const PATH = ['10.0.1.2', '10.0.2.2', '10.0.3.2', '10.0.4.2'];

function drive(hops: SimHop[], cycles: number, opts: { text?: boolean; html?: string } = {}) {
  const full = simulate(hops, cycles, { name: 'dest.lab' });
  let now = 0;
  const at = (c: number): ReportSnapshotLike => ({
    ...full,
    cycles: c,
    hops: full.hops.map((h) => ({ ...h, samples: h.samples.filter((x) => x.cycle <= c) })),
  });
  const events: Array<[string, string]> = [];
  const files = new Map<string, string>();
  const out = diagnosisOutput({
    snapshot: () => at(now),
    names: { host: (a) => (a === '10.0.2.2' ? 'r2.lab' : undefined) },
    dns: true,
    localHostname: 'client',
    generator: 'mtr-ts test',
    text: opts.text ?? true,
    htmlFile: opts.html,
    writeFile: (p, t) => files.set(p, t),
    onVerdict: (kind, _t, v: Verdict) => events.push([kind, verdictKey(v)]),
  });
  for (now = 1; now <= cycles; now++) out.onEvent({ type: 'cycle-done', target: { id: 1 } });
  now = cycles;
  out.onEvent({ type: 'target-done', target: { id: 1 }, reason: 'completed' });
  const lines = out.final(at(cycles));
  out.close();
  return { lines, events, files, out };
}

describe('diagnosis output', () => {
  it('--diagnose: the section after the report names the rule and the hop; raised once', () => {
    const hops: SimHop[] = PATH.map((addr) => ({ addr }));
    hops[1] = { addr: PATH[1]!, loss: 0.85 };
    const { lines, events, out } = drive(hops, 100);
    expect(lines[1]).toMatch(/^Diagnosis \(100 cycles; 3 windows of 50 cycles/);
    expect(lines.join('\n')).toContain('hop 2: icmp-rate-limited');
    expect(events).toEqual([['raised', 'icmp-rate-limited@2']]);
    expect(out.verdicts(1).map(verdictKey)).toEqual(['icmp-rate-limited@2']);
    expect(out.verdicts(2)).toEqual([]);
  });

  it('a clean run says so, and prints nothing without --diagnose', () => {
    const hops: SimHop[] = PATH.map((addr) => ({ addr }));
    expect(drive(hops, 100).lines.join('\n')).toContain('No finding');
    expect(drive(hops, 100, { text: false }).lines).toEqual([]);
  });

  it('--html FILE: one page with the trace, the names and the verdicts', () => {
    const hops: SimHop[] = PATH.map((addr) => ({ addr }));
    hops[2] = { addr: PATH[2]!, loss: 0.5 };
    hops[3] = { addr: PATH[3]!, loss: 0.5 };
    const { files } = drive(hops, 100, { text: false, html: '/x/report.html' });
    const page = files.get('/x/report.html')!;
    expect(page).toContain('<h1>Trace from client to dest.lab (10.0.4.2)</h1>');
    expect(page).toContain('r2.lab (10.0.2.2)');
    expect(page).toContain('forwarding-loss</span> at hop 3');
  });
});
