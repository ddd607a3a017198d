// Command-line arguments of mtr-packet-ts. mtr execs it with none; the rest is for people.

import { DEFAULT_MAX_IN_FLIGHT } from './probes.js';

export const PACKAGE_VERSION = '0.1.0';

export const USAGE = `Usage: mtr-packet-ts [--verbose] [--max-in-flight N] [--unprivileged] [--no-mark]
       mtr-packet-ts --help | --version

Sends network probes and reports their answers, speaking mtr-packet 0.95's
line protocol: one command per line on stdin, one reply per line on stdout,
each carrying the token of its request, e.g.

  printf '1 send-probe ip-4 127.0.0.1\\n' | mtr-packet-ts
  1 reply ip-4 127.0.0.1 round-trip-time 42

As root (through sudo, or with its launcher mtr-packet-launch given
CAP_NET_RAW and CAP_SETGID) the launcher opens raw sockets, then clears every
capability (bounding set too) and sets no_new_privs before Node starts on a
clean environment. As root without sudo a helper process keeps CAP_NET_ADMIN,
alone, to set the marks probes ask for (--no-mark: no helper). Started through
sudo, it runs as the invoking user. Without those rights it runs unprivileged
on ICMP "ping" and UDP datagram sockets (net.ipv4.ping_group_range must admit
the user): ICMP, UDP and TCP probes work, without MPLS labels or marks.
SIGUSR1 does nothing (no inspector).
On end of input it answers every probe still in flight, then exits 0.
SIGTERM, SIGINT and SIGHUP end it at once (probes in flight are abandoned),
and so does the death of its parent.

Environment:
  MTR_PACKET_TS_DIALECT=0.96  speak mtr-packet 0.96's words: no-route-network,
                     no-route-host and host-down instead of no-route, and
                     check-support feature version answering 0.96 (for mtr
                     0.96 and later, which ignore no-route). Default: 0.95.

Options:
  --verbose          say on stderr which sockets and privileges it runs with
  --unprivileged     use the datagram sockets even when raw ones would open
  --no-mark          no mark helper, no capability anywhere (the mark argument
                     then answers permission-denied)
  --max-in-flight N  answer probes-exhausted beyond N probes in flight
                     (default ${DEFAULT_MAX_IN_FLIGHT})
  --help             show this text
  --version          show the version
`;

export interface Args {
  help: boolean;
  version: boolean;
  verbose: boolean;
  maxInFlight: number;
  mode: 'auto' | 'dgram';
  /** keep CAP_NET_ADMIN (permitted only) so marks can be set */
  mark: boolean;
}

export function parseArgs(argv: readonly string[]): Args | { error: string } {
  const a: Args = { help: false, version: false, verbose: false, maxInFlight: DEFAULT_MAX_IN_FLIGHT, mode: 'auto', mark: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') a.help = true;
    else if (arg === '--version' || arg === '-v') a.version = true;
    else if (arg === '--verbose') a.verbose = true;
    else if (arg === '--unprivileged') a.mode = 'dgram';
    else if (arg === '--no-mark') a.mark = false;
    else if (arg === '--max-in-flight' || arg.startsWith('--max-in-flight=')) {
      const v = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      const n = v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : NaN;
      if (!(n >= 1 && n <= 30000)) return { error: '--max-in-flight takes a whole number from 1 to 30000' };
      a.maxInFlight = n;
    } else return { error: `unknown argument '${arg}'` };
  }
  return a;
}
