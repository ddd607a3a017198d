// mtr-ts-exporter's command line: flags, start, signals. SIGHUP reloads the configuration; SIGTERM and
// SIGINT stop cleanly (the HTTP server, every target, the packet program) and exit 0.

import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { assessTrust, currentCredentials, packetCommand } from '../trust.js';
import { ConfigError } from './config.js';
import { Exporter } from './exporter.js';
import { listen } from './server.js';

/**
 * 10310: Prometheus's list of default exporter ports (9100-9999) has been fully allocated since 2023,
 * so every port there belongs to some other exporter; this one is outside it (see the README).
 */
export const DEFAULT_LISTEN = '127.0.0.1:10310';
export const DEFAULT_CONFIG = 'mtr-ts-exporter.yml';

/** the package's version: package.json is ../../ from dist/exporter/main.js, ../ from the bundle in dist/ */
function version(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mtr-ts' && pkg.version !== undefined) return pkg.version;
    } catch {
      // not this layout
    }
  }
  return 'unknown';
}

export const HELP = `usage: mtr-ts-exporter [--config.file=FILE] [--web.listen-address=HOST:PORT] [options]

Traces every target of the configuration continuously over one packet program and serves the
results as Prometheus metrics.

  --config.file=FILE           YAML configuration (default: ${DEFAULT_CONFIG})
  --web.listen-address=ADDR    HOST:PORT, [V6]:PORT or :PORT to serve on (default: ${DEFAULT_LISTEN})
  --packet.path=PATH           the packet program (default: $MTR_PACKET, else mtr-packet-ts;
                               both ignored/refused under sudo, as in mtr-ts)
  --events.file=PATH           write the NDJSON event stream to PATH ('-': stdout)
  --events.probes              include one line per probe in the event stream
  --check-config               validate the configuration file and exit (0: valid)
  -h, --help                   this text
  --version                    the version

Endpoints: /metrics, /probe?target=HOST&module=NAME, /-/healthy, /-/ready, POST /-/reload.
Signals: SIGHUP reloads the configuration; SIGTERM/SIGINT stop.
`;

export async function main(
  argv: string[],
  log: (s: string) => void = (s) => process.stderr.write(`mtr-ts-exporter: ${s}\n`),
): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        'config.file': { type: 'string' },
        'web.listen-address': { type: 'string' },
        'packet.path': { type: 'string' },
        'events.file': { type: 'string' },
        'events.probes': { type: 'boolean' },
        'check-config': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    log(`${(e as Error).message} (see --help)`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version === true) {
    process.stdout.write(`mtr-ts-exporter ${version()}\n`);
    return 0;
  }
  const configFile = (values['config.file'] as string | undefined) ?? DEFAULT_CONFIG;
  // with more privilege than its caller (trust.ts: sudo, setuid, the guard file) neither MTR_PACKET nor
  // --packet.path may choose the program run, and the caller's environment does not reach it
  const trust = assessTrust(currentCredentials(process.env));
  const packet = packetCommand(trust);
  const chosenPath = values['packet.path'] as string | undefined;
  if (trust.elevated && chosenPath !== undefined) {
    log('--packet.path is refused when running with more privilege than the caller (see --help)');
    return 2;
  }
  const exp = new Exporter({
    configFile,
    packetPath: chosenPath ?? packet.path,
    packetEnv: packet.env,
    version: version(),
    eventsFile: values['events.file'] as string | undefined,
    eventsProbes: values['events.probes'] === true,
    log,
  });
  if (values['check-config'] === true) {
    try {
      const { parseConfig } = await import('./config.js');
      const cfg = parseConfig(readFileSync(configFile, 'utf8'));
      process.stdout.write(`${configFile}: ${cfg.targets.length} targets, valid\n`);
      return 0;
    } catch (e) {
      log(`${configFile}: ${(e as Error).message}`);
      return 1;
    } finally {
      await exp.stop();
    }
  }
  let server: Server;
  try {
    await exp.start();
    server = await listen(exp, (values['web.listen-address'] as string | undefined) ?? DEFAULT_LISTEN);
  } catch (e) {
    log(e instanceof ConfigError ? `${configFile}: ${e.message}` : (e as Error).message);
    await exp.stop();
    return 1;
  }
  const addr = server.address();
  log(
    `${exp.config.targets.length} targets from ${configFile}; listening on ${typeof addr === 'object' && addr !== null ? `${addr.address}:${addr.port}` : String(addr)}`,
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (sig: string): void => {
      if (stopping) return;
      stopping = true;
      log(`${sig}: stopping`);
      process.off('SIGHUP', hup);
      server.close();
      server.closeAllConnections();
      exp.stop().then(
        () => resolve(0),
        (e: Error) => {
          log(`stopping: ${e.message}`);
          resolve(1);
        },
      );
    };
    const hup = (): void => void exp.reload();
    process.on('SIGHUP', hup);
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/**
 * V8's old-generation growing factor for the exporter's process, as 1 + percent / 100. V8 otherwise picks
 * it (up to 4) from its own speed measurements: at 1,000 targets the exporter keeps ~50 MB of live
 * objects and promotes ~5 MB/s of probes' short-lived state, so the old generation swung between 50 and
 * ~210 MB, and its peak (the RSS) rose whenever the measured speeds moved. With 2 it is collected at
 * ~100 MB every few seconds: a lower, steadier peak for some more mark-compact work (README, exporter).
 */
export const HEAP_GROWING_PERCENT = 100;

/** The V8 flag run() sets; none when node was given a --heap-growing-percent of the user's own. */
export function heapFlag(execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a));
  return given ? undefined : `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

export function run(): void {
  // V8 reads this flag each time it sizes the heap after a collection, so setting it now takes effect
  const flag = heapFlag(process.execArgv, process.env.NODE_OPTIONS);
  if (flag !== undefined) v8.setFlagsFromString(flag);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      setImmediate(() => process.exit(code));
    },
    (e: Error) => {
      process.stderr.write(`mtr-ts-exporter: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
