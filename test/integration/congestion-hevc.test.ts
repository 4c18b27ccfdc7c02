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
 * nothing). At this low rate (348 kbit/s) the receiver's p95 comes closer to the bound than in the
 * H.264 runs at 1596 kbit/s: 1984–2440 ms in eight runs (2376 at 640x360; 2496 and 2507 with 64k
 * audio, at 302 kbit/s).
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

const STREAM_KBIT = 420 + 160; // what libx265 makes of 800k at 480x270 (measured above), plus 160k audio

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
      media: { codec: 'hevc', size: '480x270', videoBitrate: '800k', audioBitrate: '160k' },
    });
    expect(r.recording?.videoCodec).toBe('hevc');
    expectBoundedAndDecodable(r, { recovery: false });
    expect(r.steadycast?.latencyMeasures).toEqual(['sent']); // node-media-server never acknowledges
  }, 150_000);
});
