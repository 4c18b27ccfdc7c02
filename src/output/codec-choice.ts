import type { VideoCodec } from '../media/packet.js';
import type { OutputGroup } from './output-group.js';
import type { Output } from './output.js';

// A session encodes one video codec for every output (one encode, N outputs). With a list of codecs
// (`video.codec: ['hevc', 'h264']`) the outputs' servers decide which, before the encoder opens: each
// output's first publish says which codecs of the list its server takes (Enhanced RTMP's connect
// negotiation), and the session takes the first codec every one of them takes.

/** One output's answer: the codecs of the list its server takes, or null when it gave none (its first attempt failed). */
export type CodecAnswer = readonly VideoCodec[] | null;

/**
 * The codec to encode: the first of `preference` that every answer takes; when no codec is taken by
 * all, the one the most answers take (the earlier on a tie); without any answer, the first. Outputs
 * without an answer do not count: they ask for the chosen codec alone when they connect.
 */
export function chooseVideoCodec(
  preference: readonly VideoCodec[],
  answers: readonly CodecAnswer[],
): VideoCodec {
  const given = answers.filter((a): a is readonly VideoCodec[] => a !== null);
  const takers = (codec: VideoCodec): number => given.filter((a) => a.includes(codec)).length;
  let best = preference[0] ?? 'h264';
  for (const codec of preference) {
    if (takers(codec) === given.length) return codec;
    if (takers(codec) > takers(best)) best = codec;
  }
  return best;
}

/** The session sends a codec other than the first it was asked for. */
export interface CodecFallback {
  /** The first codec of `video.codec`. */
  readonly from: VideoCodec;
  /** The codec sent instead. */
  readonly to: VideoCodec;
  /** The outputs whose server did not take `from` (stream keys hidden). */
  readonly refusedBy: readonly string[];
}

/** The codec a session encodes, and the fallback when it is not the first asked for. */
export interface SettledVideoCodec {
  /** The codec every encoder makes and every output sends. */
  readonly codec: VideoCodec;
  /** Set when the servers' answers ruled out the first codec of the list. */
  readonly fallback: CodecFallback | null;
}

/**
 * Settles every output on the codec their answers allow (see chooseVideoCodec): each sends it from its
 * first video packet on, and asks for it alone on later connections. Returns the codec, and the
 * fallback when it is not the first of `preference`.
 */
export function settleVideoCodec(
  outputs: readonly Output[],
  preference: readonly VideoCodec[],
  answers: readonly CodecAnswer[],
): SettledVideoCodec {
  const codec = chooseVideoCodec(preference, answers);
  for (const output of outputs) output.settleVideoCodec(codec);
  const first = preference[0] ?? codec;
  if (codec === first) return { codec, fallback: null };
  const refusedBy = outputs.filter((_o, i) => answers[i]?.includes(first) === false).map((o) => o.stats.url);
  return { codec, fallback: { from: first, to: codec, refusedBy } };
}

/** What an output must offer to be watched for its answer. */
export type AnsweringOutput = Pick<Output, 'on' | 'off' | 'state' | 'codecNegotiation'>;

/**
 * Collects each output's first answer: its first publish (the codecs its server takes), or its first
 * attempt that failed (null). Create it before the outputs start, so no answer is missed.
 */
export class CodecAnswers {
  readonly #answers: (CodecAnswer | undefined)[];
  readonly #detach: (() => void)[] = [];
  #onAnswer: (() => void) | null = null;

  constructor(outputs: readonly AnsweringOutput[]) {
    this.#answers = outputs.map(() => undefined);
    outputs.forEach((output, i) => {
      const answer = (value: CodecAnswer): void => {
        if (this.#answers[i] !== undefined) return;
        this.#answers[i] = value;
        this.#onAnswer?.();
      };
      const onState = (): void => {
        if (output.state === 'live') answer(output.codecNegotiation?.accepted ?? null);
        else if (output.state === 'failed') answer(null);
      };
      const onRetry = (): void => answer(null);
      output.on('statechange', onState).on('retry', onRetry);
      this.#detach.push(() => output.off('statechange', onState).off('retry', onRetry));
    });
  }

  /**
   * Resolves with every output's answer once each has one (at once without outputs); rejects with
   * `signal.reason` when it aborts first. Stops listening either way.
   */
  wait(signal: AbortSignal): Promise<CodecAnswer[]> {
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        this.#onAnswer = null;
        signal.removeEventListener('abort', onAbort);
        for (const detach of this.#detach) detach();
      };
      const onAbort = (): void => {
        finish();
        reject(signal.reason);
      };
      const check = (): void => {
        if (this.#answers.some((a) => a === undefined)) return;
        finish();
        resolve(this.#answers.map((a) => a ?? null));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#onAnswer = check;
      check();
    });
  }
}

/** What a group of outputs must offer for its codec choice. */
export type ChoosingGroup = Pick<OutputGroup, 'outputs' | 'allFailed' | 'firstAccepted'>;

/**
 * The codec choice of one session's outputs: with one codec (or none: audio only) there is nothing to
 * ask and it settles on the first (H.264 without any); with a choice of codecs, the servers' answers
 * decide which the encoder makes. Create it before the outputs start, so no answer is missed.
 */
export class VideoCodecChoice {
  readonly #group: ChoosingGroup;
  readonly #preference: readonly VideoCodec[];
  readonly #answers: CodecAnswers | null;

  constructor(group: ChoosingGroup, preference: readonly VideoCodec[]) {
    this.#group = group;
    this.#preference = preference;
    this.#answers = preference.length > 1 ? new CodecAnswers(group.outputs) : null;
  }

  /**
   * Waits for every output's answer, when there is a choice, and settles the outputs on the codec (see
   * settleVideoCodec). Rejects with the first output's error when every output failed, or with
   * `signal.reason` when it aborts first.
   */
  async settle(signal: AbortSignal): Promise<SettledVideoCodec> {
    if (!this.#answers) return { codec: this.#preference[0] ?? 'h264', fallback: null };
    const given = await this.#answers.wait(signal);
    // Every server refused (or failed otherwise): no encoder to open; firstAccepted says why.
    if (this.#group.allFailed) await this.#group.firstAccepted(signal);
    return settleVideoCodec(this.#group.outputs, this.#preference, given);
  }
}
