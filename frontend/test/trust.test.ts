import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assessTrust, ourPacketProgram, packetCommand, readTargetsFile, TrustError } from '../src/trust.js';

const user = { uid: 1000, euid: 1000, env: {}, guard: false };
const dir = mkdtempSync(join(tmpdir(), 'mtr-trust-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('assessTrust', () => {
  it('trusts the environment of a user running as themselves', () => {
    expect(assessTrust(user).elevated).toBe(false);
    expect(assessTrust({ ...user, uid: 0, euid: 0 }).elevated).toBe(false); // root's own shell
  });
  it('is elevated set-user-ID, as root through sudo, or where the guard file exists', () => {
    expect(assessTrust({ ...user, euid: 0 }).why).toBe('running set-user-ID');
    expect(assessTrust({ ...user, uid: 0, euid: 0, env: { SUDO_UID: '1000' } }).why).toBe('running as root through sudo');
    expect(assessTrust({ ...user, uid: 0, euid: 0, env: { SUDO_USER: 'alice' } }).elevated).toBe(true);
    expect(assessTrust({ ...user, guard: true }).why).toBe('/etc/mtr.is.run.under.sudo exists');
    // SUDO_* set by a normal user changes nothing for them (they gain nothing from it)
    expect(assessTrust({ ...user, env: { SUDO_UID: '0' } }).elevated).toBe(false);
  });
});

describe('packetCommand', () => {
  it('honours MTR_PACKET and passes the environment through when not elevated', () => {
    const env = { MTR_PACKET: '/opt/x/mtr-packet', NODE_OPTIONS: '--require x' };
    expect(packetCommand(assessTrust({ ...user, env }))).toEqual({ path: '/opt/x/mtr-packet', env });
  });
  it('elevated: ignores MTR_PACKET, runs our program by absolute path with only the sudo ids', () => {
    const env = { MTR_PACKET: '/tmp/evil', NODE_OPTIONS: '--require /tmp/evil.js', LD_PRELOAD: '/tmp/evil.so', PATH: '/tmp/evil', SUDO_UID: '1000', SUDO_GID: '1000', SUDO_USER: 'alice' };
    const cmd = packetCommand(assessTrust({ uid: 0, euid: 0, env, guard: false }));
    expect(cmd.path).toBe(ourPacketProgram());
    expect(cmd.path.startsWith('/')).toBe(true);
    expect(cmd.path).toMatch(/mtr-packet-launch$|mtr-packet-ts$/);
    expect(cmd.env).toEqual({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SUDO_UID: '1000', SUDO_GID: '1000', SUDO_USER: 'alice' });
  });
});

describe('readTargetsFile', () => {
  const file = join(dir, 'targets');
  writeFileSync(file, 'SECRET-LINE-1\n');
  chmodSync(file, 0o600);
  it('elevated: refuses without opening, and the message holds no content', () => {
    const t = assessTrust({ uid: 0, euid: 0, env: { SUDO_UID: '1000' }, guard: false });
    let err: unknown;
    try {
      readTargetsFile(t, file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrustError);
    expect((err as Error).message).toMatch(/^-F is not allowed when mtr-ts runs with more privilege than its caller/);
    expect((err as Error).message).not.toContain('SECRET');
  });
  it('not elevated: reads what the real user may read', () => {
    expect(readTargetsFile(assessTrust(user), file)).toBe('SECRET-LINE-1\n');
  });
});
