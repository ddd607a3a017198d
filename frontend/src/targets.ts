// From a target's name to what is probed: getaddrinfo (node:dns lookup), mtr's words for its failures,
// and the source address -a / -I give for a family. The I/O edge the engine is handed (EngineOptions).

import { promises as dnsp } from 'node:dns';
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import type { IpVersion } from '@mtr-ts/protocol';
import type { TargetOptions } from './engine/types.js';

/** getaddrinfo's words (gai_strerror), as mtr prints them */
const RESOLVE_ERRORS: Record<string, string> = {
  ENOTFOUND: 'Name or service not known',
  EAI_ADDRFAMILY: 'Address family for hostname not supported',
  EAI_AGAIN: 'Temporary failure in name resolution',
  EAI_FAIL: 'Non-recoverable failure in name resolution',
  ENODATA: 'No address associated with hostname',
};

/** mtr's line for a name that did not resolve. */
export function resolveErrorText(name: string, code: string | undefined): string {
  return `Failed to resolve host: ${name}: ${RESOLVE_ERRORS[code ?? ''] ?? code ?? 'unknown error'}`;
}

/** name -> the first address of the family asked (either when undefined). Rejects with getaddrinfo's code. */
export async function lookupTarget(name: string, family: IpVersion | undefined): Promise<{ address: string; family: IpVersion }> {
  const literal = isIP(name);
  if (literal !== 0 && family !== undefined && literal !== family) {
    throw Object.assign(new Error('family'), { code: 'EAI_ADDRFAMILY' });
  }
  const r = await dnsp.lookup(name, { family: family ?? 0 });
  return { address: r.address, family: r.family === 6 ? 6 : 4 };
}

/** -a / -I -> the source address for a family; throws an Error with the line to show. */
export function localAddressFor(o: Pick<TargetOptions, 'localAddress' | 'interfaceName'>, family: IpVersion): string | undefined {
  if (o.localAddress !== undefined) {
    if (isIP(o.localAddress) !== family) throw new Error('invalid local address');
    return o.localAddress;
  }
  if (o.interfaceName !== undefined) {
    const list = networkInterfaces()[o.interfaceName];
    if (list === undefined) throw new Error('no such interface');
    const a = list.find((i) => (family === 4 ? i.family === 'IPv4' : i.family === 'IPv6'));
    if (a === undefined) throw new Error(`interface missing IPv${family} address`);
    return a.address;
  }
  return undefined;
}
