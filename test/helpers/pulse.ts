import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnTracked, stopProcess, type TrackedProcess } from './process.js';

/** A private PulseAudio server with one null sink, and how to reach it. */
export interface PulseHandle {
  /** Environment that points clients at this server (PULSE_SERVER, XDG_RUNTIME_DIR, HOME). */
  readonly env: Record<string, string>;
  /** The null sink's name; its monitor is `${sink}.monitor` (the default source). */
  readonly sink: string;
  /** Plays a sine tone into the sink in real time until stopped (ffmpeg's pulse output). */
  playTone(frequencyHz: number): TrackedProcess;
  /** Stops the server (and nothing else). */
  stop(): Promise<void>;
}

/**
 * Starts `pulseaudio -n` (no default script) in `dir` with only a Unix socket and a null sink that is
 * the default sink, its monitor the default source: "system audio" is whatever plays into it.
 */
export async function startPulse(dir: string): Promise<PulseHandle> {
  const runtime = join(dir, 'runtime');
  mkdirSync(runtime, { recursive: true });
  const socket = join(runtime, 'native');
  const sink = 'steadycast_sink';
  const script = join(dir, 'default.pa');
  writeFileSync(
    script,
    [
      `load-module module-native-protocol-unix socket=${socket} auth-anonymous=1`,
      `load-module module-null-sink sink_name=${sink} rate=48000 channels=2`,
      `set-default-sink ${sink}`,
      `set-default-source ${sink}.monitor`,
      '',
    ].join('\n'),
  );
  const env = { PULSE_SERVER: `unix:${socket}`, XDG_RUNTIME_DIR: runtime, HOME: dir };
  const server = spawnTracked(
    'pulseaudio',
    [
      '-n',
      '--daemonize=no',
      '--system=false',
      '--exit-idle-time=-1',
      '--disallow-exit',
      '--use-pid-file=no',
      '--log-target=stderr',
      '-F',
      script,
    ],
    { env: { ...process.env, ...env } },
  );
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (server.hasExited()) throw new Error(`pulseaudio exited:\n${server.stderr()}`);
    if (Date.now() > deadline) {
      await stopProcess(server);
      throw new Error(`pulseaudio did not start:\n${server.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    env,
    sink,
    // Paced by the sink, not by `-re`: ffmpeg keeps 300 ms queued in the server and waits for room, so a
    // scheduling hiccup of the player does not leave a hole in the tone (with `-re` only about one
    // 21 ms frame was queued, and a stall of the player put silence into the monitor: a quiet 10 ms at
    // 7.27 s failed a CI run).
    playTone: (frequencyHz) =>
      spawnTracked(
        'ffmpeg',
        [
          '-nostdin',
          '-loglevel',
          'error',
          '-f',
          'lavfi',
          '-i',
          `sine=frequency=${frequencyHz}:sample_rate=48000`,
          '-ac',
          '2',
          '-f',
          'pulse',
          '-buffer_duration',
          '300',
          '-device',
          sink,
          'steadycast-test-tone',
        ],
        { env: { ...process.env, ...env } },
      ),
    stop: () => stopProcess(server),
  };
}
