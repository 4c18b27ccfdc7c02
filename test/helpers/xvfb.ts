import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { spawnTracked, stopProcess, type TrackedProcess } from './process.js';

/** A rectangle of one colour, in screen pixels. */
export interface ColouredRect {
  /** Left edge, pixels. */
  x: number;
  /** Top edge, pixels. */
  y: number;
  /** Width, pixels. */
  width: number;
  /** Height, pixels. */
  height: number;
  /** Colour as 0xRRGGBB. */
  rgb: number;
}

/** A running Xvfb server and a connection that owns the windows drawn on it. */
export interface XvfbHandle {
  /** The display name, e.g. `:99`. */
  readonly display: string;
  /** Paints the root window one colour (0xRRGGBB). */
  paintRoot(rgb: number): Promise<void>;
  /** Maps an override-redirect window of one colour (stays until `stop()`). */
  drawRect(rect: ColouredRect): Promise<void>;
  /** Closes the X connection and stops the server. */
  stop(): Promise<void>;
}

/**
 * Starts `Xvfb :N -screen 0 WxHx24` and draws with a tiny X11 client of our own (core protocol over
 * the Unix socket: CreateWindow with a background pixel, MapWindow), so the test needs no X toolkit.
 */
export async function startXvfb(displayNumber = 99, width = 1280, height = 720): Promise<XvfbHandle> {
  const socketPath = `/tmp/.X11-unix/X${displayNumber}`;
  const server: TrackedProcess = spawnTracked('Xvfb', [
    `:${displayNumber}`,
    '-screen',
    '0',
    `${width}x${height}x24`,
    '-nolisten',
    'tcp',
  ]);
  const deadline = Date.now() + 10_000;
  let client: XClient | null = null;
  while (!client) {
    if (server.hasExited()) throw new Error(`Xvfb exited:\n${server.stderr()}`);
    if (Date.now() > deadline) {
      await stopProcess(server);
      throw new Error(`Xvfb did not start:\n${server.stderr()}`);
    }
    if (existsSync(socketPath)) client = await XClient.connect(socketPath).catch(() => null);
    if (!client) await new Promise((r) => setTimeout(r, 100));
  }
  const x = client;
  return {
    display: `:${displayNumber}`,
    paintRoot: (rgb) => x.paintRoot(rgb),
    drawRect: (rect) => x.drawRect(rect),
    stop: async () => {
      x.close();
      await stopProcess(server);
    },
  };
}

// X11 core protocol opcodes and value-mask bits (X Window System Protocol, chapter 9 and §"Requests").
const CREATE_WINDOW = 1;
const CHANGE_WINDOW_ATTRIBUTES = 2;
const MAP_WINDOW = 8;
const CLEAR_AREA = 61;
const GET_INPUT_FOCUS = 43;
const CW_BACK_PIXEL = 0x2;
const CW_OVERRIDE_REDIRECT = 0x200;

class XClient {
  readonly #socket: Socket;
  readonly #root: number;
  readonly #idBase: number;
  #nextId = 1;
  #replyWaiters: (() => void)[] = [];
  readonly #errors: string[] = [];

  private constructor(socket: Socket, root: number, idBase: number) {
    this.#socket = socket;
    this.#root = root;
    this.#idBase = idBase;
    socket.on('data', (data: Buffer) => {
      // Replies (type 1) are 32 bytes for GetInputFocus; events and errors (0, 2..) are 32 bytes too.
      for (let i = 0; i + 32 <= data.length; i += 32) {
        if (data[i] === 1) this.#replyWaiters.shift()?.();
        else if (data[i] === 0) this.#errors.push(`X error code ${data[i + 1]} for opcode ${data[i + 10]}`);
      }
    });
  }

  static connect(path: string): Promise<XClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('error', reject);
      socket.once('connect', () => {
        const setup = Buffer.alloc(12);
        setup.write('l', 0, 'latin1'); // little-endian
        setup.writeUInt16LE(11, 2);
        setup.writeUInt16LE(0, 4);
        socket.write(setup);
      });
      let got = Buffer.alloc(0);
      const onData = (data: Buffer): void => {
        got = Buffer.concat([got, data]);
        if (got.length < 8) return;
        if (got[0] !== 1) {
          reject(new Error('X server refused the connection'));
          socket.destroy();
          return;
        }
        const total = 8 + got.readUInt16LE(6) * 4;
        if (got.length < total) return;
        socket.off('data', onData);
        const idBase = got.readUInt32LE(12);
        const vendorLength = got.readUInt16LE(24);
        const formats = got[29] ?? 0;
        const screenOffset = 40 + Math.ceil(vendorLength / 4) * 4 + formats * 8;
        const root = got.readUInt32LE(screenOffset);
        resolve(new XClient(socket, root, idBase));
      };
      socket.on('data', onData);
    });
  }

  async paintRoot(rgb: number): Promise<void> {
    this.#request(CHANGE_WINDOW_ATTRIBUTES, 0, [this.#root, CW_BACK_PIXEL, rgb]);
    this.#clear(this.#root);
    await this.#sync();
  }

  async drawRect(rect: ColouredRect): Promise<void> {
    const id = this.#idBase | this.#nextId++;
    const body = Buffer.alloc(28);
    body.writeUInt32LE(id, 0);
    body.writeUInt32LE(this.#root, 4);
    body.writeInt16LE(rect.x, 8);
    body.writeInt16LE(rect.y, 10);
    body.writeUInt16LE(rect.width, 12);
    body.writeUInt16LE(rect.height, 14);
    body.writeUInt16LE(0, 16); // border width
    body.writeUInt16LE(1, 18); // InputOutput
    body.writeUInt32LE(0, 20); // visual: CopyFromParent
    body.writeUInt32LE(CW_BACK_PIXEL | CW_OVERRIDE_REDIRECT, 24);
    this.#send(CREATE_WINDOW, 0, Buffer.concat([body, words([rect.rgb, 1])]));
    this.#request(MAP_WINDOW, 0, [id]);
    await this.#sync();
  }

  close(): void {
    this.#socket.destroy();
  }

  #clear(window: number): void {
    const body = Buffer.alloc(12);
    body.writeUInt32LE(window, 0); // x, y, width, height 0: the whole window
    this.#send(CLEAR_AREA, 0, body);
  }

  /** A round trip: once GetInputFocus is answered, every earlier request has been processed. */
  #sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#replyWaiters.push(() =>
        this.#errors.length ? reject(new Error(this.#errors.join('; '))) : resolve(),
      );
      this.#send(GET_INPUT_FOCUS, 0, Buffer.alloc(0));
    });
  }

  #request(opcode: number, data: number, values: number[]): void {
    this.#send(opcode, data, words(values));
  }

  #send(opcode: number, data: number, body: Buffer): void {
    const header = Buffer.alloc(4);
    header[0] = opcode;
    header[1] = data;
    header.writeUInt16LE(1 + body.length / 4, 2);
    this.#socket.write(Buffer.concat([header, body]));
  }
}

function words(values: number[]): Buffer {
  const buffer = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => buffer.writeUInt32LE(v >>> 0, i * 4));
  return buffer;
}
