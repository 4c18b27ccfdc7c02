/**
 * A quiet library: FFmpeg's log goes to the routes that asked for it, at their level; a Streamer's
 * `log` event is one such route (default: warnings and errors).
 */
import { Log } from 'node-av';
import { AV_LOG_ERROR, AV_LOG_INFO, AV_LOG_WARNING } from 'node-av/constants';
import { describe, expect, it } from 'vitest';
import { routeFfmpegLog, type LogRecord } from '../../../src/observe/ffmpeg-log.js';
import { streamerDefaults } from '../../../src/streamer.js';

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('routeFfmpegLog', () => {
  it('hands each route the lines at its level or worse, and stops when asked', async () => {
    const warnings: LogRecord[] = [];
    const infos: LogRecord[] = [];
    const stopWarnings = routeFfmpegLog('warning', (r) => warnings.push(r));
    const stopInfos = routeFfmpegLog('info', (r) => infos.push(r));
    Log.log(AV_LOG_INFO, 'x264 banner\n');
    Log.log(AV_LOG_WARNING, 'a warning\n');
    Log.log(AV_LOG_ERROR, 'an error\n');
    await settle();
    expect(warnings.map((r) => `${r.level}: ${r.message}`)).toEqual([
      'warning: a warning',
      'error: an error',
    ]);
    expect(infos.map((r) => r.level)).toEqual(['info', 'warning', 'error']);
    stopInfos();
    Log.log(AV_LOG_INFO, 'more banner\n');
    await settle();
    expect(Log.getLevel()).toBe(AV_LOG_WARNING);
    stopWarnings();
    Log.log(AV_LOG_ERROR, 'after\n');
    await settle();
    expect(warnings).toHaveLength(2);
    expect(infos).toHaveLength(3);
    // Nobody listens: FFmpeg's own printing, warnings and errors only.
    expect(Log.getLevel()).toBe(AV_LOG_WARNING);
  });

  it('a Streamer takes warnings and errors by default', () => {
    expect(streamerDefaults().logLevel).toBe('warning');
  });
});
