import { existsSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EncodedPacket, StreamConfig } from '../../../src/media/packet.js';
import { FileRecorder } from '../../../src/output/file-recorder.js';
import type { RecordingError } from '../../../src/output/record-path.js';

const dir = mkdtempSync(join(tmpdir(), 'steadycast-recorder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stream configuration the muxers accept (the payloads are never decoded here). */
const config: StreamConfig = {
  video: {
    // AVCDecoderConfigurationRecord: version 1, High@3.1, one SPS and one PPS.
    codec: 'h264',
    decoderConfigurationRecord: Buffer.from(
      '016400 1fffe1 0004 6764001f 01 0004 68ee3c80'.replace(/ /g, ''),
      'hex',
    ),
    width: 64,
    height: 64,
    fps: 30,
    bitrateBps: 100_000,
    encoderName: 'test',
  },
  audio: {
    audioSpecificConfig: Buffer.from([0x11, 0x90]),
    sampleRate: 48000,
    channels: 2,
    bitrateBps: 64_000,
  },
};

function packets(count: number): EncodedPacket[] {
  return Array.from({ length: count }, (_, i) => {
    const video = i % 2 === 0;
    const atUs = Math.floor(i / 2) * 33_333;
    const data = Buffer.alloc(video ? 4000 : 300, i);
    return {
      kind: video ? 'video' : 'audio',
      data,
      dtsUs: atUs,
      ptsUs: atUs,
      keyframe: video ? i % 60 === 0 : true,
      reference: video,
      byteLength: data.length,
    };
  });
}

async function settle(recorder: FileRecorder): Promise<void> {
  for (let i = 0; i < 200 && recorder.stats.packetsQueued > 0; i++)
    await new Promise((r) => setTimeout(r, 5));
}

describe('FileRecorder', () => {
  it.each(['mkv', 'flv', 'mp4'])(
    'records every packet to .%s, counts the file bytes and ends stopped',
    async (ext) => {
      const path = join(dir, `ok.${ext}`);
      const recorder = await FileRecorder.open(path, config);
      for (const p of packets(40)) recorder.writePacket(p);
      await recorder.close();
      const stats = recorder.stats;
      expect(stats).toMatchObject({
        path,
        state: 'stopped',
        error: null,
        packetsWritten: 40,
        packetsNotWritten: 0,
      });
      expect(stats.bytesWritten).toBeGreaterThan(40 * 300);
      expect(stats.bytesWritten).toBe(statSync(path).size);
      await recorder.close(); // idempotent
      expect(recorder.state).toBe('stopped');
    },
  );

  it('reports a full disk at once, in words, once; stops writing and never throws at close', async () => {
    // /dev/full fails every write with ENOSPC: a disk that is full from the first packet on.
    const path = join(dir, 'full.flv');
    symlinkSync('/dev/full', path);
    const recorder = await FileRecorder.open(path, config);
    const failures: RecordingError[] = [];
    recorder.on('failed', (e) => failures.push(e));
    for (const p of packets(20)) recorder.writePacket(p);
    await settle(recorder);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.message).toBe(`recording ${path} failed: disk full (ENOSPC) while writing`);
    expect(recorder.state).toBe('failed');
    for (const p of packets(10)) recorder.writePacket(p);
    await expect(recorder.close()).resolves.toBeUndefined();
    expect(failures).toHaveLength(1);
    const stats = recorder.stats;
    expect(stats.state).toBe('failed');
    expect(stats.error).toBe('disk full (ENOSPC) while writing');
    expect(stats.packetsWritten + stats.packetsNotWritten).toBe(30);
    expect(stats.packetsNotWritten).toBeGreaterThanOrEqual(10);
  });

  it('a failed listener that throws gets one warning; the other listeners and the file are not affected', async () => {
    const path = join(dir, 'full-again.flv');
    symlinkSync('/dev/full', path);
    const recorder = await FileRecorder.open(path, config);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    const heard: string[] = [];
    recorder.on('failed', () => {
      throw new Error('listener bug');
    });
    recorder.on('failed', (e) => heard.push(e.message));
    try {
      for (const p of packets(10)) recorder.writePacket(p);
      await settle(recorder);
      await expect(recorder.close()).resolves.toBeUndefined();
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(heard).toHaveLength(1);
    expect(recorder.state).toBe('failed');
    expect(warnings).toEqual([`a listener of FileRecorder's "failed" event threw: listener bug`]);
  });

  it('refuses a path it cannot record to before opening anything', async () => {
    await expect(FileRecorder.open(join(dir, 'x.avi'), config)).rejects.toThrow(/end the name with/);
    expect(existsSync(join(dir, 'x.avi'))).toBe(false);
  });
});
