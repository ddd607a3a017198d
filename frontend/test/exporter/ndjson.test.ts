// The event stream: its line format, which events it carries, and that a reader who does not read
// never blocks the writer: lines beyond the bound are dropped and counted, and `seq` shows the gap.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/engine/events.js';
import { EventStream, formatEvent, streamed } from '../../src/exporter/ndjson.js';
import { verdictJson } from '../../src/diagnose/json.js';
import type { Verdict } from '../../src/diagnose/types.js';

const target = { id: 3, name: 'www.example.org', address: '192.0.2.9', family: 4 as const };
const change: EngineEvent = {
  type: 'path-changed',
  seq: 7,
  ts: Date.UTC(2026, 11, 2, 12, 0, 0, 250),
  target,
  cycle: 12,
  previous: { id: 'aaaaaaaaaaaaaaaa', responders: ['10.0.1.2', null] },
  current: { id: 'bbbbbbbbbbbbbbbb', responders: ['10.0.1.2', '10.0.9.2'] },
  changes: 1,
};
const sent: EngineEvent = {
  type: 'probe-sent',
  seq: 8,
  ts: 0,
  target,
  probe: { probe: 1, token: 33000, ttl: 1, cycle: 1 },
  size: 64,
  bitPattern: 0,
};

describe('NDJSON event stream', () => {
  it("writes the engine's versioned event shape, with the configuration's name of the target", () => {
    expect(JSON.parse(formatEvent(change, 'web'))).toMatchObject({
      schema_version: 1,
      seq: 7,
      ts: '2026-12-02T12:00:00.250000Z',
      type: 'path_changed',
      target: { id: 3, name: 'www.example.org', address: '192.0.2.9', family: 4 },
      exporter_target: 'web',
    });
  });

  it('carries per-probe events only when asked', () => {
    expect(streamed(sent, false)).toBe(false);
    expect(streamed(sent, true)).toBe(true);
    expect(streamed(change, false)).toBe(true);
  });

  it('writes raised and cleared verdicts as mtr-ts --ndjson does, after the trace that led to them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mtrts-ndjson-'));
    const v = (rule: Verdict['rule'], hop: number | undefined): Verdict => ({
      rule,
      hop,
      confidence: 0.97,
      severity: 'problem',
      evidence: { loss: 0.3 },
      facts: {},
      summary: 's',
      advice: 'a',
    });
    const done = {
      type: 'cycle-done',
      seq: 41,
      ts: Date.UTC(2026, 11, 2, 12, 0, 1),
      target,
      cycle: 77,
      of: undefined,
      pathId: 'bbbbbbbbbbbbbbbb',
      destinationTtl: 4,
      reached: true,
      end: 'reached',
    } as unknown as Extract<EngineEvent, { type: 'cycle-done' }>;
    try {
      const s = new EventStream(join(dir, 'events.ndjson'), false, () => {});
      s.writeVerdicts(done, 'web', [v('forwarding-loss', 3)], [v('latency-step', 2)]);
      await s.close();
      const lines = readFileSync(join(dir, 'events.ndjson'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toEqual({
        schema_version: 1,
        type: 'diagnosis_raised',
        seq: 41,
        ts: '2026-12-02T12:00:01.000000Z',
        target: { id: 3, name: 'www.example.org', address: '192.0.2.9', family: 4 },
        verdict: verdictJson(v('forwarding-loss', 3)),
        exporter_target: 'web',
      });
      expect(lines[1]).toMatchObject({ type: 'diagnosis_cleared', verdict: { rule: 'latency-step', hop: 2 } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('appends to a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mtrts-ndjson-'));
    try {
      const s = new EventStream(join(dir, 'events.ndjson'), false, () => {});
      s.write(sent, 'web');
      s.write(change, 'web');
      await s.close();
      const lines = readFileSync(join(dir, 'events.ndjson'), 'utf8').trim().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as { type: string; seq: number }).type)).toEqual(['path_changed']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never blocks on a reader that does not read: drops and counts instead', async () => {
    // a FIFO whose reader never reads: the pipe fills at 64 KiB, then our buffer bound
    const dir = mkdtempSync(join(tmpdir(), 'mtrts-ndjson-'));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('sh', ['-c', `exec sleep 30 < '${fifo}'`], { stdio: 'ignore' });
    try {
      let drops = 0;
      const s = new EventStream(fifo, true, () => drops++, 64 * 1024);
      const t0 = Date.now();
      for (let i = 0; i < 20_000; i++) {
        s.write({ ...change, seq: i }, `t${i}`);
        if (i % 1000 === 0) await new Promise((r) => setTimeout(r, 5)); // let the writes happen
      }
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(drops).toBeGreaterThan(10_000);
      expect(drops).toBeLessThan(19_900); // some lines did go out
      expect(s.dropped).toBe(drops);
      reader.kill('SIGKILL');
      await s.close(500);
    } finally {
      reader.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
