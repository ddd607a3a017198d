// The executable's command line: help, a bad flag (exit 2, one line), --check-config, and a bad
// configuration at start (exit 1, one line per problem, no stack trace).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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
    expect(bad.stderr).toContain('11 problems');
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
