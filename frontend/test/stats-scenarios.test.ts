// The statistics from scenario data files (fixtures/stats): events in, hand-checked numbers out.

import { readdirSync, readFileSync } from 'node:fs';
import type { MplsLabel } from '@mtr-ts/protocol';
import { describe, expect, it } from 'vitest';
import { HopStats } from '../src/stats/hop-stats.js';
import { TargetStats } from '../src/stats/target-stats.js';
import { RELATIVE_ACCURACY } from '../src/stats/percentiles.js';
import type { HopSnapshot, ReplyInfo, UnreachableCode } from '../src/stats/types.js';

const DIR = new URL('./fixtures/stats/', import.meta.url);
const load = (name: string): unknown => JSON.parse(readFileSync(new URL(name, DIR), 'utf8'));
const files = (prefix: string): string[] => readdirSync(DIR).filter((f) => f.startsWith(prefix) && f.endsWith('.json'));

type HopOp =
  | { op: 'sent' }
  | {
      op: 'reply';
      probe: number;
      address: string;
      rtt_us: number;
      kind?: ReplyInfo['kind'];
      code?: UnreachableCode;
      mpls?: MplsLabel[];
    }
  | { op: 'lost'; probe: number }
  | { op: 'end' };

interface HopScenario {
  name: string;
  window: number;
  ring: number;
  events: HopOp[];
  expect: Record<string, unknown>;
}

function runHop(s: HopScenario): HopSnapshot {
  const h = new HopStats(1, s.window, s.ring);
  const slots = new Map<number, number>();
  let probe = 0;
  let now = 1_000;
  for (const e of s.events) {
    now += 1000;
    switch (e.op) {
      case 'sent':
        probe++;
        slots.set(probe, h.sent(probe, probe));
        break;
      case 'reply': {
        const kind = e.kind ?? 'ttl-expired';
        const reply: ReplyInfo = kind === 'unreachable' ? { kind, code: e.code } : { kind };
        h.answered(
          slots.get(e.probe)!,
          e.probe,
          e.probe,
          {
            address: e.address,
            rtt: e.rtt_us,
            mpls: e.mpls ?? [],
            reply,
            error: kind === 'unreachable' ? e.code : undefined,
          },
          now,
        );
        break;
      }
      case 'lost':
        h.lost(slots.get(e.probe)!, e.probe);
        break;
      case 'end':
        h.end();
        break;
    }
  }
  return h.snapshot();
}

/** numbers to 9 decimals; percentiles within the histogram's bound unless `exact` */
function expectNumbers(
  actual: Record<string, unknown>,
  expected: Record<string, unknown>,
  where: string,
  exact: boolean,
): void {
  for (const [k, want] of Object.entries(expected)) {
    const got = actual[k];
    if (k === 'percentiles') {
      const p = got as Record<string, number>;
      expect(p, `${where}.percentiles`).toBeDefined();
      for (const [q, v] of Object.entries(want as Record<string, number>)) {
        if (exact) expect(p[q], `${where}.${q}`).toBe(v);
        else
          expect(Math.abs((p[q] as number) - v) / v, `${where}.${q} = ${p[q]} vs ${v}`).toBeLessThanOrEqual(
            RELATIVE_ACCURACY + 1e-12,
          );
      }
    } else if (typeof want === 'number') expect(got as number, `${where}.${k}`).toBeCloseTo(want, 9);
    else expect(got, `${where}.${k}`).toEqual(want);
  }
}

describe('hop statistics from scenario files', () => {
  for (const file of files('hop-')) {
    const s = load(file) as HopScenario;
    it(`${file}: ${s.name}`, () => {
      const snap = runHop(s);
      const x = s.expect;
      if (x.lifetime)
        expectNumbers(
          snap.lifetime as unknown as Record<string, unknown>,
          x.lifetime as Record<string, unknown>,
          'lifetime',
          false,
        );
      if (x.window)
        expectNumbers(
          snap.window as unknown as Record<string, unknown>,
          x.window as Record<string, unknown>,
          'window',
          true,
        );
      for (const k of ['address', 'lastProbe', 'error', 'reply', 'mpls'] as const)
        if (k in x) expect(snap[k], k).toEqual(x[k]);
      if (x.responders) {
        const want = x.responders as Array<Record<string, unknown>>;
        expect(snap.responders.map((r) => r.address)).toEqual(want.map((r) => r.address));
        want.forEach((w, i) => {
          const r = snap.responders[i]!;
          if (w.stats)
            expectNumbers(
              r.stats as unknown as Record<string, unknown>,
              w.stats as Record<string, unknown>,
              `responder ${r.address}`,
              false,
            );
          if (w.reply) expect(r.reply).toEqual(w.reply);
          if (w.mpls) expect(r.mpls).toEqual(w.mpls);
        });
      }
      if (x.samples) {
        expect(
          snap.samples.map((m) => ({ probe: m.probe, state: m.state, ...(m.rtt !== undefined ? { rtt: m.rtt } : {}) })),
        ).toEqual((x.samples as Array<Record<string, unknown>>).map(({ responder: _r, ...rest }) => rest));
        (x.samples as Array<Record<string, unknown>>).forEach((m, i) => {
          if (m.responder !== undefined) expect(snap.samples[i]!.responder).toBe(m.responder);
        });
      }
    });
  }
});

interface PathScenario {
  name: string;
  target: string;
  firstTtl: number;
  maxTtl: number;
  cycles: Array<{ answers: Array<string | null>; changed: boolean; id: string }>;
}

describe('path id from scenario files', () => {
  for (const file of files('path-')) {
    const s = load(file) as PathScenario;
    it(`${file}: ${s.name}`, () => {
      const t = new TargetStats({
        targetAddress: s.target,
        firstTtl: s.firstTtl,
        maxTtl: s.maxTtl,
        windowSize: 10,
        ringSize: 10,
      });
      let probe = 0;
      s.cycles.forEach((c, i) => {
        c.answers.forEach((a, at) => {
          const ttl = at + 1;
          const slot = t.sent(ttl, ++probe, i + 1);
          if (a === null) t.lost(ttl, slot, probe);
          else
            t.answered(
              ttl,
              slot,
              probe,
              i + 1,
              {
                address: a,
                rtt: 1000,
                mpls: [],
                reply: { kind: a === s.target ? 'reply' : 'ttl-expired' },
                error: undefined,
              },
              0,
            );
        });
        const r = t.cycleDone(i + 1);
        expect(r.changed !== undefined, `cycle ${i + 1} changed`).toBe(c.changed);
        expect(r.pathId, `cycle ${i + 1} id`).toBe(c.id);
      });
      const changes = s.cycles.filter((c) => c.changed).length;
      expect(t.path().changes).toBe(changes);
    });
  }
});
