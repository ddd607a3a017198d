// holdName: an abstract AF_UNIX name held by an engine, free again when it closes.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../src/index.js';
import { rootReason, skipRoot } from './probe-lab.js';

const opened: Engine[] = [];
function openEngine(): Engine {
  const e = new Engine(() => {});
  e.open({ mode: 'raw' });
  opened.push(e);
  return e;
}
afterEach(() => {
  for (const e of opened.splice(0)) e.close();
});

describe('holdName (no root needed)', () => {
  it('rejects names it cannot hold before any syscall', () => {
    const e = new Engine(() => {});
    expect(() => e.holdName('')).toThrow(TypeError);
    expect(() => e.holdName('a\0b')).toThrow(TypeError);
    expect(() => e.holdName('x')).toThrow(/EBADF/); // not open
    e.close();
  });
});

describe(`holdName as root${rootReason}`, { skip: skipRoot }, () => {
  it('one holder per name in the namespace; the name is free once its engine closes', () => {
    const name = `mtr-packet-ts-test/${randomBytes(6).toString('hex')}`;
    const a = openEngine();
    const b = openEngine();
    expect(a.holdName(name)).toBe(true);
    expect(b.holdName(name)).toBe(false);
    expect(a.holdName(name)).toBe(false); // held once, by its own first socket
    expect(b.holdName(`${name}/other`)).toBe(true);
    a.close();
    expect(b.holdName(name)).toBe(true);
  });

  it('refuses a name longer than a sockaddr_un holds', () => {
    const e = openEngine();
    expect(() => e.holdName('n'.repeat(200))).toThrow(/ENAMETOOLONG/);
  });
});
