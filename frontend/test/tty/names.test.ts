import { describe, expect, it } from 'vitest';
import { SwitchableNames, type ResolverLike } from '../../src/tty/names.js';

class Fake implements ResolverLike {
  learned: string[] = [];
  closed = false;
  private l: Array<(a: string) => void> = [];
  constructor(
    readonly dns: boolean,
    readonly item: number | undefined,
  ) {}
  learn(a: string): void {
    this.learned.push(a);
  }
  host(a: string): string | undefined {
    return this.dns ? `name-of-${a}` : undefined;
  }
  ipinfo(a: string): string | undefined {
    return this.item === undefined ? undefined : `item${this.item}-${a}`;
  }
  settle(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
  }
  listen(f: (a: string) => void): void {
    this.l.push(f);
  }
  arrive(a: string): void {
    for (const f of this.l) f(a);
  }
}

describe('names the live view keys switch', () => {
  it('started with -n: no lookups; n starts them for every address seen so far; n again stops them', () => {
    const made: Fake[] = [];
    const n = new SwitchableNames({ dns: false, ipinfo: undefined, server: undefined, make: (d, i) => (made.push(new Fake(d, i)), made.at(-1)!) });
    n.learn('10.0.0.1');
    n.learn('10.0.0.2');
    expect(made).toHaveLength(0);
    expect(n.host('10.0.0.1')).toBeUndefined();
    n.setDns(true);
    expect(made).toHaveLength(1);
    expect(made[0]!.learned).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(n.host('10.0.0.2')).toBe('name-of-10.0.0.2');
    n.setDns(false);
    expect(made[0]!.closed).toBe(true);
    expect(n.host('10.0.0.2')).toBeUndefined();
  });
  it('z / y choose the IP-info item; arrivals reach listeners only from the current resolver', () => {
    const made: Fake[] = [];
    const n = new SwitchableNames({ dns: true, ipinfo: undefined, server: undefined, make: (d, i) => (made.push(new Fake(d, i)), made.at(-1)!) });
    const heard: string[] = [];
    n.listen((a) => heard.push(a));
    n.learn('10.0.0.1');
    n.setIpinfo(0);
    expect(n.ipinfo('10.0.0.1')).toBe('item0-10.0.0.1');
    expect(made[1]!.learned).toEqual(['10.0.0.1']);
    made[0]!.arrive('10.0.0.1');
    made[1]!.arrive('10.0.0.1');
    expect(heard).toEqual(['10.0.0.1']);
  });
});
