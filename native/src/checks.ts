// Argument checks of the Engine's methods: a clear TypeError / RangeError before the native call.

export function checkAddress(name: string, a: Uint8Array, length: 4 | 16): void {
  if (!(a instanceof Uint8Array) || a.length !== length) {
    throw new TypeError(`${name} must be a Uint8Array of ${length} bytes`);
  }
}

export function checkMark(mark: number | undefined): number {
  if (mark === undefined) return 0;
  if (!Number.isInteger(mark) || mark < 0 || mark > 0xffffffff) throw new RangeError('mark must be a uint32');
  return mark;
}

export function checkTxId(txId: number | undefined): number | undefined {
  if (txId === undefined) return undefined;
  if (!Number.isInteger(txId) || txId < 0 || txId > 0xffffffff) throw new RangeError('txId must be a uint32');
  return txId;
}

export function checkDevice(device: string | undefined): string | undefined {
  if (device === undefined || device === '') return undefined;
  if (device.length >= 16 || device.includes('\0')) throw new RangeError('device must be an interface name');
  return device;
}

export function checkPort(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min || v > 65535) throw new RangeError(`${name} must be an integer ${min}..65535`);
  return v;
}

export function checkQuarantine(ms: number | undefined): number {
  if (ms === undefined) return 0;
  if (!Number.isInteger(ms) || ms < 0 || ms > 0xffffffff) throw new RangeError('quarantineMs must be a uint32');
  return ms;
}

export function checkFamily(family: number): 4 | 6 {
  if (family !== 4 && family !== 6) throw new TypeError('family must be 4 or 6');
  return family;
}

/** 0..255, or -1 for the kernel's default, as IPV6_HOPLIMIT / IPV6_TCLASS take them. */
export function checkByteOrDefault(name: string, v: number): number {
  if (!Number.isInteger(v) || v < -1 || v > 255) throw new RangeError(`${name} must be an integer -1..255`);
  return v;
}
