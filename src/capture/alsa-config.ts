import { createHash } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where distributions install ALSA's plugins (Debian/Ubuntu multiarch, Fedora, Arch). */
export const ALSA_PLUGIN_DIRS: readonly string[] = [
  '/usr/lib/x86_64-linux-gnu/alsa-lib',
  '/usr/lib/aarch64-linux-gnu/alsa-lib',
  '/usr/lib64/alsa-lib',
  '/usr/lib/alsa-lib',
];

const PULSE_PCM_PLUGIN = 'libasound_module_pcm_pulse.so';
const PULSE_CTL_PLUGIN = 'libasound_module_ctl_pulse.so';

/** The first directory holding ALSA's PulseAudio plugin, or null. */
export function findPulsePluginDir(
  dirs: readonly string[] = ALSA_PLUGIN_DIRS,
  exists: (path: string) => boolean = existsSync,
): string | null {
  return dirs.find((dir) => exists(join(dir, PULSE_PCM_PLUGIN))) ?? null;
}

/**
 * A self-contained ALSA configuration that reaches PulseAudio (or PipeWire's pulse server) through
 * the system's pulse plugin, named by absolute path. node-av's ALSA is linked statically and looks
 * for plugins in its build directory, and the system's own configuration loads a pulse hook by a
 * relative name that fails there — so this file does not include the system's configuration.
 */
export function alsaPulseConfigText(pluginDir: string): string {
  const quote = (path: string): string => JSON.stringify(path);
  return [
    '# Written by steadycast: ALSA -> PulseAudio through the system pulse plugin.',
    `pcm_type.pulse { lib ${quote(join(pluginDir, PULSE_PCM_PLUGIN))} }`,
    `ctl_type.pulse { lib ${quote(join(pluginDir, PULSE_CTL_PLUGIN))} }`,
    'pcm.pulse {',
    '  @args [ DEVICE ]',
    '  @args.DEVICE { type string default "" }',
    '  type pulse',
    '  device $DEVICE',
    '}',
    'ctl.pulse {',
    '  @args [ DEVICE ]',
    '  @args.DEVICE { type string default "" }',
    '  type pulse',
    '  device $DEVICE',
    '}',
    'pcm.!default pulse',
    'ctl.!default pulse',
    '',
  ].join('\n');
}

/** The ALSA device name that captures PulseAudio source `source` (`@DEFAULT_SOURCE@`, `x.monitor`, …). */
export function pulseAlsaDevice(source: string): string {
  // ALSA argument syntax: values with special characters are quoted.
  return `pulse:DEVICE=${JSON.stringify(source)}`;
}

let written: string | null = null;

/**
 * Writes the generated configuration that reaches PulseAudio (once per content and user, reused by
 * every run) and returns its path, or null when the system has no pulse plugin (Debian:
 * libasound2-plugins). Nothing in the process environment changes.
 */
export function alsaPulseConfigFile(): string | null {
  const pluginDir = findPulsePluginDir();
  if (!pluginDir) return null;
  const text = alsaPulseConfigText(pluginDir);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
  const path = join(tmpdir(), `steadycast-asound-${process.getuid?.() ?? 0}-${hash}.conf`);
  if (written === path && existsSync(path)) return path;
  if (!existsSync(path)) {
    const partial = `${path}.${process.pid}`;
    writeFileSync(partial, text);
    renameSync(partial, path);
  }
  written = path;
  return path;
}

let opening = 0;
let hostValue: string | undefined;

/**
 * Runs `open` (an ALSA device open) with `ALSA_CONFIG_PATH` pointing at the generated configuration,
 * and puts the variable back as the host had it (unset, or its own value) once no open is under way.
 * ALSA reads the variable when an open (re)loads its configuration, so it is needed only then; an
 * Electron host, or a child process it spawns later, never sees it. Without the pulse plugin `open`
 * runs as it is (and fails with ALSA's own error).
 */
export async function withAlsaPulseConfig<T>(open: () => Promise<T>): Promise<T> {
  const path = alsaPulseConfigFile();
  if (!path) return open();
  if (opening++ === 0) {
    hostValue = process.env.ALSA_CONFIG_PATH;
    process.env.ALSA_CONFIG_PATH = path;
  }
  try {
    return await open();
  } finally {
    if (--opening === 0) {
      if (hostValue === undefined) delete process.env.ALSA_CONFIG_PATH;
      else process.env.ALSA_CONFIG_PATH = hostValue;
    }
  }
}
