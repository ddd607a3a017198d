// `mtr -l`: one line per event, written as it happens (0-based hop index):
//   x HOP SEQ            a probe was sent
//   h HOP ADDRESS        a (new) responder at a hop
//   m HOP LBL TC S TTL   its MPLS labels, with -e
//   d HOP NAME           the hop's name, once, before its first ping line after the name is known
//   p HOP USEC SEQ       a reply, round trip in microseconds
// (mtr 0.95 prints an h line twice for a new responder; we print it once.)

import type { MplsLabel } from '@mtr-ts/protocol';

export const rawXmit = (hop: number, seq: number): string => `x ${hop} ${seq}`;
export const rawHost = (hop: number, address: string): string => `h ${hop} ${address}`;
export const rawMpls = (hop: number, l: MplsLabel): string => `m ${hop} ${l.label} ${l.tc} ${l.bottomOfStack} ${l.ttl}`;
export const rawDns = (hop: number, name: string): string => `d ${hop} ${name}`;
export const rawPing = (hop: number, usec: number, seq: number): string => `p ${hop} ${Math.round(usec)} ${seq}`;
