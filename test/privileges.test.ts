// The attacks of issue 8, rerun: a privileged mtr-packet-ts (root, or root through sudo) and a
// privileged mtr-ts, each handed a hostile environment. Every marker file must stay absent, no file
// content may be echoed, no thread may hold a capability it does not use, SIGUSR1 opens nothing.

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ourPacket, repoRoot, requirements, rootNeed } from './support/env.js';
import { runProcess } from './support/run.js';

const python = '/usr/bin/python3';
const skip = requirements('privilege tests', [
  rootNeed,
  [existsSync(python), 'needs /usr/bin/python3 (pidfd_getfd probe)'],
  [spawnSync('unshare', ['--help']).status === 0, 'needs unshare (util-linux)'],
]);

const ourFrontendSh = join(repoRoot, 'frontend', 'bin', 'mtr-ts');
const CAP_NET_ADMIN = 1n << 12n;
const sudoEnv = { SUDO_UID: '65534', SUDO_GID: '65534', SUDO_USER: 'nobody' };

let dir: string;
let markers: string[];

/** Files the hostile environment would create if anything of it ran. */
function hostile(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_OPTIONS: `--require ${join(dir, 'evil.cjs')}`,
    PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`,
    MTR_PACKET: join(dir, 'bin', 'evil-packet'),
  };
}

function statusOf(path: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}

function threads(pid: number): Map<string, string>[] {
  return readdirSync(`/proc/${pid}/task`).map((t) => statusOf(`/proc/${pid}/task/${t}/status`));
}

/** Starts the daemon with stdin held open; resolves once it answered a first probe (sockets open, privileges dropped). */
async function startDaemon(args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; out: () => string; err: () => string }> {
  const child = spawn(ourPacket, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin!.write('1 send-probe ip-4 127.0.0.1\n');
  for (let i = 0; i < 250 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 20));
  expect(out, err).toMatch(/^1 reply ip-4 127\.0\.0\.1 round-trip-time \d+\n/);
  return { child, out: () => out, err: () => err };
}

async function finish(child: ChildProcess): Promise<number | null> {
  child.stdin!.end();
  return new Promise((r) => child.on('close', (code) => r(code)));
}

/** Socket inodes of pid's listening TCP sockets (IPv4 and IPv6). */
function listeningSockets(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  const found: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && inodes.has(f[9]!)) found.push(`${table} ${f[1]}`);
    }
  }
  return found;
}

beforeAll(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'mtr-priv-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'bin'));
  markers = ['required', 'fake-node', 'evil-packet'].map((m) => join(dir, `${m}.marker`));
  writeFileSync(join(dir, 'evil.cjs'), `require('fs').writeFileSync(${JSON.stringify(markers[0])}, 'ran');\n`);
  for (const [name, marker] of [['node', markers[1]], ['evil-packet', markers[2]]] as const) {
    writeFileSync(join(dir, 'bin', name), `#!/bin/sh\necho ran > ${marker}\nexit 1\n`);
    chmodSync(join(dir, 'bin', name), 0o755);
  }
  writeFileSync(join(dir, 'secret'), 'SECRET-LINE-7f3a\n');
  chmodSync(join(dir, 'secret'), 0o600);
  // mtr-ts's bin script runs the bundle
  execFileSync(process.execPath, [join(repoRoot, 'frontend', 'scripts', 'bundle.mjs')]);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function noMarker(): void {
  for (const m of markers) expect(existsSync(m), `${m} must not exist`).toBe(false);
}

describe.skipIf(skip)('privileged mtr-packet-ts', () => {
  it('as root: no thread holds any capability; its mark helper holds CAP_NET_ADMIN alone, and marks work', async () => {
    const d = await startDaemon([], process.env);
    try {
      const ts = threads(d.child.pid!);
      expect(ts.length).toBeGreaterThan(1);
      for (const t of ts) {
        expect([t.get('CapEff'), t.get('CapPrm'), t.get('CapBnd'), t.get('CapInh'), t.get('CapAmb')]).toEqual(Array(5).fill('0000000000000000'));
        expect(t.get('NoNewPrivs')).toBe('1');
        expect(t.get('Seccomp')).toBe('2');
      }
      const children = readFileSync(`/proc/${d.child.pid}/task/${d.child.pid}/children`, 'utf8').trim().split(/\s+/);
      expect(children).toHaveLength(1);
      const helper = statusOf(`/proc/${children[0]}/status`);
      expect(helper.get('Name')).toBe('mtr-packet-mark');
      for (const set of ['CapEff', 'CapPrm', 'CapBnd']) expect(BigInt(`0x${helper.get(set)}`)).toBe(CAP_NET_ADMIN);
      expect(helper.get('NoNewPrivs')).toBe('1');
      expect(readdirSync(`/proc/${children[0]}/fd`).sort()).toEqual(['0', '1', '2', '3']); // no raw socket
      d.child.stdin!.write('2 check-support feature mark\n3 send-probe ip-4 127.0.0.1 mark 7\n');
      for (let i = 0; i < 250 && !/\n3 /.test(d.out()); i++) await new Promise((r) => setTimeout(r, 20));
      expect(d.out()).toContain('\n2 feature-support support ok\n');
      expect(d.out()).toMatch(/\n3 reply ip-4 127\.0\.0\.1 round-trip-time \d+\n/);
    } finally {
      expect(await finish(d.child)).toBe(0);
    }
  });

  it('as root with --no-mark: every thread has empty effective, permitted and bounding sets', async () => {
    const d = await startDaemon(['--no-mark'], process.env);
    try {
      for (const t of threads(d.child.pid!)) {
        expect([t.get('CapEff'), t.get('CapPrm'), t.get('CapBnd'), t.get('NoNewPrivs')]).toEqual([
          '0000000000000000',
          '0000000000000000',
          '0000000000000000',
          '1',
        ]);
      }
    } finally {
      expect(await finish(d.child)).toBe(0);
    }
  });

  it('through sudo: runs as the user, no capability in any thread, and that user can neither take its sockets nor open its inspector', async () => {
    const d = await startDaemon([], { ...process.env, ...sudoEnv });
    const pid = d.child.pid!;
    try {
      for (const t of threads(pid)) {
        expect(t.get('Uid')!.split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
        expect(t.get('Gid')!.split(/\s+/)[0]).toBe('65534');
        expect(t.get('Gid')!.split(/\s+/)[1]).not.toBe('65534'); // detached: not the user's group
        expect([t.get('CapEff'), t.get('CapPrm'), t.get('CapBnd'), t.get('NoNewPrivs')]).toEqual([
          '0000000000000000',
          '0000000000000000',
          '0000000000000000',
          '1',
        ]);
      }
      // pidfd_getfd(2) as the user: the raw sockets stay the daemon's
      const probe = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', python, '-c', PIDFD_GETFD, String(pid)], {
        encoding: 'utf8',
      });
      expect(probe.stdout.trim().split('\n')).toEqual(['3 EPERM', '4 EPERM', '5 EPERM']);

      // SIGUSR1 from the user: Node's inspector would listen on 127.0.0.1:9229
      execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'kill', '-USR1', String(pid)]);
      await new Promise((r) => setTimeout(r, 500));
      expect(listeningSockets(pid)).toEqual([]);
      d.child.stdin!.write('2 send-probe ip-4 127.0.0.1\n');
      for (let i = 0; i < 250 && !d.out().includes('\n2 '); i++) await new Promise((r) => setTimeout(r, 20));
      expect(d.out()).toMatch(/\n2 reply ip-4 127\.0\.0\.1 round-trip-time \d+\n$/);
      expect(d.err()).not.toMatch(/Debugger listening|inspector/i);
    } finally {
      expect(await finish(d.child)).toBe(0);
    }
  });

  it('through sudo with NODE_OPTIONS, a fake node first on PATH and --inspect: nothing of it runs', async () => {
    // control: the marker mechanism works where it is allowed to
    const control = spawnSync(process.execPath, ['-e', '0'], { env: hostile() });
    expect(control.status).toBe(0);
    expect(existsSync(markers[0]!)).toBe(true);
    rmSync(markers[0]!);

    const r = await runProcess([ourPacket], '1 send-probe ip-4 127.0.0.1\n', { env: { ...hostile(), ...sudoEnv } });
    expect(r.stdout, r.stderr).toMatch(/^1 reply ip-4 127\.0\.0\.1 round-trip-time \d+\n$/);
    expect(r.code).toBe(0);
    const inspect = await runProcess([ourPacket, '--inspect=0.0.0.0:9229'], '', { env: { ...process.env, ...sudoEnv } });
    expect(inspect.code).toBe(2);
    expect(inspect.stderr).toBe('mtr-packet-ts: --inspect=0.0.0.0:9229 is refused in a privileged start\n');
    noMarker();
  });
});

describe.skipIf(skip)('mtr-packet-ts at a low open-file limit', () => {
  it('says which limit to raise, in one line, instead of letting Node abort', async () => {
    const r = await runProcess(['prlimit', '--nofile=20:20', ourPacket], '1 send-probe ip-4 127.0.0.1\n');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('mtr-packet-ts: the open-file limit is 20 (RLIMIT_NOFILE); it needs at least 32: raise it (ulimit -n)\n');
  });
});

describe.skipIf(skip)('privileged mtr-ts', () => {
  const run = (argv: string[], env: NodeJS.ProcessEnv, guard = false): ReturnType<typeof spawnSync> => {
    if (!guard) return spawnSync(ourFrontendSh, argv, { env, encoding: 'utf8', timeout: 60_000 });
    // The guard file exists only in a private mount namespace, on an overlay of /etc: the host's
    // /etc never sees it, even if the test dies.
    const upper = join(dir, 'upper');
    const work = join(dir, 'work');
    mkdirSync(upper, { recursive: true });
    mkdirSync(work, { recursive: true });
    const script = `mount -t overlay overlay -o lowerdir=/etc,upperdir=${upper},workdir=${work} /etc && touch /etc/mtr.is.run.under.sudo && exec "$@"`;
    return spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', ourFrontendSh, ...argv], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
  };

  it('not elevated (control): MTR_PACKET is honoured, so the markers below can appear', () => {
    const r = run(['-r', '-c', '1', '-n', '127.0.0.1'], { ...process.env, MTR_PACKET: join(dir, 'bin', 'evil-packet') });
    expect(r.status).toBe(1);
    expect(existsSync(markers[2]!)).toBe(true);
    rmSync(markers[2]!);
  });

  it('elevated even when Node runs the bundle directly (no bin/mtr-ts): MTR_PACKET ignored, -F refused', () => {
    const bundle = join(repoRoot, 'frontend', 'dist', 'mtr-ts.mjs');
    const env = { ...process.env, ...sudoEnv, MTR_PACKET: join(dir, 'bin', 'evil-packet') };
    const r = spawnSync(process.execPath, [bundle, '-r', '-c', '1', '-i', '0.1', '-n', '127.0.0.1'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/1\.\|-- 127\.0\.0\.1 +0\.0%/);
    const f = spawnSync(process.execPath, [bundle, '-r', '-F', join(dir, 'secret')], { env, encoding: 'utf8', timeout: 60_000 });
    expect(f.status).toBe(1);
    expect(f.stderr).toContain('-F is not allowed');
    expect(f.stdout + f.stderr).not.toContain('SECRET');
    noMarker();
  });

  for (const [name, env, guard] of [
    ['through sudo', () => ({ ...hostile(), ...sudoEnv }), false],
    ['where /etc/mtr.is.run.under.sudo exists', () => hostile(), true],
  ] as const) {
    it(`${name}: MTR_PACKET, NODE_OPTIONS and a fake node change nothing; it probes with its own packet program`, () => {
      const r = run(['-r', '-c', '1', '-i', '0.1', '-n', '127.0.0.1'], env(), guard);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/1\.\|-- 127\.0\.0\.1 +0\.0%/);
      noMarker();
    });

    it(`${name}: -F in MTR_OPTIONS or on the command line is refused without echoing the file`, () => {
      const secret = join(dir, 'secret');
      for (const [argv, extra] of [
        [['-r', '127.0.0.1'], { MTR_OPTIONS: `-F ${secret}` }],
        [['-r', '-F', secret], {}],
      ] as const) {
        const r = run([...argv], { ...env(), ...extra }, guard);
        expect(r.status).toBe(1);
        expect(String(r.stderr)).toContain('-F is not allowed when mtr-ts runs with more privilege than its caller');
        expect(String(r.stdout) + String(r.stderr)).not.toContain('SECRET');
      }
      noMarker();
    });
  }
});

/** pidfd_getfd(2) on fds 3..5 of argv[1]; prints "fd errno-name" or "fd GOT". */
const PIDFD_GETFD = `
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
pfd = libc.syscall(434, int(sys.argv[1]), 0)
for target in (3, 4, 5):
    fd = libc.syscall(438, pfd, target, 0)
    print(target, 'GOT' if fd >= 0 else errno.errorcode[ctypes.get_errno()])
`;
