/**
 * A scripted Transport for unit tests of the protocol-neutral output parts (ConnectionMonitor,
 * Reconnector, Output): `open()` answers from a script (a connection, or an error), and each
 * FakeConnection records what was written and lets the test acknowledge, drain or close it.
 */
import { TypedEmitter } from '../../src/core/typed-emitter.js';
import type { EncodedPacket } from '../../src/media/packet.js';
import { RtmpRejectedAfterStartError } from '../../src/rtmp/errors.js';
import type {
  ReconnectTarget,
  Transport,
  TransportConnection,
  TransportConnectionEvents,
  TransportWrite,
} from '../../src/output/transport.js';

/** A connection the test drives. */
export class FakeConnection extends TypedEmitter<TransportConnectionEvents> implements TransportConnection {
  readonly closed: Promise<Error | undefined>;
  /** Packets written, with their timestamps. */
  readonly packets: { packet: EncodedPacket; timestampMs: number }[] = [];
  /** Bytes each packet counts for (its data length, plus this). */
  overheadBytes = 0;
  bytesWritten = 0;
  bufferedBytes = 0;
  deliveryVisible = false;
  /** How many times a graceful close was asked for. */
  closeCalls = 0;
  /** The error given to `destroy()`, if any. */
  destroyedWith: Error | undefined;
  #resolveClosed!: (error: Error | undefined) => void;
  #ended = false;

  constructor() {
    super();
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  /** Whether the connection has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  get writable(): boolean {
    return !this.#ended;
  }

  write(packet: EncodedPacket, timestampMs: number): TransportWrite {
    if (this.#ended) throw new Error('write after the connection ended');
    this.packets.push({ packet, timestampMs });
    this.bytesWritten += packet.byteLength + this.overheadBytes;
    return { endOffset: this.bytesWritten, ok: true };
  }

  requestDeliveryReading(): void {}

  /** The fake holds nothing back. */
  readonly heldBytes = 0;

  limitHandOver(): void {}

  close(): Promise<void> {
    this.closeCalls++;
    this.end(undefined);
    return Promise.resolve();
  }

  destroy(error: Error): void {
    this.destroyedWith = error;
    this.end(error);
  }

  /** The peer acknowledges everything written so far (or up to `offset`). */
  acknowledge(offset = this.bytesWritten): void {
    this.emit('acknowledged', offset);
  }

  /** Ends the connection from the far side with `error` (a reset, a close, an error status). */
  end(error: Error | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#resolveClosed(error);
  }
}

/** What one `open()` does: publish on a new connection, fail with an error, or never answer. */
export type OpenStep = 'publish' | Error | 'hang';

/** A Transport whose `open()` follows a script; after the script, every open publishes. */
export class FakeTransport implements Transport {
  readonly redactedUrl = 'fake://server/app/****';
  readonly ackWindowBytes = 1000;
  readonly codecNegotiation = null;
  /** The connections opened, in order. */
  readonly connections: FakeConnection[] = [];
  /** The `publishedBefore` flag of each open, in order. */
  readonly publishedBefore: boolean[] = [];
  /** The target of each open (undefined: the destination), in order. */
  readonly targets: (ReconnectTarget | undefined)[] = [];
  /** Where `moveTo()` sent later connections, in order. */
  readonly moves: ReconnectTarget[] = [];
  readonly #script: OpenStep[];

  constructor(script: OpenStep[] = []) {
    this.#script = [...script];
  }

  /** The connection opened last. */
  get last(): FakeConnection | undefined {
    return this.connections[this.connections.length - 1];
  }

  open(
    signal: AbortSignal,
    publishedBefore: boolean,
    target?: ReconnectTarget,
  ): Promise<TransportConnection> {
    this.publishedBefore.push(publishedBefore);
    this.targets.push(target);
    const step = this.#script.shift() ?? 'publish';
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      if (step === 'hang') return;
      if (step instanceof Error) return reject(step);
      const connection = new FakeConnection();
      this.connections.push(connection);
      resolve(connection);
    });
  }

  moveTo(target: ReconnectTarget): void {
    this.moves.push(target);
  }

  settleVideoCodec(): Error | null {
    return null; // it negotiates nothing
  }

  rejectedAfterStart(cause: Error): Error {
    return new RtmpRejectedAfterStartError(this.redactedUrl, cause);
  }

  /** Adds steps to the script. */
  then(...steps: OpenStep[]): this {
    this.#script.push(...steps);
    return this;
  }
}
