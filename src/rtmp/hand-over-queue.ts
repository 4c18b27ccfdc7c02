/**
 * The chunk stream on its way to the socket, given to it only as far as a limit allows (see
 * `RtmpConnection.limitHandOver`): the bytes past the limit wait here, in order, and a buffer is cut
 * where the limit falls. Pure: the caller passes the socket's `write`.
 */
export class HandOverQueue {
  readonly #held: Buffer[] = [];
  #heldBytes = 0;
  #room = Infinity;

  /** Bytes waiting. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** From now on at most `bytes` more go out (whole bytes; Infinity: everything). */
  limit(bytes: number): void {
    this.#room = Math.max(0, Math.floor(bytes));
  }

  /** Queues `bytes` behind what waits. */
  push(bytes: Buffer): void {
    this.#held.push(bytes);
    this.#heldBytes += bytes.length;
  }

  /** Gives `write` what the limit allows, in order; returns its last answer (true when it wrote nothing). */
  release(write: (piece: Buffer) => boolean): boolean {
    let ok = true;
    for (let head = this.#held[0]; head !== undefined && this.#room > 0; head = this.#held[0]) {
      const piece = head.length <= this.#room ? head : head.subarray(0, this.#room);
      if (piece === head) this.#held.shift();
      else this.#held[0] = head.subarray(piece.length);
      this.#heldBytes -= piece.length;
      this.#room -= piece.length;
      ok = write(piece);
    }
    return ok;
  }

  /** Forgets what waits (the connection is gone). */
  clear(): void {
    this.#held.length = 0;
    this.#heldBytes = 0;
  }
}
