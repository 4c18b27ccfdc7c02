import type { Amf0Object } from '../amf0/amf0.js';
import type { RtmpMessage } from './chunk-writer.js';
import {
  enhancedConnectProperties,
  defaultNegotiation,
  readNegotiation,
  type NegotiationOutcome,
  type NegotiationRequest,
} from './enhanced-negotiation.js';
import { RtmpCodecRefusedError, RtmpConnectionError, RtmpServerError, type RtmpError } from './errors.js';
import * as msg from './messages.js';
import { redact, type RtmpUrl } from './url.js';

// Transaction ids of the publish sequence (RTMP §7.2: replies carry the request's id).
const TXN_CONNECT = 1;
const TXN_RELEASE_STREAM = 2;
const TXN_FC_PUBLISH = 3;
const TXN_CREATE_STREAM = 4;

/** What the server said on the way to publishing. */
export interface PublishAccepted {
  /** Message stream id from createStream, on which media is published. */
  readonly streamId: number;
  /** The connect `_result` properties object. */
  readonly connectProperties: Amf0Object;
  /** The connect `_result` status (e.g. `NetConnection.Connect.Success`). */
  readonly connectStatus: msg.RtmpStatus;
  /** What the Enhanced RTMP negotiation settled: the video codec to send, and whether the server said so. */
  readonly negotiation: NegotiationOutcome;
}

/** What a command from the server means for the connection. */
export interface CommandOutcome {
  /** Messages to send now. */
  readonly send: readonly RtmpMessage[];
  /** `NetStream.Publish.Start` arrived: media may flow. */
  readonly publishing?: PublishAccepted;
  /** The connection must end with this error. */
  readonly failure?: RtmpError;
  /** A non-error `onStatus` (description redacted), to report. */
  readonly status?: msg.RtmpStatus;
  /** While publishing, the server asked us to reconnect (Enhanced RTMP v2, "Reconnect Request"). */
  readonly reconnectRequest?: ReconnectRequestInfo;
}

/** A `NetConnection.Connect.ReconnectRequest` as the server sent it. */
export interface ReconnectRequestInfo {
  /** Where to reconnect (absolute or relative to the current tcUrl; not checked yet); undefined: the current server. */
  readonly tcUrl: string | undefined;
  /** The server's text, stream key redacted. */
  readonly description: string;
}

/**
 * The command side of publishing (RTMP §7.2), with no I/O: `connect` → `releaseStream`, `FCPublish`,
 * `createStream` → `publish` → `NetStream.Publish.Start`, as FMLE, OBS and FFmpeg do it. It turns
 * each command from the server into what to send and what happened; the connection does the I/O.
 * Every text it reports has the stream key redacted.
 */
export class PublishSequence {
  readonly #url: RtmpUrl;
  readonly #where: string;
  readonly #secrets: readonly string[];
  readonly #flashVer: string | undefined;
  readonly #negotiation: NegotiationRequest;
  #connect: { properties: Amf0Object; status: msg.RtmpStatus; negotiation: NegotiationOutcome } | undefined;
  #streamId = 0;
  #publishing = false;
  #nextTransactionId = TXN_CREATE_STREAM + 1;
  #lastCommand = '';

  /**
   * `where` is `host:port`; `secrets` are redacted from everything the server says; `negotiation`
   * is what `connect` asks for (default: H.264 only, capsEx Reconnect).
   */
  constructor(
    url: RtmpUrl,
    where: string,
    secrets: readonly string[],
    flashVer: string | undefined,
    negotiation: NegotiationRequest = defaultNegotiation(),
  ) {
    this.#url = url;
    this.#where = where;
    this.#secrets = secrets;
    this.#flashVer = flashVer;
    this.#negotiation = negotiation;
  }

  /** The message stream id we publish on (0 before createStream answered). */
  get streamId(): number {
    return this.#streamId;
  }

  /** The last command we sent, for messages about where the sequence stopped. */
  get lastCommand(): string {
    return this.#lastCommand;
  }

  /** The `connect` command that opens the sequence. */
  start(): RtmpMessage {
    return this.#sent(
      'connect',
      msg.connectCommand(
        {
          app: this.#url.app,
          tcUrl: this.#url.tcUrl,
          ...(this.#flashVer === undefined ? {} : { flashVer: this.#flashVer }),
          extra: enhancedConnectProperties(this.#negotiation),
        },
        TXN_CONNECT,
      ),
    );
  }

  /** What the server's command means. */
  onCommand(command: msg.RtmpCommand): CommandOutcome {
    const { name, transactionId: txn } = command;
    if (name === '_result') return this.#onResult(command);
    if (name === '_error') {
      // releaseStream/FCPublish of a stream nobody holds get _error from some servers: harmless.
      if (txn === TXN_RELEASE_STREAM || txn === TXN_FC_PUBLISH || this.#publishing) return { send: [] };
      const which = txn === TXN_CONNECT ? 'connect' : txn === TXN_CREATE_STREAM ? 'createStream' : name;
      return { send: [], failure: this.#serverError(which, msg.parseStatus(command.args[0] ?? null)) };
    }
    if (name === 'onStatus') {
      const status = msg.parseStatus(command.args[0] ?? null);
      if (status.level === 'error') {
        return { send: [], failure: this.#serverError(this.#publishing ? 'onStatus' : 'publish', status) };
      }
      const safe = { ...status, description: redact(status.description, this.#secrets) };
      if (status.code === 'NetStream.Publish.Start' && !this.#publishing && this.#streamId !== 0) {
        this.#publishing = true;
        const connect = this.#connect;
        if (!connect) return { send: [], status: safe }; // unreachable: streamId ≠ 0 needs the connect result
        return {
          send: [],
          status: safe,
          publishing: {
            streamId: this.#streamId,
            connectProperties: connect.properties,
            connectStatus: connect.status,
            negotiation: connect.negotiation,
          },
        };
      }
      if (status.code === msg.RECONNECT_REQUEST_CODE && this.#publishing) {
        const tcUrl = msg.reconnectTcUrl(command.args[0] ?? null);
        return { send: [], status: safe, reconnectRequest: { tcUrl, description: safe.description } };
      }
      return { send: [], status: safe };
    }
    if (name === 'close') {
      const failure = new RtmpConnectionError('ERR_RTMP_CLOSED_BY_SERVER', `${this.#where} sent "close"`, {
        phase: this.#publishing ? 'publishing' : 'negotiating',
      });
      return { send: [], failure };
    }
    return { send: [] }; // onBWDone, onFCPublish, _checkbw, …: nothing a publisher needs to answer
  }

  /** FCUnpublish and deleteStream: the graceful end of a publish. */
  finish(): RtmpMessage[] {
    return [
      this.#sent('FCUnpublish', msg.fcUnpublishCommand(this.#nextTransactionId++, this.#url.streamKey)),
      this.#sent('deleteStream', msg.deleteStreamCommand(this.#streamId)),
    ];
  }

  #onResult(command: msg.RtmpCommand): CommandOutcome {
    const txn = command.transactionId;
    if (txn === TXN_CONNECT && !this.#connect) {
      const object = command.commandObject;
      const properties = object !== null && typeof object === 'object' ? (object as Amf0Object) : {};
      const negotiation = readNegotiation(this.#negotiation, properties, command.args[0] ?? null);
      if ('refused' in negotiation) {
        return {
          send: [],
          failure: new RtmpCodecRefusedError(this.#where, negotiation.refused, negotiation.serverTakes),
        };
      }
      this.#connect = { properties, status: msg.parseStatus(command.args[0] ?? null), negotiation };
      const key = this.#url.streamKey;
      return {
        send: [
          this.#sent('releaseStream', msg.releaseStreamCommand(TXN_RELEASE_STREAM, key)),
          this.#sent('FCPublish', msg.fcPublishCommand(TXN_FC_PUBLISH, key)),
          this.#sent('createStream', msg.createStreamCommand(TXN_CREATE_STREAM)),
        ],
      };
    }
    if (txn === TXN_CREATE_STREAM && this.#connect && this.#streamId === 0) {
      const id = command.args[0];
      if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0 || id > 0xffffffff) {
        return {
          send: [],
          failure: new RtmpServerError('createStream', '', `invalid stream id ${String(id)}`, this.#where),
        };
      }
      this.#streamId = id;
      return { send: [this.#sent('publish', msg.publishCommand(id, this.#url.streamKey, 'live'))] };
    }
    return { send: [] };
  }

  #sent(name: string, message: RtmpMessage): RtmpMessage {
    this.#lastCommand = name;
    return message;
  }

  #serverError(command: string, status: msg.RtmpStatus): RtmpServerError {
    return new RtmpServerError(
      command,
      redact(status.code, this.#secrets),
      redact(status.description, this.#secrets),
      this.#where,
    );
  }
}
