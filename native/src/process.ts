// Process-wide calls of the addon: privileges, the parent-death signal, errno names.

import { addon } from './addon.js';
import type { DropPrivilegesOptions, DropPrivilegesResult, ErrnoError } from './types.js';

/**
 * Drops privileges once the sockets are open: bounding and ambient sets, then (as root, when asked)
 * setgroups(0)/setgid/setuid, then capset to nothing (or, with keepNetAdmin, to CAP_NET_ADMIN
 * permitted only) and PR_SET_NO_NEW_PRIVS, on the calling thread and then on every other thread
 * that accepts signals (see allThreads). Throws a Node-style error if a step fails (e.g. setuid EPERM).
 */
export function dropPrivileges(opts: DropPrivilegesOptions = {}): DropPrivilegesResult {
  if (opts.keepNetAdmin !== undefined && typeof opts.keepNetAdmin !== 'boolean') {
    throw new TypeError('keepNetAdmin must be a boolean');
  }
  return addon().dropPrivileges(opts.uid, opts.gid, opts.keepNetAdmin === true);
}

/**
 * Asks the kernel to send `signal` (a number, e.g. os.constants.signals.SIGTERM; 0: none) to this
 * process when its parent exits (prctl PR_SET_PDEATHSIG). A change of credentials clears it:
 * call it after dropPrivileges. The parent may already be gone when it is set: compare
 * process.ppid with its value from before. Throws a Node-style error from prctl.
 */
export function setParentDeathSignal(signal: number): void {
  addon().setParentDeathSignal(signal);
}

/** 'ENETUNREACH' for 101. */
export function errnoName(errno: number): string {
  return addon().errnoName(errno);
}

/** Whether an unknown value is a Node-style system error from this addon or Node. */
export function isErrnoError(e: unknown): e is ErrnoError {
  return (
    e instanceof Error &&
    typeof (e as Partial<ErrnoError>).code === 'string' &&
    typeof (e as Partial<ErrnoError>).errno === 'number' &&
    typeof (e as Partial<ErrnoError>).syscall === 'string'
  );
}
