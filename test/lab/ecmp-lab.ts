/**
 * ECMP lab: a small IPv4+IPv6 topology with a load-balanced hop (separate from lab.ts, whose five-node path is
 * unchanged):
 *
 *                      ┌──b1── m1 ──c1──┐
 *     client ──a── lb ─┤                ├── dest
 *                      └──b2── m2 ──c2──┘
 *
 * `lb` has a multipath route (two next hops, weight 1 each) to dest's subnet, hashing on layer 4
 * (`net.ipv4.fib_multipath_hash_policy=1`, `net.ipv6.fib_multipath_hash_policy=1`), so a probe's ports decide
 * which member (m1 or m2) forwards it; TTL 1 is lb, TTL 2 is m1 or m2, TTL 3 is dest.
 * Plain veth links (no delay forwarder): RTTs are sub-millisecond.
 *
 * Addressing (private to the namespaces):
 *   a  10.1.1.0/24  fd01:0:0:1::/64   client .1, lb .2
 *   b1 10.1.21.0/24 fd01:0:0:21::/64  lb .1, m1 .2       c1 10.1.31.0/24 fd01:0:0:31::/64  m1 .1, dest .2
 *   b2 10.1.22.0/24 fd01:0:0:22::/64  lb .1, m2 .2       c2 10.1.32.0/24 fd01:0:0:32::/64  m2 .1, dest .2
 *   dest also has 10.1.9.1 / fd01:0:0:9::1 on its loopback: the target (reachable over both members).
 *   Members answer Time Exceeded from their b-side address (m1 10.1.21.2, m2 10.1.22.2, and the v6 analogues).
 *   Answers from dest go back over m1 only (dest's default route), so they never meet the loss rule.
 *
 * `lossPct` (optional): m2 drops that share of the probes towards the target at prerouting (nftables
 * `numgen random mod 100 < N drop`), so both probes that would expire at m2 and probes it would forward are lost:
 * m2 is the bad member at TTL 2, and the paths through it lose at TTL 3 too.
 *
 * Every node: ICMP rate limits off, DAD off, rp_filter off. Namespaces `mtrts-<pid>-<6 hex>-e-<node>`, deleted at
 * teardown and, if the process dies first, by lab.ts's sweep of dead processes' labs.
 */
import { randomBytes } from 'node:crypto';
import { canRunLab, destroyNamespacesSync, run, sweepStaleLabs, type ExecOptions, type ExecResult } from './lab.js';

export const ECMP_NODES = ['client', 'lb', 'm1', 'm2', 'dest'] as const;
export type EcmpNode = (typeof ECMP_NODES)[number];

export interface EcmpLabOptions {
  /** percent (0..100) of probes towards the target dropped by m2 (the bad member). Default 0. */
  lossPct?: number;
}

export interface EcmpLab {
  readonly names: Readonly<Record<EcmpNode, string>>;
  /** the target */
  readonly target4: string;
  readonly target6: string;
  /** the hop-1 router */
  readonly lb4: string;
  readonly lb6: string;
  /** the members' Time Exceeded sources: [m1, m2] */
  readonly members4: readonly [string, string];
  readonly members6: readonly [string, string];
  /** the bad member (m2) when lossPct > 0 */
  readonly bad4: string;
  readonly bad6: string;
  exec(node: EcmpNode, cmd: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  teardown(): Promise<void>;
}

const SYSCTLS = [
  'net.ipv6.conf.all.accept_dad=0',
  'net.ipv6.conf.default.accept_dad=0',
  'net.ipv6.conf.all.accept_ra=0',
  'net.ipv6.conf.default.accept_ra=0',
  'net.ipv4.icmp_ratelimit=0',
  'net.ipv4.icmp_ratemask=0',
  'net.ipv6.icmp.ratelimit=0',
  'net.ipv4.conf.all.rp_filter=0',
  'net.ipv4.conf.default.rp_filter=0',
  'net.ipv4.ping_group_range=0 2147483647',
];
const ROUTER_SYSCTLS = ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'];
const LB_SYSCTLS = ['net.ipv4.fib_multipath_hash_policy=1', 'net.ipv6.fib_multipath_hash_policy=1'];

/** [name, left node, right node, v4 subnet third octet / v6 group] */
const LINKS: ReadonlyArray<readonly [string, EcmpNode, EcmpNode, number]> = [
  ['a', 'client', 'lb', 1],
  ['b1', 'lb', 'm1', 21],
  ['b2', 'lb', 'm2', 22],
  ['c1', 'm1', 'dest', 31],
  ['c2', 'm2', 'dest', 32],
];

/** Build the ECMP lab; everything created is deleted again if setup fails. */
export async function createEcmpLab(opts: EcmpLabOptions = {}): Promise<EcmpLab> {
  const can = canRunLab();
  if (!can.ok) throw new Error(`ECMP lab cannot run: ${can.reason}`);
  sweepStaleLabs();
  const prefix = `mtrts-${process.pid}-${randomBytes(3).toString('hex')}-e-`;
  const names = Object.freeze(Object.fromEntries(ECMP_NODES.map((n) => [n, prefix + n])) as Record<EcmpNode, string>);
  const created: string[] = [];
  const onExit = (): void => destroyNamespacesSync(created);
  process.on('exit', onExit);
  const ip = async (...args: string[]): Promise<void> => {
    const r = await run('ip', args);
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  };
  const inNs = async (node: EcmpNode, ...cmd: string[]): Promise<void> => {
    const r = await run('ip', ['netns', 'exec', names[node], ...cmd]);
    if (r.code !== 0) throw new Error(`${node}: ${cmd.join(' ')}: ${r.stderr.trim()}`);
  };
  const teardown = async (): Promise<void> => {
    destroyNamespacesSync(created);
    created.length = 0;
    process.removeListener('exit', onExit);
  };
  try {
    for (const n of ECMP_NODES) {
      await ip('netns', 'add', names[n]);
      created.push(names[n]);
      await ip('-n', names[n], 'link', 'set', 'lo', 'up');
      await inNs(n, 'sysctl', '-q', '-w', ...SYSCTLS);
      if (n === 'lb' || n === 'm1' || n === 'm2') await inNs(n, 'sysctl', '-q', '-w', ...ROUTER_SYSCTLS);
    }
    await inNs('lb', 'sysctl', '-q', '-w', ...LB_SYSCTLS);
    // a fixed hash seed (Linux 6.11+; ignored where absent): the same ports take the same member every run
    await run('ip', ['netns', 'exec', names.lb, 'sysctl', '-q', '-w', 'net.ipv4.fib_multipath_hash_seed=1']);
    for (const [l, left, right, k] of LINKS) {
      await ip(
        'link',
        'add',
        `${l}L`,
        'netns',
        names[left],
        'type',
        'veth',
        'peer',
        'name',
        `${l}R`,
        'netns',
        names[right],
      );
      for (const [node, ifn, host] of [
        [left, `${l}L`, 1],
        [right, `${l}R`, 2],
      ] as const) {
        await ip('-n', names[node], 'addr', 'add', `10.1.${k}.${host}/24`, 'dev', ifn);
        await ip('-n', names[node], '-6', 'addr', 'add', `fd01:0:0:${k}::${host}/64`, 'dev', ifn, 'nodad');
        await ip('-n', names[node], 'link', 'set', ifn, 'up');
      }
    }
    // client <-a-> lb: lb is .2 on link a (the client's side is .1)
    await ip('-n', names.client, 'route', 'add', 'default', 'via', '10.1.1.2');
    await ip('-n', names.client, '-6', 'route', 'add', 'default', 'via', 'fd01:0:0:1::2');
    await ip('-n', names.dest, 'addr', 'add', '10.1.9.1/32', 'dev', 'lo');
    await ip('-n', names.dest, '-6', 'addr', 'add', 'fd01:0:0:9::1/128', 'dev', 'lo');
    await ip(
      '-n',
      names.lb,
      'route',
      'add',
      '10.1.9.0/24',
      'nexthop',
      'via',
      '10.1.21.2',
      'weight',
      '1',
      'nexthop',
      'via',
      '10.1.22.2',
      'weight',
      '1',
    );
    await ip(
      '-n',
      names.lb,
      '-6',
      'route',
      'add',
      'fd01:0:0:9::/64',
      'nexthop',
      'via',
      'fd01:0:0:21::2',
      'weight',
      '1',
      'nexthop',
      'via',
      'fd01:0:0:22::2',
      'weight',
      '1',
    );
    await ip('-n', names.lb, 'route', 'add', '10.1.0.0/16', 'via', '10.1.21.2');
    await ip('-n', names.lb, '-6', 'route', 'add', 'fd01::/16', 'via', 'fd01:0:0:21::2');
    for (const [m, k] of [
      ['m1', 31],
      ['m2', 32],
    ] as const) {
      await ip('-n', names[m], 'route', 'add', '10.1.9.0/24', 'via', `10.1.${k}.2`);
      await ip('-n', names[m], '-6', 'route', 'add', 'fd01:0:0:9::/64', 'via', `fd01:0:0:${k}::2`);
      await ip('-n', names[m], 'route', 'add', 'default', 'via', `10.1.${k - 10}.1`);
      await ip('-n', names[m], '-6', 'route', 'add', 'default', 'via', `fd01:0:0:${k - 10}::1`);
    }
    await ip('-n', names.dest, 'route', 'add', 'default', 'via', '10.1.31.1');
    await ip('-n', names.dest, '-6', 'route', 'add', 'default', 'via', 'fd01:0:0:31::1');
    // ICMP: Linux hashes no ICMP field (an echo's flow has no ports), so lb balances ICMP towards the target
    // as many routers do, on the transport header's first 32 bits (type, code, checksum): an nftables jhash
    // sets mark 1 or 2 and the mark picks the member (tables 101 and 102).
    for (const [mark, k] of [
      [1, 21],
      [2, 22],
    ] as const) {
      await ip('-n', names.lb, 'route', 'add', '10.1.9.0/24', 'via', `10.1.${k}.2`, 'table', String(100 + mark));
      await ip('-n', names.lb, '-6', 'route', 'add', 'fd01:0:0:9::/64', 'via', `fd01:0:0:${k}::2`, 'table', String(100 + mark));
      await ip('-n', names.lb, 'rule', 'add', 'fwmark', String(mark), 'table', String(100 + mark), 'pref', String(100 + mark));
      await ip('-n', names.lb, '-6', 'rule', 'add', 'fwmark', String(mark), 'table', String(100 + mark), 'pref', String(100 + mark));
    }
    const icmpHash = [
      'table inet mtrts_ecmp_icmp {',
      '  chain pre {',
      '    type filter hook prerouting priority -150; policy accept;',
      '    ip daddr 10.1.9.1 ip protocol icmp meta mark set jhash @th,0,32 mod 2 seed 0x5 offset 1',
      '    ip6 daddr fd01:0:0:9::1 meta l4proto ipv6-icmp meta mark set jhash @th,0,32 mod 2 seed 0x5 offset 1',
      '  }',
      '}',
    ].join('\n');
    const h = await run('ip', ['netns', 'exec', names.lb, 'nft', '-f', '-'], { input: icmpHash + '\n' });
    if (h.code !== 0) throw new Error(`nft in lb: ${h.stderr.trim()}`);
    const loss = opts.lossPct ?? 0;
    if (loss > 0) {
      const rules = [
        'table inet mtrts_ecmp_loss {',
        '  chain pre {',
        '    type filter hook prerouting priority -300; policy accept;',
        `    ip daddr 10.1.9.1 numgen random mod 100 < ${loss} drop`,
        `    ip6 daddr fd01:0:0:9::1 numgen random mod 100 < ${loss} drop`,
        '  }',
        '}',
      ].join('\n');
      const r = await run('ip', ['netns', 'exec', names.m2, 'nft', '-f', '-'], { input: rules + '\n' });
      if (r.code !== 0) throw new Error(`nft in m2: ${r.stderr.trim()}`);
    }
  } catch (e) {
    await teardown();
    throw e;
  }
  return {
    names,
    target4: '10.1.9.1',
    target6: 'fd01:0:0:9::1',
    lb4: '10.1.1.2',
    lb6: 'fd01:0:0:1::2',
    members4: ['10.1.21.2', '10.1.22.2'],
    members6: ['fd01:0:0:21::2', 'fd01:0:0:22::2'],
    bad4: '10.1.22.2',
    bad6: 'fd01:0:0:22::2',
    exec: (node, cmd, o) => run('ip', ['netns', 'exec', names[node], ...cmd], o),
    teardown,
  };
}
