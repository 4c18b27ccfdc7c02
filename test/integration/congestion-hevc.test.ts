/**
 * HEVC through the 60 % tc throttle (issue 13): `steadycast stream --codec hevc` (libx265) → wire tap →
 * node-media-server 4, in a private network namespace, the tap's port at 60 % of the stream's rate for
 * 30 s. The same receiver-side bounds as the H.264 runs (congestion.test.ts); the recording is enhanced
 * FLV, read and decoded with node-av (Debian's ffmpeg 5.1 cannot). The drops must keep HEVC decodable:
 * a GOP whose reference frame went is dropped up to the next IRAP picture.
 *
 * The rate is what the stream really carries: on the test pattern libx265 makes far less than asked,
 * and no more for asking more (at 480x270: 419, 453 and 450 kbit/s over 10 s for 800k, 1600k and
 * 2400k; 563 at 640x360 for 1000k), so 60 % of a nominal rate hardly throttles (one such run dropped
 * nothing). The video bitrate asked is 450k, about what libx265 makes: asked 800k, the one-second VBV
 * buffer let keyframes grow to what a second of 800k holds, and one such keyframe takes over a second
 * of this 348 kbit/s link, during which nothing behind it can be dropped. Asked 800k, the receiver's
 * p95 was 1806–2492 ms (2492 in a CI run with other tests beside it, max 2976 at the throttle's
 * start); asked 450k, 1693 and 1697 (max 1939, 1932) with more frames through (1031, 1019).
 *
 * 480x270 rather than the codecs test's 640x360, to spare the shared 2-core machine; even so libx265
 * (ultrafast) skipped frames when the machine was loaded (182–402 of about 1300 at load 7–10). A
 * skipped frame reads as a missing one at the receiver, so the H.264 runs' check that full frame rate
 * is back within 3 s of the link's recovery is left out here: it would measure the CPU, not the path.
 * About 60 s: 45 s of stream, the server's start and stop, and the decoding.
 */
import { describe, expect, it } from 'vitest';
import { requirementSkipReason } from '../helpers/process.js';
import { expectBoundedAndDecodable, runCongestionScenario } from '../helpers/scenarios/congestion-checks.js';

const STREAM_KBIT = 420 + 160; // what libx265 makes at 480x270 (measured above), plus 160k audio

const missing = requirementSkipReason({ tools: ['ss', 'unshare', 'tc', 'ip', 'nft'], root: true });

describe.skipIf(missing)(`congestion with HEVC ${missing ?? ''}`, () => {
  it('link at 60 % for 30 s (node-media-server 4): receiver p95 ≤ maxLatencyMs + 500, an HEVC recording with zero decode errors, gapless audio, video dropped and never audio, one connection', async () => {
    const r = await runCongestionScenario({
      server: 'nms',
      publisher: 'steadycast',
      rateKbit: Math.round(STREAM_KBIT * 0.6),
      leadS: 5,
      throttleS: 30,
      recoverS: 10,
      media: { codec: 'hevc', size: '480x270', videoBitrate: '450k', audioBitrate: '160k' },
    });
    expect(r.recording?.videoCodec).toBe('hevc');
    expectBoundedAndDecodable(r, { recovery: false });
    expect(r.steadycast?.latencyMeasures).toEqual(['sent']); // node-media-server never acknowledges
  }, 150_000);
});
