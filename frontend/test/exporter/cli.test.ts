// The executable's command line: help, a bad flag (exit 2, one line), --check-config, and a bad
// configuration at start (exit 1, one line per problem, no stack trace).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../needs.js';
import { DEFAULT_LISTEN, HELP, HEAP_GROWING_PERCENT, heapFlag } from '../../src/exporter/main.js';

const BIN = fileURLToPath(new URL('../../bin/mtr-ts-exporter.js', import.meta.url));
const configs = fileURLToPath(new URL('./configs/', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });

describe('mtr-ts-exporter command line', () => {
  it('--help lists the flags and endpoints', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    for (const w of [
      '--config.file',
      '--web.listen-address',
      '127.0.0.1:10310',
      '/metrics',
      '/probe',
      'POST /-/reload',
      'SIGHUP',
    ])
      expect(r.stdout).toContain(w);
  });

  it('a bad flag is one line and exit 2', () => {
    const r = run('--nope');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--help');
  });

  it('--check-config says valid or lists the problems', () => {
    const ok = run('--check-config', `--config.file=${configs}full.yml`);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('3 targets, valid');
    const bad = run('--check-config', `--config.file=${configs}bad.yml`);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('12 problems');
    expect(bad.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  it('refuses to start on a bad or missing configuration', () => {
    const bad = run(`--config.file=${configs}syntax.yml`, '--web.listen-address=127.0.0.1:0');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/syntax\.yml: YAML: /);
    const missing = run('--config.file=/nonexistent/x.yml', '--web.listen-address=127.0.0.1:0');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('cannot read /nonexistent/x.yml: ENOENT');
  });
});

const root = process.getuid?.() === 0;
const MAN = fileURLToPath(new URL('../../man/mtr-ts-exporter.8', import.meta.url));
const README = fileURLToPath(new URL('../../../README.md', import.meta.url));
const PKG = fileURLToPath(new URL('../../package.json', import.meta.url));

describe('mtr-ts-exporter heap flag', () => {
  it('sets V8\'s heap growing factor unless node was given one', () => {
    expect(heapFlag([], undefined)).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    expect(heapFlag(['--enable-source-maps'], '--max-old-space-size=512')).toBe('--heap-growing-percent=100');
    expect(heapFlag(['--heap-growing-percent=50'], undefined)).toBeUndefined();
    expect(heapFlag(['--heap_growing_percent', '50'], undefined)).toBeUndefined();
    expect(heapFlag([], ' --heap-growing-percent=300')).toBeUndefined();
    expect(heapFlag(['--heap-growing-percentage=1'], undefined)).toBe('--heap-growing-percent=100');
  });

  it('the man page and the README say the factor', () => {
    expect(readFileSync(MAN, 'utf8')).toContain('heap\\-growing\\-percent=100');
    expect(readFileSync(README, 'utf8')).toContain('--heap-growing-percent=100');
  });
});

describe('mtr-ts-exporter documentation', () => {
  const man = readFileSync(MAN, 'utf8');
  /** the man page's text without roff escapes for '-' */
  const manText = man.replace(/\\-/g, '-').replace(/\\f[BIRP]/g, '');
  const readme = readFileSync(README, 'utf8');
  const section = readme.slice(
    readme.indexOf('## mtr-ts-exporter'),
    readme.indexOf('\n## ', readme.indexOf('## mtr-ts-exporter') + 5),
  );

  it('the man page documents every flag of --help, and no other', () => {
    const flags = (text: string): string[] => [...new Set(text.match(/--[a-z][a-z.-]*[a-z]/g) ?? [])].sort();
    const inHelp = flags(HELP);
    expect(inHelp).toContain('--web.listen-address');
    // the tags of the OPTIONS section: the line after each .TP
    const options = manText.slice(manText.indexOf('.SH OPTIONS'), manText.indexOf('.SH CONFIGURATION'));
    const tags = options
      .split('.TP\n')
      .slice(1)
      .map((item) => item.split('\n')[0] as string);
    expect(flags(tags.join('\n'))).toEqual(inHelp);
  });

  it('the default listen address is the one --help, the man page and the README name (port 10310)', () => {
    expect(DEFAULT_LISTEN).toBe('127.0.0.1:10310');
    expect(HELP).toContain(`(default: ${DEFAULT_LISTEN})`);
    expect(manText).toMatch(/default:\s*\.BR 127\.0\.0\.1:10310 \)/);
    expect(section).toContain('**Port.** 10310.');
    expect(section).toContain(`--web.listen-address=${DEFAULT_LISTEN}`);
  });

  it('the package installs the man page beside mtr-ts.8', () => {
    const pkg = JSON.parse(readFileSync(PKG, 'utf8')) as { man: string[] };
    expect(pkg.man).toEqual(['./man/mtr-ts.8', './man/mtr-ts-exporter.8']);
  });
});

describe.skipIf(skipUnless(root, 'a network namespace of its own needs root'))(
  'mtr-ts-exporter default address',
  () => {
    it('listens on 127.0.0.1:10310 without --web.listen-address, and stops on SIGTERM with exit 0', () => {
      // in a network namespace of its own, so the port is free whatever runs on this host
      const ask = (path: string): string =>
        `${process.execPath} -e "fetch('http://127.0.0.1:10310${path}').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"`;
      const script = [
        'ip link set lo up',
        `${process.execPath} ${BIN} --config.file=${configs}minimal.yml & pid=$!`,
        `i=0; until ${ask('/-/healthy')}; do i=$((i+1)); [ $i -ge 100 ] && break; sleep 0.2; done`,
        `${ask('/-/healthy')} && echo healthy`,
        'kill -TERM $pid; wait $pid; echo "exit $?"',
      ].join('\n');
      const r = spawnSync('unshare', ['--net', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toContain('listening on 127.0.0.1:10310');
      expect(r.stdout).toContain('healthy');
      expect(r.stdout).toContain('exit 0');
    });
  },
);

describe.skipIf(skipUnless(root, 'the sudo case needs root (SUDO_UID only counts for root)'))(
  'mtr-ts-exporter through sudo',
  () => {
    it('refuses --packet.path and ignores MTR_PACKET: the marker program never runs', () => {
      const dir = mkdtempSync(join(tmpdir(), 'mtrts-exporter-sudo-'));
      try {
        const marker = join(dir, 'ran');
        const prog = join(dir, 'evil');
        writeFileSync(prog, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
        const sudo = { ...process.env, SUDO_UID: '65534', SUDO_GID: '65534', SUDO_USER: 'nobody' };
        const r = spawnSync(process.execPath, [BIN, `--packet.path=${prog}`, `--config.file=${configs}full.yml`], {
          encoding: 'utf8',
          timeout: 20_000,
          env: sudo,
        });
        expect(r.status).toBe(2);
        expect(r.stderr).toContain('--packet.path is refused');
        // MTR_PACKET is ignored: the exporter starts our daemon instead (stopped at once by SIGTERM)
        const s = spawnSync(
          process.execPath,
          [BIN, '--web.listen-address=127.0.0.1:0', `--config.file=${configs}full.yml`],
          {
            encoding: 'utf8',
            timeout: 3_000,
            killSignal: 'SIGTERM',
            env: { ...sudo, MTR_PACKET: prog },
          },
        );
        expect(s.error === undefined || (s.error as NodeJS.ErrnoException).code === 'ETIMEDOUT').toBe(true);
        expect(existsSync(marker)).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
