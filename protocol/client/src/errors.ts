// Every error this package throws is one of these classes, so callers can tell apart a packet
// program that is gone (nothing more will be answered) from one probe that was refused.

/** The base class of every error of @mtr-ts/client. */
export class MtrPacketError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The packet program cannot be used any more (it could not start, died, or misbehaved). */
export class PacketProcessError extends MtrPacketError {}

/** The packet program could not be started, or exited; every pending request rejects with the same instance. */
export class PacketProcessExited extends PacketProcessError {
  constructor(
    message: string,
    /** exit status, or null when killed by a signal or never started */
    readonly code: number | null = null,
    /** the signal that ended it, or null */
    readonly signal: NodeJS.Signals | null = null,
    /** true when it ended because close() asked it to */
    readonly closed = false,
  ) {
    super(message);
  }
}

/** The packet program did not answer the start-up `check-support` in time; it has been stopped. */
export class StartupTimeout extends PacketProcessError {
  constructor(
    message: string,
    readonly timeoutMs: number,
  ) {
    super(message);
  }
}

/** The packet program wrote a line longer than the limit; it has been stopped. */
export class LineTooLong extends PacketProcessError {
  constructor(
    message: string,
    readonly limit: number,
  ) {
    super(message);
  }
}

/** A `check-support` question got no answer in time (the process is still running). */
export class RequestTimeout extends MtrPacketError {
  constructor(
    message: string,
    readonly timeoutMs: number,
  ) {
    super(message);
  }
}

/** The packet program refused a probe (`permission-denied`, `probes-exhausted`, ...). */
export class ProbeRefused extends MtrPacketError {
  constructor(
    message: string,
    /** the reply word, e.g. 'permission-denied' */
    readonly reason: string,
  ) {
    super(message);
  }
}

/**
 * A probe argument that cannot be sent: found by this client before anything is written
 * (`local: true`), or answered `invalid-argument` by the packet program.
 */
export class InvalidArgument extends ProbeRefused {
  constructor(
    message: string,
    readonly local: boolean,
    /** the packet program's `reason` word, when it gave one */
    readonly detail?: string,
  ) {
    super(message, 'invalid-argument');
  }
}

/** A host name that did not resolve (the code is dns.lookup's, e.g. ENOTFOUND). */
export class NameResolutionFailed extends MtrPacketError {
  constructor(
    message: string,
    readonly host: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}
