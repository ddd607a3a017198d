// Installed like a tool: pnpm pack both packages, `npm install -g --prefix <tmp> --offline` the two
// tarballs (the addon and the launcher built by node-gyp at install), then use the commands on PATH:
// as root, and as uid 65534 with only the launcher given capabilities (ping sockets closed, so raw
// sockets are the only way). Also the man pages (man -l) and the completion file.

import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, requirements, rootNeed } from './support/env.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const skip = requirements('install tests', [
  rootNeed,
  [has('npm'), 'needs npm'],
  [has('setcap') && has('getcap'), 'needs setcap/getcap (libcap2-bin)'],
  [has('man'), 'needs man (man-db)'],
  [has('unshare') && has('setpriv'), 'needs unshare and setpriv (util-linux)'],
]);

/** pnpm as the test runner was started by it (CI: pnpm test), else the pinned one through npx. */
function pnpm(): string[] {
  const exec = process.env.npm_execpath;
  if (exec !== undefined && /pnpm/.test(exec)) return [process.execPath, exec];
  return ['npx', '-y', 'pnpm@10.34.9'];
}

/** Async, so vitest's worker stays responsive during the minute a pack and an install take. */
const run = promisify(execFile);

let tmp: string;
let prefix: string;
let bin: string;
let launcher: string;

beforeAll(async () => {
  if (skip) return;
  tmp = mkdtempSync(join(tmpdir(), 'mtr-install-'));
  chmodSync(tmp, 0o755); // uid 65534 runs from here
  const tarballs = join(tmp, 'tarballs');
  const [cmd, ...pre] = pnpm();
  for (const pkg of ['packet', 'frontend']) {
    await run(cmd!, [...pre, 'pack', '--pack-destination', tarballs], { cwd: join(repoRoot, pkg), maxBuffer: 64 << 20 });
  }
  const files = readdirSync(tarballs).map((f) => join(tarballs, f));
  expect(files.map((f) => f.slice(tarballs.length + 1)).sort()).toEqual(['mtr-packet-ts-0.1.0.tgz', 'mtr-ts-0.1.0.tgz']);
  prefix = join(tmp, 'prefix');
  await run(
    'npm',
    ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', '--allow-scripts=mtr-packet-ts,mtr-ts', ...files],
    { env: { ...process.env, npm_config_cache: join(tmp, 'npm-cache') }, maxBuffer: 64 << 20 },
  );
  bin = join(prefix, 'bin');
  launcher = join(prefix, 'lib', 'node_modules', 'mtr-packet-ts', 'native', 'build', 'Release', 'mtr-packet-launch');
}, 600_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(skip)('packed and installed with npm install -g', () => {
  const withPath = (): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin` });

  it('puts working mtr-packet-ts, mtr-ts and mtr-ts-exporter on PATH', () => {
    expect(readdirSync(bin).sort()).toEqual(['mtr-packet-ts', 'mtr-ts', 'mtr-ts-exporter']);
    const x = spawnSync('mtr-ts-exporter', ['--version'], { env: withPath(), encoding: 'utf8', timeout: 30_000 });
    expect(x.stderr).toBe('');
    expect(x.stdout).toBe('mtr-ts-exporter 0.1.0\n');
    const p = spawnSync('mtr-packet-ts', [], { input: '1 send-probe ip-4 127.0.0.1\n', env: withPath(), encoding: 'utf8', timeout: 30_000 });
    expect(p.stderr).toBe('');
    expect(p.stdout).toMatch(/^1 reply ip-4 127\.0\.0\.1 round-trip-time \d+\n$/);
    const m = spawnSync('mtr-ts', ['-r', '-c', '2', '-i', '0.1', '-n', '127.0.0.1'], { env: withPath(), encoding: 'utf8', timeout: 30_000 });
    expect(m.stderr).toBe('');
    expect(m.status).toBe(0);
    expect(m.stdout).toMatch(/1\.\|-- 127\.0\.0\.1 +0\.0% +2/);
  });

  it('lets uid 65534 trace 127.0.0.1 with capabilities on the launcher only, never on node', () => {
    // a scratch network namespace where ping sockets are closed: only raw sockets can probe
    const asNobody = (caps: string): ReturnType<typeof spawnSync> => {
      execFileSync('setcap', [caps, launcher]);
      const script =
        'ip link set lo up && sysctl -q -w net.ipv4.ping_group_range="1 0" && ' +
        'exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"';
      return spawnSync('unshare', ['-n', 'sh', '-c', script, 'sh', 'env', `PATH=${bin}:/usr/bin:/bin`, 'mtr-ts', '-r', '-c', '2', '-n', '127.0.0.1'], {
        encoding: 'utf8',
        timeout: 60_000,
      });
    };
    const ok = asNobody('cap_net_raw,cap_setgid+ep');
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/1\.\|-- 127\.0\.0\.1 +0\.0% +2/);
    // CAP_NET_RAW alone would hand the raw sockets to the user (pidfd_getfd): refused, said why
    const refused = asNobody('cap_net_raw+ep');
    expect(refused.status).toBe(1);
    expect(String(refused.stderr)).toContain('the launcher has CAP_NET_RAW but not CAP_SETGID');
    const node = execFileSync('getcap', [process.execPath], { encoding: 'utf8' });
    expect(node.trim()).toBe('');
    expect(execFileSync('getcap', [launcher], { encoding: 'utf8' })).toContain('cap_net_raw=ep');
  });

  it('installs the man pages, which man -l renders, and the bash completion', () => {
    const man8 = join(prefix, 'share', 'man', 'man8');
    for (const [page, title] of [
      ['mtr-ts.8', 'MTR-TS(8)'],
      ['mtr-packet-ts.8', 'MTR-PACKET-TS(8)'],
      ['mtr-ts-exporter.8', 'MTR-TS-EXPORTER(8)'],
    ]) {
      const r = spawnSync('man', ['-l', join(man8, page!)], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80', MAN_KEEP_FORMATTING: '' } });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(title);
      expect(r.stdout).toMatch(/\nNAME\n/);
      expect(r.stdout).toMatch(/\nSEE ALSO\n/);
    }
    const completion = join(prefix, 'lib', 'node_modules', 'mtr-ts', 'completion', 'mtr-ts.bash');
    expect(existsSync(completion)).toBe(true);
    const words = spawnSync('bash', ['-c', `source ${completion}; COMP_WORDS=(mtr-ts --report-); COMP_CWORD=1; _mtr_ts; echo "\${COMPREPLY[@]}"`], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:/usr/bin:/bin` },
    });
    expect(words.stdout.trim().split(' ').sort()).toEqual(['--report-cycles', '--report-wide']);
  });
});
