import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main, type Io } from '../src/cli.js';
import { FAKE, runCli } from './run-cli.js';
import { skipUnless } from './needs.js';

const BIN = new URL('../bin/mtr-ts.js', import.meta.url).pathname;
const DIST = new URL('../dist/cli.js', import.meta.url).pathname;
const root = typeof process.getuid === 'function' && process.getuid() === 0;


const fast = ['-n', '-i', '0.02', '-G', '1'];

describe('mtr-ts end to end with the fake packet program', () => {
  it('report: one row per hop up to the destination', async () => {
    const r = await runCli([...fast, '-r', '-c', '3', '127.0.0.1'], { FAKE_PATH: '10.0.0.1,*,127.0.0.1' });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Start: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$/);
    expect(lines[1]).toMatch(/^HOST: \S+\s+Loss% {3}Snt {3}Last {3}Avg {2}Best {2}Wrst StDev$/);
    expect(lines[2]).toMatch(/^ {2}1\.\|-- 10\.0\.0\.1 +0\.0% +3 +1\.0 +1\.0 +1\.0 +1\.0 +0\.0$/);
    expect(lines[3]).toMatch(/^ {2}2\.\|-- \?\?\? +100\.0% +3 /);
    expect(lines[4]).toMatch(/^ {2}3\.\|-- 127\.0\.0\.1 +0\.0% +3 /);
    expect(lines).toHaveLength(5);
  });

  it('json parses, ECMP members are listed with counts, MPLS lines with -e', async () => {
    const env = { FAKE_PATH: '10.0.0.1|10.0.0.9,127.0.0.1', FAKE_MPLS: '1:24001,0,1,1' };
    const j = await runCli([...fast, '-j', '-c', '4', '127.0.0.1'], env);
    const doc = JSON.parse(j.out);
    expect(doc.report.mtr).toMatchObject({ dst: '127.0.0.1', tests: 4 });
    expect(doc.report.hubs[0].responders).toEqual([
      { host: '10.0.0.1', count: 2 },
      { host: '10.0.0.9', count: 2 },
    ]);
    const r = await runCli([...fast, '-r', '-e', '-c', '4', '127.0.0.1'], env);
    expect(r.out).toContain('    |  |+-- [MPLS: Lbl 24001 Exp 0 S 1 TTL 1]');
    expect(r.out).toMatch(/ {4}\| {2}`\|-- 10\.0\.0\.(1|9)\n/);
  });

  it('raw output: x, h, p lines with tokens from 33000', async () => {
    const r = await runCli(['-n', '-i', '0.5', '-l', '-c', '2', '127.0.0.1'], { FAKE_PATH: '127.0.0.1' });
    const lines = r.out.trimEnd().split('\n');
    // the first tick is 50 ms before the second (0.5 s over 10 hops): the answer comes first
    expect(lines.slice(0, 3)).toEqual(['x 0 33000', 'h 0 127.0.0.1', 'p 0 1001 33000']);
    expect(lines.filter((l) => l.startsWith('x ')).length).toBe(lines.filter((l) => l.startsWith('p ')).length);
  });

  it('csv and xml, several targets in one run', async () => {
    const c = await runCli([...fast, '-C', '-c', '1', '127.0.0.1', '127.0.0.1'], { FAKE_PATH: '127.0.0.1' });
    expect(c.out.split('\n').filter((l) => l.startsWith('Mtr_Version'))).toHaveLength(2);
    expect(c.out).toMatch(/^MTR\.0\.95,\d+,OK,127\.0\.0\.1,1,127\.0\.0\.1,0\.00,1,0,/m);
    const x = await runCli([...fast, '-x', '-c', '1', '127.0.0.1'], { FAKE_PATH: '127.0.0.1' });
    expect(x.out).toContain('<HUB COUNT="1" HOST="127.0.0.1">');
  });

  it('split output writes changed lines', async () => {
    const r = await runCli([...fast, '-p', '-c', '2', '127.0.0.1'], { FAKE_PATH: '10.0.0.1,127.0.0.1' });
    expect(r.out).toMatch(/^1 10\.0\.0\.1 0 1 1 1 1 1$/m);
    expect(r.out).toMatch(/^2 127\.0\.0\.1 0 2 2 1 1 1$/m);
  });

  it('the packet program dying mid-run: one line, non-zero', async () => {
    const r = await runCli([...fast, '-r', '-c', '5', '127.0.0.1'], { FAKE_PATH: '*,*,127.0.0.1', FAKE_DIE_AFTER: '2', FAKE_TIMEOUT_MS: '5000' });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^mtr-ts: packet program .*fake-mtr-packet\.mjs exited with status 3\n$/);
    expect(r.out).toBe('');
  });

  it('an unsupported feature, a refusal reply, a program that does not exist: one line each, non-zero', async () => {
    const a = await runCli([...fast, '-r', '-c', '1', '-u', '127.0.0.1'], { FAKE_UNSUPPORTED: 'udp' });
    expect([a.code, a.err]).toEqual([1, "mtr-ts: Packet type unsupported: the packet program answers 'no' for udp\n"]);
    const b = await runCli([...fast, '-r', '-c', '1', '127.0.0.1'], { FAKE_REPLY: 'permission-denied' });
    expect([b.code, b.err]).toEqual([1, 'mtr-ts: Permission denied\n']);
    const c = await runCli([...fast, '-r', '-c', '1', '127.0.0.1'], { MTR_PACKET: '/nonexistent/packet' });
    expect(c.code).toBe(1);
    expect(c.err).toMatch(/^mtr-ts: Failure to start mtr-packet: cannot run packet program \/nonexistent\/packet: ENOENT\n$/);
  });

  it('a name that does not resolve: one line, non-zero, other targets still run', async () => {
    // -6 with an IPv4 literal fails inside getaddrinfo, without asking any DNS server
    const r = await runCli([...fast, '-6', '-r', '-c', '1', '127.0.0.1'], { FAKE_PATH: '127.0.0.1' });
    expect(r.code).toBe(1);
    expect(r.err).toBe('mtr-ts: Failed to resolve host: 127.0.0.1: Address family for hostname not supported\n');
  });

  it('a progress line on stderr only when stderr is a terminal', async () => {
    let err = '';
    const io: Io = {
      out: () => {},
      err: (t) => (err += t),
      errIsTty: true,
      env: { ...process.env, MTR_PACKET: FAKE, FAKE_PATH: '127.0.0.1' },
      isRoot: true,
      onInterrupt: () => () => {},
    };
    expect(await main(['-n', '-i', '0.02', '-c', '2', '127.0.0.1'], io)).toBe(0);
    expect(err).toContain('mtr-ts: stdout is not a terminal: running in report mode (-r)');
    expect(err).toContain('mtr-ts: 127.0.0.1: cycle 2/2');
    const quiet = await runCli([...fast, '-c', '2', '127.0.0.1'], { FAKE_PATH: '127.0.0.1' });
    expect(quiet.err).toBe('');
  });

  it('a bad flag: one line and a hint, exit 1', async () => {
    const r = await runCli(['--frobnicate', 'x']);
    expect(r.code).toBe(1);
    expect(r.err).toBe("mtr-ts: Unknown argument: frobnicate\nTry 'mtr-ts --help' for more information.\n");
  });
});

describe.skipIf(skipUnless(root && existsSync('/usr/bin/mtr-packet'), 'mtr-ts with /usr/bin/mtr-packet needs root and mtr-tiny'))('mtr-ts with /usr/bin/mtr-packet on 127.0.0.1', () => {
  it('-r -c 3', async () => {
    const r = await runCli(['-n', '-i', '0.1', '-r', '-c', '3', '127.0.0.1'], { MTR_PACKET: '/usr/bin/mtr-packet' });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ {2}1\.\|-- 127\.0\.0\.1 +0\.0% +3 /m);
  });
  it('-T (TCP to a closed port answers from 127.0.0.1)', async () => {
    const r = await runCli(['-n', '-i', '0.1', '-T', '-P', '9', '-j', '-c', '2', '127.0.0.1'], { MTR_PACKET: '/usr/bin/mtr-packet' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).report.hubs[0]).toMatchObject({ host: '127.0.0.1', Snt: 2 });
  });
});

describe.skipIf(skipUnless(existsSync(DIST), 'the executable needs the build (pnpm install)'))('the executable', () => {
  it('Ctrl-C in report mode prints the report so far and exits 130', async () => {
    // mtr's rule: below root, no interval under 1 s
    const interval = root ? '0.05' : '1';
    const child = spawn(process.execPath, [BIN, '-n', '-r', '-c', '100', '-i', interval, '127.0.0.1'], {
      env: { ...process.env, MTR_PACKET: FAKE, FAKE_PATH: '10.0.0.1,127.0.0.1' },
    });
    const exited = new Promise((r) => child.on('exit', (c) => r(c)));
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await new Promise((r) => setTimeout(r, root ? 2000 : 2500)); // start-up under a loaded CI machine
    child.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(130);
    expect(out).toMatch(/^ {2}2\.\|-- 127\.0\.0\.1 +0\.0% /m);
  });
  it('--version', async () => {
    const child = spawn(process.execPath, [BIN, '--version']);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    expect(await new Promise((r) => child.on('exit', (c) => r(c)))).toBe(0);
    expect(out).toMatch(/^mtr-ts \d+\.\d+\.\d+/);
  });
});
