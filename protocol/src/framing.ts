// Bytes -> lines, bounded like mtr-packet 0.95's 4096-byte command buffer.
//
// The reference keeps at most COMMAND_BUFFER_SIZE - 1 = 4095 bytes. Whenever the pending (not yet
// newline-terminated) part reaches 4095 bytes it answers `0 command-buffer-overflow` and discards
// it, then keeps reading. So a long line overflows once per 4095 bytes and the rest after the last
// overflow becomes a line of its own; a line of exactly 4095 bytes overflows and its newline then
// ends an empty line. This does not depend on how the input is split into reads.
// An unterminated tail at end of input is not a command.
// Unlike the reference, a NUL byte is just a byte (the reference stalls on it).

import { MAX_LINE_BYTES } from './names.js';

export type FrameEvent = { kind: 'line'; line: string } | { kind: 'overflow' };

const FROM_CHAR_CODE_BLOCK = 8192;
const ASCII_BLOCK = 65536;
// For ASCII bytes UTF-8 decoding is the identity and runs natively; anything else goes through
// String.fromCharCode (TextDecoder('latin1') is windows-1252 per WHATWG, not byte->char 1:1).
const utf8 = new TextDecoder('utf-8');

function isAscii(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if ((bytes[i] as number) > 127) return false;
  return true;
}

function fromCharCodes(bytes: Uint8Array, from: number, to: number, parts: string[]): void {
  for (let i = from; i < to; i += FROM_CHAR_CODE_BLOCK) {
    const block = bytes.subarray(i, Math.min(to, i + FROM_CHAR_CODE_BLOCK));
    parts.push(String.fromCharCode.apply(null, block as unknown as number[]));
  }
}

/** Bytes -> string with one char per byte (code points 0..255), never throws. */
export function latin1Decode(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n <= ASCII_BLOCK) {
    if (isAscii(bytes, 0, n)) return utf8.decode(bytes);
    if (n <= FROM_CHAR_CODE_BLOCK) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  const parts: string[] = [];
  for (let i = 0; i < n; i += ASCII_BLOCK) {
    const to = Math.min(n, i + ASCII_BLOCK);
    if (isAscii(bytes, i, to)) parts.push(utf8.decode(bytes.subarray(i, to)));
    else fromCharCodes(bytes, i, to, parts);
  }
  return parts.join('');
}

/** String with chars 0..255 -> bytes (other chars are truncated to their low byte). */
export function latin1Encode(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

export class LineFramer {
  /** bytes of the current unterminated line, as latin1; always shorter than `limit` */
  private pending = '';

  /** @param limit bytes at which a pending line overflows; 4095 like the reference */
  constructor(private readonly limit: number = MAX_LINE_BYTES) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`bad line limit ${limit}`);
  }

  /** Bytes held for an unterminated line. */
  get pendingBytes(): number {
    return this.pending.length;
  }

  /** Feed bytes; returns the complete lines (without '\n') and overflows, in input order. */
  push(chunk: Uint8Array): FrameEvent[] {
    return chunk.length === 0 ? [] : this.pushText(latin1Decode(chunk));
  }

  /**
   * Feed text that is already one char per byte (latin1). Chars above 0xff are counted as one
   * byte each; callers with real bytes use push().
   */
  pushText(text: string): FrameEvent[] {
    const events: FrameEvent[] = [];
    const n = text.length;
    const limit = this.limit;
    let pos = 0;
    for (;;) {
      const nl = text.indexOf('\n', pos);
      const segmentEnd = nl === -1 ? n : nl;
      let available = segmentEnd - pos;
      while (this.pending.length + available >= limit) {
        const take = limit - this.pending.length;
        events.push({ kind: 'overflow' });
        this.pending = '';
        pos += take;
        available -= take;
      }
      if (nl === -1) {
        if (pos < n) this.pending += text.slice(pos);
        return events;
      }
      const piece = text.slice(pos, nl);
      const line = this.pending.length === 0 ? piece : this.pending + piece;
      this.pending = '';
      events.push({ kind: 'line', line });
      pos = nl + 1;
    }
  }

  /** End of input: an unterminated tail is dropped (not a command). The framer is reset. */
  end(): FrameEvent[] {
    this.pending = '';
    return [];
  }
}
