import { describe, expect, it } from 'vitest';
import { openFailure } from '../src/native-transport.js';

const err = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`socket ${code}`), { code });

describe('openFailure', () => {
  it('a missing right: what lets a user probe, naming the launcher and never node', () => {
    const m = openFailure(err('EPERM'));
    expect(m).toMatch(/^cannot open its sockets \(no permission to open raw or ping sockets\): /);
    expect(m).toContain('net.ipv4.ping_group_range');
    expect(m).toContain('mtr-packet-launch, never node');
    expect(openFailure(err('EACCES'))).toBe(m);
  });
  it('too many open files is not a permission problem', () => {
    expect(openFailure(err('EMFILE'))).toBe('cannot open its sockets: too many open files (EMFILE): raise the open-file limit of the process (ulimit -n)');
    expect(openFailure(err('ENFILE'))).toBe('cannot open its sockets: too many open files (ENFILE): raise the system-wide open-file limit (fs.file-max)');
    expect(openFailure(err('EMFILE'))).not.toMatch(/permission|setcap|root/);
  });
  it('anything else: the error itself', () => {
    expect(openFailure(err('EAFNOSUPPORT'))).toBe('cannot open its sockets: socket EAFNOSUPPORT');
  });
});
