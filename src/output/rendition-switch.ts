import type { EncodedPacket } from '../media/packet.js';

/** Why an output moves to another rendition. */
export type RenditionChangeReason = 'congested' | 'recovered' | 'pinned' | 'stopped';

/** A switch that happened: the rendition names (undefined: the main one). */
export interface RenditionChange {
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly reason: RenditionChangeReason;
}

/**
 * Which rendition of the video one output carries, and the move to another at a keyframe of the
 * one it moves to: until that keyframe comes, the output goes on with the current rendition, so the
 * stream never has a gap and always decodes. Audio is not concerned. Pure: packets in, packets out.
 *
 * Renditions have their keyframes on the same frames, but their encoders finish them in no set
 * order: when the current rendition's keyframe comes first while a move is pending, it is held
 * back; if the target's keyframe for the same frame follows, the move happens there (one picture per
 * timestamp), and if the current rendition's next frame comes first, the held one goes out after all.
 */
export class RenditionSwitch {
  #current: string | undefined;
  #target: { name: string | undefined; reason: RenditionChangeReason } | null = null;
  #held: EncodedPacket | null = null;

  /** Starts on `initial` (undefined: the main rendition). */
  constructor(initial: string | undefined = undefined) {
    this.#current = initial;
  }

  /** The rendition carried now (undefined: the main one). */
  get current(): string | undefined {
    return this.#current;
  }

  /** The rendition it is moving to, waiting for its keyframe; null when none. */
  get pending(): string | undefined | null {
    return this.#target === null ? null : this.#target.name;
  }

  /** Asks to move to `name` at its next keyframe; asking for the current one cancels a pending move. */
  moveTo(name: string | undefined, reason: RenditionChangeReason): void {
    this.#target = name === this.#current ? null : { name, reason };
  }

  /** The keyframe held back, if any (the stream ends: it goes out after all). */
  release(): EncodedPacket[] {
    const held = this.#held;
    this.#held = null;
    return held ? [held] : [];
  }

  /**
   * What this output sends for `packet` (nothing, it, or a held keyframe and it), and the switch it
   * makes now if any. Audio always; video of the current rendition until the target's keyframe; from
   * that keyframe on, the target's.
   */
  take(packet: EncodedPacket): { packets: EncodedPacket[]; change: RenditionChange | null } {
    if (packet.kind === 'audio') return { packets: [packet], change: null };
    const target = this.#target;
    if (target !== null && packet.rendition === target.name && packet.keyframe) {
      const change = { from: this.#current, to: target.name, reason: target.reason };
      this.#current = target.name;
      this.#target = null;
      this.#held = null; // the same frame from the rendition left behind
      return { packets: [packet], change };
    }
    if (packet.rendition !== this.#current) return { packets: [], change: null };
    const held = this.#held;
    this.#held = null;
    if (held) return { packets: [held, packet], change: null };
    if (target !== null && packet.keyframe) {
      this.#held = packet;
      return { packets: [], change: null };
    }
    return { packets: [packet], change: null };
  }
}
