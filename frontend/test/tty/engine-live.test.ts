// The live view on the real engine (fake clock, scripted packet process): the adapter, and the keys
// wired to the engine's controls.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/engine.js';
import { engineSource, liveSettings } from '../../src/tty/adapter.js';
import { LiveView } from '../../src/tty/live.js';
import { Terminal } from '../../src/tty/terminal.js';
import { initialView } from '../../src/tty/view.js';
import { FakeClock, fakeEngineOptions, pathScript, recorder } from '../engine-fakes.js';
import { Screen } from './xterm.js';

process.env['TZ'] = 'UTC';

class In extends EventEmitter {
  readonly isTTY = true;
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  type(s: string): void {
    this.emit('data', Buffer.from(s));
  }
}
class Out extends EventEmitter {
  constructor(
    readonly columns: number,
    readonly rows: number,
    readonly screen: Screen,
  ) {
    super();
  }
  write(s: string): boolean {
    void this.screen.write(s);
    return true;
  }
}

const DST = '10.0.4.2';

describe('live view on the engine', () => {
  it('hops appear, the silent router waits, and p / Space / r / u reach the engine', async () => {
    const clock = new FakeClock();
    const engine = createEngine(fakeEngineOptions(clock, { [DST]: pathScript(['10.0.1.2', '*', '10.0.3.2', DST], 1, 300) }));
    const rec = recorder();
    engine.subscribe(rec.listener);
    const t = engine.add(DST, { interval: 0.5, cycles: undefined });
    const screen = new Screen(100, 30);
    const input = new In();
    const live = new LiveView({
      terminal: new Terminal(input, new Out(100, 30, screen)),
      source: engineSource(engine, t.id, () => ({ localHostname: 'vm', localAddress: '10.0.1.1' }), clock.now),
      view: initialView({ version: 'mtr-ts 0.1.0', settings: liveSettings(engine.snapshot(t.id)!) }),
      color: true,
      timers: clock,
    });
    void live.run();
    try {
      await clock.advance(5_000);
      await screen.write('');
      const rows = screen.lines();
      expect(rows[1]).toMatch(/^vm \(10\.0\.1\.1\) -> 10\.0\.4\.2 \(10\.0\.4\.2\) +2026-12-02T12:00:05\+0000$/);
      expect(rows.slice(5, 9).map((l) => l.slice(0, 24).trimEnd())).toEqual([' 1. 10.0.1.2', ' 2. (waiting for reply)', ' 3. 10.0.3.2', ' 4. 10.0.4.2']);
      expect(rows[5]).toMatch(/ 0\.0% +1[01] +1\.1 +1\.1 /);

      input.type('p');
      await clock.advance(200);
      expect(engine.snapshot(t.id)!.status).toBe('paused');
      const sent = rec.of('probe-sent').length;
      await clock.advance(3_000);
      expect(rec.of('probe-sent').length).toBe(sent);
      input.type(' ');
      await clock.advance(2_000);
      expect(rec.of('probe-sent').length).toBeGreaterThan(sent);

      input.type('r');
      await clock.advance(200);
      expect(engine.snapshot(t.id)!.hops[0]!.lifetime.sent).toBeLessThanOrEqual(1);

      input.type('u');
      await clock.advance(1_000);
      expect(engine.snapshot(t.id)!.options.protocol).toBe('udp');
      await screen.write('');
      expect(screen.lines()[0]).toContain('] UDP');
    } finally {
      live.stop();
      await engine.stop();
    }
  });
});
