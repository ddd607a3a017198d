// mtr-ts: parse the options, run one session per target, write what the renderers return.
// This is the one place that writes to stdout and stderr.

import { promises as dnsp } from 'node:dns';
import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { PacketClient, PacketProcessError } from './client.js';
import { helpText, parseOptions, PROGRAM, UsageError, versionText, type Config } from './options.js';
import { NameResolver } from './resolver.js';
import { ProbeError, Session } from './session.js';
import type { RenderOptions, Snapshot } from './render/model.js';
import { renderReport, renderReportHeader } from './render/report.js';
import { renderJson } from './render/json.js';
import { renderCsv } from './render/csv.js';
import { renderXml } from './render/xml.js';
import { rawDns, rawHost, rawMpls, rawPing, rawXmit } from './render/raw.js';
import { newSplitState, renderSplit } from './render/split.js';

/** ../../packet/bin/mtr-packet-ts from this file: right from frontend/src (vitest) and frontend/dist. */
export const DEFAULT_PACKET_PATH = fileURLToPath(new URL('../../packet/bin/mtr-packet-ts', import.meta.url));

export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly errIsTty: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly isRoot: boolean;
  /** registers a Ctrl-C handler; returns an unregister function */
  onInterrupt(handler: () => void): () => void;
}

function processIo(): Io {
  let broken = false;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') {
      broken = true;
      process.exit(0); // a reader that went away: exit quietly
    }
  });
  return {
    out: (t) => {
      if (!broken) process.stdout.write(t);
    },
    err: (t) => process.stderr.write(t),
    errIsTty: process.stderr.isTTY === true,
    env: process.env,
    isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
    onInterrupt: (h) => {
      process.on('SIGINT', h);
      return () => process.off('SIGINT', h);
    },
  };
}

const lines = (ls: readonly string[]): string => (ls.length === 0 ? '' : ls.join('\n') + '\n');

export function renderFinal(cfg: Config, s: Snapshot, names: NameResolver | undefined, opts: RenderOptions): string[] {
  const n = names ?? { host: () => undefined, ipinfo: () => undefined };
  switch (cfg.mode) {
    case 'report':
    case 'wide':
      return [...renderReportHeader(s), ...renderReport(s, n, opts)];
    case 'json':
      return renderJson(s, n, opts);
    case 'csv':
      return renderCsv(s, n, opts);
    case 'xml':
      return renderXml(s, n, opts);
    case 'raw':
    case 'split':
      return [];
  }
}

function localAddressFor(cfg: Config, family: 4 | 6): string | undefined {
  if (cfg.address !== undefined) {
    if (isIP(cfg.address) !== family) throw new UsageError('invalid local address');
    return cfg.address;
  }
  if (cfg.interfaceName !== undefined) {
    const list = networkInterfaces()[cfg.interfaceName];
    if (list === undefined) throw new UsageError('no such interface');
    const a = list.find((i) => (family === 4 ? i.family === 'IPv4' : i.family === 'IPv6'));
    if (a === undefined) throw new UsageError(`interface missing IPv${family} address`);
    return a.address;
  }
  return undefined;
}

/** getaddrinfo's words (gai_strerror), as mtr prints them */
const RESOLVE_ERRORS: Record<string, string> = {
  ENOTFOUND: 'Name or service not known',
  EAI_ADDRFAMILY: 'Address family for hostname not supported',
  EAI_AGAIN: 'Temporary failure in name resolution',
  EAI_FAIL: 'Non-recoverable failure in name resolution',
  ENODATA: 'No address associated with hostname',
};

/** Runs mtr-ts; resolves with the exit status. */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const say = (msg: string): void => io.err(`${PROGRAM}: ${msg}\n`);
  let cfg: Config;
  try {
    cfg = parseOptions(argv, io.env['MTR_OPTIONS'], {
      isRoot: io.isRoot,
      readFile: (p) => readFileSync(p === '-' ? 0 : p, 'utf8'),
    });
  } catch (e) {
    if (e instanceof UsageError) {
      say(e.message);
      io.err(`Try '${PROGRAM} --help' for more information.\n`);
      return 1;
    }
    throw e;
  }
  if (cfg.help) {
    io.out(helpText() + '\n');
    return 0;
  }
  if (cfg.version) {
    io.out(versionText() + '\n');
    return 0;
  }
  if (cfg.defaultedMode && io.errIsTty) say('no curses interface here: running in report mode (-r)');

  const packetPath = io.env['MTR_PACKET'] ?? DEFAULT_PACKET_PATH;
  const opts: RenderOptions = { order: cfg.order, wide: cfg.mode === 'wide', dns: cfg.dns, showIps: cfg.showIps, ipinfo: cfg.ipinfo, mpls: cfg.mpls };
  let status = 0;
  let interrupted = false;
  let current: Session | undefined;
  const unhook = io.onInterrupt(() => {
    if (interrupted) process.exit(130); // a second Ctrl-C does not wait for anything
    interrupted = true;
    current?.abort();
  });

  try {
    for (const target of cfg.targets) {
      if (interrupted) break;
      let address: string;
      let family: 4 | 6;
      try {
        const literal = isIP(target);
        if (literal !== 0 && cfg.af !== undefined && literal !== cfg.af) {
          throw Object.assign(new Error('family'), { code: 'EAI_ADDRFAMILY' });
        }
        const r = await dnsp.lookup(target, { family: cfg.af ?? 0 });
        address = r.address;
        family = r.family === 6 ? 6 : 4;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        say(`Failed to resolve host: ${target}: ${RESOLVE_ERRORS[code ?? ''] ?? code ?? 'unknown error'}`);
        status = 1;
        continue;
      }
      let localAddress: string | undefined;
      try {
        localAddress = localAddressFor(cfg, family);
      } catch (e) {
        say((e as Error).message);
        return 1;
      }

      const splitState = newSplitState();
      const printedName = new Set<number>();
      let session: Session | undefined;
      const resolver =
        cfg.dns || cfg.ipinfo !== undefined
          ? new NameResolver({
              dns: cfg.dns,
              ipinfo: cfg.ipinfo,
              server: io.env['MTR_TS_DNS_SERVER'],
              onChange: () => {
                if (cfg.mode === 'split' && session !== undefined) io.out(lines(renderSplit(splitState, session.snapshot(), resolver!, opts)));
              },
            })
          : undefined;
      const client = new PacketClient({ path: packetPath, env: io.env });
      try {
        await client.checkFeatures(family, cfg.protocol, cfg.mark !== undefined);
        if (interrupted) return 130;
        const progress = io.errIsTty && cfg.mode !== 'raw' && cfg.mode !== 'split';
        session = new Session(
          {
            targetAddress: address,
            ipVersion: family,
            localAddress,
            protocol: cfg.protocol,
            port: cfg.port,
            localPort: cfg.localPort,
            psize: cfg.psize,
            bitpattern: cfg.bitpattern,
            tos: cfg.tos,
            mark: cfg.mark,
            timeout: cfg.timeout,
            cycles: cfg.cycles,
            interval: cfg.interval,
            gracetime: cfg.gracetime,
            firstTtl: cfg.firstTtl,
            maxTtl: cfg.maxTtl,
            maxUnknown: cfg.maxUnknown,
          },
          client,
          {
            localHostname: hostname(),
            target,
            targetAddress: address,
            startTime: Date.now(),
            tos: cfg.tos,
            psize: cfg.psize,
            bitpattern: cfg.bitpattern < 0 ? 0 : cfg.bitpattern,
            tests: cfg.cycles,
          },
          {
            xmit: (hop, token) => {
              if (cfg.mode === 'raw') io.out(rawXmit(hop, token) + '\n');
            },
            answer: (hop, token, o, isNew) => {
              resolver?.learn(o.address);
              if (cfg.mode !== 'raw') return;
              let t = '';
              if (isNew) {
                t += rawHost(hop, o.address) + '\n';
                if (cfg.mpls) for (const l of o.mpls ?? []) t += rawMpls(hop, l) + '\n';
              }
              const name = cfg.dns ? resolver?.host(o.address) : undefined;
              if (name !== undefined && !printedName.has(hop)) {
                printedName.add(hop);
                t += rawDns(hop, name) + '\n';
              }
              io.out(t + rawPing(hop, o.rtt, token) + '\n');
            },
            update: () => {
              if (cfg.mode === 'split' && session !== undefined) io.out(lines(renderSplit(splitState, session.snapshot(), resolver ?? { host: () => undefined, ipinfo: () => undefined }, opts)));
            },
            cycle: (n, total) => {
              if (progress) io.err(`\r\x1b[K${PROGRAM}: ${target}: cycle ${n}/${total}`);
            },
            warn: say,
          },
        );
        current = session;
        const how = await session.run();
        if (progress) io.err('\r\x1b[K');
        if (cfg.mode !== 'raw' && cfg.mode !== 'split') {
          await resolver?.settle(how === 'aborted' ? 300 : 2000);
          io.out(lines(renderFinal(cfg, session.snapshot(), resolver, opts)));
        }
        if (how === 'aborted') return 130;
      } catch (e) {
        if (e instanceof PacketProcessError || e instanceof ProbeError) {
          if (io.errIsTty) io.err('\r\x1b[K');
          say(e.message);
          return 1;
        }
        throw e;
      } finally {
        current = undefined;
        resolver?.close();
        await client.close();
      }
    }
  } finally {
    unhook();
  }
  return interrupted ? 130 : status;
}

/** Entry point used by bin/mtr-ts.js. */
export function run(): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // do not wait for anything else (late DNS answers, a slow child)
      setImmediate(() => process.exit(code));
    },
    (e: unknown) => {
      process.stderr.write(`${PROGRAM}: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
