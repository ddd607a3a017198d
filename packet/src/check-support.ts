// `check-support feature X`: what this daemon, with the sockets it opened, can do. Words from
// protocol/names.ts; any feature 0.95 does not know answers `no`, as it does.

import { FLOW_FEATURE, REFERENCE_VERSION, SUPPORT } from '@mtr-ts/protocol';
import type { FamilyMode } from './transport.js';

export interface SupportFacts {
  mode4: FamilyMode;
  mode6: FamilyMode;
  protocolSupported(protocol: string): boolean;
  markSupported: boolean;
}

/** The `support` word (or version) answering `check-support feature <feature>`. */
export function supportOf(feature: string, facts: SupportFacts, version: string = REFERENCE_VERSION): string {
  const yes = (b: boolean): string => (b ? SUPPORT.ok : SUPPORT.no);
  switch (feature) {
    case 'version':
      return version;
    case 'send-probe':
      return SUPPORT.ok;
    case 'ip-4':
      return yes(facts.mode4 !== 'none');
    case 'ip-6':
      return yes(facts.mode6 !== 'none');
    case 'icmp':
    case 'udp':
    case 'tcp':
    case 'sctp':
      return yes(facts.protocolSupported(feature));
    case 'mark':
      return yes(facts.markSupported);
    case FLOW_FEATURE:
      // extension (not in 0.95): flow probes are built whole, so they need a raw family
      return yes(facts.mode4 === 'raw' || facts.mode6 === 'raw');
    default:
      return SUPPORT.no;
  }
}
