import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asnQueryName, ipinfoItem, NameResolver, parseServers } from '../src/resolver.js';
import { main, type Io } from '../src/cli.js';
import { TestDnsServer } from './fixtures/dns-server.js';

const FAKE = new URL('./fixtures/fake-mtr-packet.mjs', import.meta.url).pathname;

describe('AS query names and answers, as mtr builds and splits them', () => {
  it('IPv4: reversed octets under origin.asn.cymru.com', () => {
    expect(asnQueryName('8.8.4.4')).toBe('4.4.8.8.origin.asn.cymru.com');
  });
  it('IPv6: nibbles of the top 64 bits, reversed, under origin6.asn.cymru.com', () => {
    expect(asnQueryName('2001:db8:1:2::1')).toBe('2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.origin6.asn.cymru.com');
    expect(asnQueryName('::ffff:1.2.3.4')).toBe('0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.origin6.asn.cymru.com');
  });
  it('items split on |; a missing item falls back to the first', () => {
    const t = '15169 | 8.8.8.0/24 | US | arin | 2023-12-28';
    expect([0, 1, 2, 3, 4].map((n) => ipinfoItem(t, n))).toEqual(['15169', '8.8.8.0/24', 'US', 'arin', '2023-12-28']);
    expect(ipinfoItem('64500', 3)).toBe('64500');
  });
  it('server lists', () => expect(parseServers('127.0.0.1:5353, ::1')).toEqual(['127.0.0.1:5353', '[::1]']));
});

describe('lookups against a DNS server on loopback', () => {
  let dns: TestDnsServer;
  beforeAll(async () => {
    dns = await TestDnsServer.start({
      txt: {
        '1.0.0.10.origin.asn.cymru.com': '64500 | 10.0.0.0/8 | ZZ | test | 2020-01-01',
        '2.0.0.10.origin.asn.cymru.com': '64511 | 10.0.0.0/8 | ZZ | test | 2020-01-01',
      },
      ptr: { '1.0.0.10.in-addr.arpa': 'router.test', '2.0.0.10.in-addr.arpa': 'dest.test' },
    });
  });
  afterAll(() => dns.close());

  it('reverse names and AS numbers arrive in the background and are cached', async () => {
    let changes = 0;
    const r = new NameResolver({ dns: true, ipinfo: 0, server: dns.address, onChange: () => changes++ });
    r.learn('10.0.0.1');
    expect(r.host('10.0.0.1')).toBeUndefined(); // never blocks
    await r.settle(3000);
    expect(r.host('10.0.0.1')).toBe('router.test');
    expect(r.ipinfo('10.0.0.1')).toBe('64500');
    const asked = dns.questions.length;
    r.learn('10.0.0.1');
    await r.settle(1000);
    expect(dns.questions.length).toBe(asked); // cached
    expect(changes).toBe(2);
    r.learn('10.9.9.9'); // NXDOMAIN: stays unknown
    await r.settle(3000);
    expect(r.host('10.9.9.9')).toBeUndefined();
    expect(r.ipinfo('10.9.9.9')).toBeUndefined();
    r.close();
  });

  it('-y 2 picks the country item', async () => {
    const r = new NameResolver({ dns: false, ipinfo: 2, server: dns.address });
    r.learn('10.0.0.1');
    await r.settle(3000);
    expect(r.ipinfo('10.0.0.1')).toBe('ZZ');
    expect(r.host('10.0.0.1')).toBeUndefined();
    r.close();
  });

  it('mtr-ts -z -r shows AS numbers and names from the server', async () => {
    let out = '';
    const io: Io = {
      out: (t) => (out += t),
      err: () => {},
      errIsTty: false,
      env: { ...process.env, MTR_PACKET: FAKE, FAKE_PATH: '10.0.0.1,10.0.0.2', MTR_TS_DNS_SERVER: dns.address },
      isRoot: true,
      onInterrupt: () => () => {},
    };
    expect(await main(['-z', '-r', '-c', '2', '-i', '0.02', '10.0.0.2'], io)).toBe(0);
    expect(out).toMatch(/^ {2}1\. AS64500 {2}router\.test +0\.0%/m);
    expect(out).toMatch(/^ {2}2\. AS64511 {2}dest\.test +0\.0%/m);
  });
});
