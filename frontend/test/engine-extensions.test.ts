// The engine and the packet program's protocol extensions: asked for once per packet process when
// EngineOptions.extensions names them, on only when it answers `ok`; the answers' icmp-detail fields reach
// ReplyInfo, and a target's dontFragment reaches the probes.

import { describe, expect, it } from 'vitest';
import { createEngine } from '../src/engine/engine.js';
import { FakeClock, FakeSender, fakeEngineOptions, recorder, type Script } from './engine-fakes.js';

const DEST = '10.0.9.9';

/** hop 1 answers ttl-expired arriving with TTL 64, the destination answers with TTL 62 */
const script: Script = (f) =>
  f.ttl >= 2
    ? { outcome: { kind: 'reply', address: DEST, rtt: 2000, mpls: undefined, replyTtl: 62 }, after: 2 }
    : {
        outcome: { kind: 'ttl-expired', address: '10.0.0.1', rtt: 1000, mpls: undefined, icmpType: 11, icmpCode: 0, replyTtl: 64 },
        after: 1,
      };

class ExtSender extends FakeSender {
  readonly asked: string[] = [];
  constructor(clock: FakeClock, private readonly known: readonly string[]) {
    super(clock, { [DEST]: script });
  }
  override async checkSupport(feature: string): Promise<string> {
    this.asked.push(feature);
    return this.known.includes(feature) ? 'ok' : 'no';
  }
}

function setup(known: readonly string[], extensions?: string[]) {
  const clock = new FakeClock();
  const senders: ExtSender[] = [];
  const o = fakeEngineOptions(clock, { [DEST]: script }, extensions !== undefined ? { extensions } : {});
  o.connect = () => {
    const s = new ExtSender(clock, known);
    senders.push(s);
    return s;
  };
  const engine = createEngine(o);
  const rec = recorder();
  engine.subscribe(rec.listener);
  return { clock, engine, rec, senders };
}

describe('engine: protocol extensions', () => {
  it('asks each extension once per packet process, and knows which are on', async () => {
    const { clock, engine, senders } = setup(['icmp-detail'], ['icmp-detail', 'dont-fragment']);
    engine.add(DEST, { interval: 0.1, cycles: 3, gracetime: 1, maxTtl: 2 });
    engine.add(DEST, { interval: 0.1, cycles: 3, gracetime: 1, maxTtl: 2 });
    await clock.advance(2000);
    await engine.settled();
    expect(senders).toHaveLength(1);
    expect(senders[0]!.asked).toEqual(['icmp-detail', 'dont-fragment']);
    expect(engine.extensionOn('icmp-detail')).toBe(true);
    expect(engine.extensionOn('dont-fragment')).toBe(false);
  });

  it('asks nothing unless told to (mtr 0.95 semantics)', async () => {
    const { clock, engine, senders } = setup(['icmp-detail']);
    engine.add(DEST, { interval: 0.1, cycles: 2, gracetime: 1, maxTtl: 2 });
    await clock.advance(2000);
    await engine.settled();
    expect(senders[0]!.asked).toEqual([]);
    expect(engine.extensionOn('icmp-detail')).toBe(false);
  });

  it("carries the answers' ICMP type/code and reply TTL in ReplyInfo; dontFragment reaches the probes", async () => {
    const { clock, engine, rec, senders } = setup(['icmp-detail', 'dont-fragment'], ['icmp-detail', 'dont-fragment']);
    const t = engine.add(DEST, { interval: 0.1, cycles: 2, gracetime: 1, maxTtl: 2, dontFragment: true });
    await clock.advance(2000);
    await engine.settled();
    const answered = rec.of('probe-answered');
    expect(answered.find((e) => e.probe.ttl === 1)!.reply).toEqual({ kind: 'ttl-expired', icmpType: 11, icmpCode: 0, replyTtl: 64 });
    expect(answered.find((e) => e.probe.ttl === 2)!.reply).toEqual({ kind: 'reply', replyTtl: 62 });
    expect(engine.snapshot(t.id)!.hops[0]!.responders[0]!.reply).toMatchObject({ icmpType: 11, icmpCode: 0 });
    expect(senders[0]!.sent.every((f) => f.dontFragment === true)).toBe(true);
    const plain = engine.add(DEST, { interval: 0.1, cycles: 1, gracetime: 1, maxTtl: 1 });
    await clock.advance(2000);
    await engine.settled([plain.id]);
    expect(senders[0]!.sent.at(-1)!.dontFragment).toBeUndefined();
  });
});
