// @mtr-ts/client as a user gets it: `pnpm pack` gives one tarball; a scratch project outside the
// repository installs only that tarball (npm --offline: nothing may come from a registry), its
// types compile, and its README examples run from there: ping and the TCP check on loopback, the
// concurrent trace on the netns lab against our daemon and mtr-packet 0.95, with the same hops.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeLab, useLab } from './lab/use-lab.js';
import { ourPacket, referenceNeed, referencePacket, repoRoot, requirements, rootNeed } from './support/env.js';

const run = promisify(execFile);
const pkgDir = join(repoRoot, 'protocol/client');
let work = '';
let scratch = '';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mtr-client-pack-'));
  // pnpm pack runs the package's prepack (tsc -b, then the bundle with @mtr-ts/protocol inlined)
  await run('npx', ['-y', 'pnpm@10.34.9', 'pack', '--pack-destination', work], { cwd: pkgDir, timeout: 120_000 });
  const tarballs = readdirSync(work).filter((f) => f.endsWith('.tgz'));
  expect(tarballs).toEqual(['mtr-ts-client-0.1.0.tgz']);
  scratch = join(work, 'scratch');
  mkdirSync(scratch);
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(work, tarballs[0]!)], { cwd: scratch, timeout: 120_000 });
  for (const f of ['ping.mjs', 'trace-concurrent.mjs', 'tcp-port.mjs']) {
    copyFileSync(join(scratch, 'node_modules/@mtr-ts/client/examples', f), join(scratch, f));
  }
}, 240_000);

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('the packed @mtr-ts/client in a scratch project', () => {
  it('installs with nothing but the tarball: compiled JS, types, no dependency', () => {
    const installed = join(scratch, 'node_modules/@mtr-ts/client');
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.dependencies).toBeUndefined();
    expect(JSON.stringify(pkg.exports)).not.toContain('src/');
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/mtr-packet.d.ts', 'examples/trace-concurrent.mjs']) expect(existsSync(join(installed, f)), f).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
    // the only node_modules entry is the client itself
    expect(readdirSync(join(scratch, 'node_modules')).filter((d) => !d.startsWith('.'))).toEqual(['@mtr-ts']);
    expect(readFileSync(join(installed, 'dist/index.js'), 'utf8')).not.toMatch(/from ["']@mtr-ts\/protocol["']/);
  });

  it('its types compile in a strict TypeScript consumer', async () => {
    writeFileSync(
      join(scratch, 'use.ts'),
      `import { MtrPacket, InvalidArgument, type ProbeOutcome } from '@mtr-ts/client';
const mtr: MtrPacket = await MtrPacket.open({ startupTimeoutMs: 1000 });
const r: ProbeOutcome = await mtr.probe('127.0.0.1', { ttl: 3, protocol: 'tcp', port: 80, signal: AbortSignal.timeout(100) });
if (r.kind === 'ttl-expired') console.log(r.address, r.rtt, r.mpls?.[0]?.label);
if (r.kind === 'unreachable') { const why: 'no-route' | 'no-route-network' | 'no-route-host' | 'host-down' = r.reason; console.log(why); }
const e: InvalidArgument = new InvalidArgument('x', true);
console.log(e.local, mtr.sendProbe.length);
await mtr[Symbol.asyncDispose]();
// @ts-expect-error ttl must be a number
await mtr.probe('127.0.0.1', { ttl: 'three' });
`,
    );
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const args = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext'];
    args.push('--types', 'node', '--typeRoots', join(repoRoot, 'node_modules/@types'), 'use.ts');
    const r = await run(process.execPath, [tsc, ...args], { cwd: scratch }).catch((e: { stdout: string }) => e);
    expect(r.stdout).toBe('');
  }, 180_000);

  const skip = requirements('packed client examples', [rootNeed]);
  it.skipIf(skip !== undefined)('the ping and TCP-check examples run from the scratch project (loopback, our daemon)', async () => {
    const env = { ...process.env, MTR_PACKET: ourPacket };
    const ping = await run(process.execPath, ['ping.mjs', '127.0.0.1', '--count', '2', '--interval', '0.1'], { cwd: scratch, env });
    expect(ping.stdout).toMatch(/^reply from 127\.0\.0\.1: seq=1 time=\d+\.\d{3} ms\nreply from 127\.0\.0\.1: seq=2 .*\n2 probes, 2 replies\n$/);
    const tcp = await run(process.execPath, ['tcp-port.mjs', '::1', '9'], { cwd: scratch, env });
    expect(tcp.stdout).toMatch(/^::1 port 9\/tcp: answered by ::1 in \d+\.\d{3} ms\n$/);
  });
});

describeLab('the packed client README trace example on the lab', () => {
  const lab = useLab({ delaysMs: [1, 1, 1, 1] });
  const skip = requirements('packed client trace against mtr-packet 0.95', [rootNeed, referenceNeed]);

  async function trace(packet: string, dest: string, protocol: string): Promise<string[]> {
    // no --packet: a project without mtr-packet-ts installed takes MTR_PACKET
    const r = await lab().exec('client', ['env', `MTR_PACKET=${packet}`, process.execPath, join(scratch, 'trace-concurrent.mjs'), dest, '--max-ttl', '8', '--protocol', protocol], {
      timeoutMs: 30_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const hops = r.stdout.split('\n').flatMap((l) => {
      const m = /^\s*(\d+)\. (\S+)\s+\d+\.\d{3} ms/.exec(l);
      return m ? [`${m[1]} ${m[2]}`] : [];
    });
    return hops;
  }

  it.skipIf(skip !== undefined)('same hops with mtr-packet-ts and with mtr-packet 0.95, IPv4 ICMP and IPv6 UDP', async () => {
    const l = lab();
    for (const [dest, hops, protocol] of [
      [l.hops4[3], l.hops4, 'icmp'],
      [l.hops6[3], l.hops6, 'udp'],
    ] as const) {
      const want = hops.map((h, i) => `${i + 1} ${h}`);
      const ours = await trace(ourPacket, dest, protocol);
      const reference = await trace(referencePacket as string, dest, protocol);
      expect(ours).toEqual(want);
      expect(reference).toEqual(ours);
    }
  });
});
