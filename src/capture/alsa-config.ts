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

let installed: string | null = null;

/**
 * Points this process's ALSA at a generated configuration that reaches PulseAudio, once; returns
 * the plugin directory used, or null when the system has no pulse plugin (Debian: libasound2-plugins).
 * ALSA reads `ALSA_CONFIG_PATH` when it (re)loads its configuration, so this runs before any open.
 */
export function installAlsaPulseConfig(): string | null {
  const pluginDir = findPulsePluginDir();
  if (!pluginDir) return null;
  if (installed && process.env.ALSA_CONFIG_PATH === installed) return pluginDir;
  // One file per content (and user), reused by every run instead of a new temp file each time.
  const text = alsaPulseConfigText(pluginDir);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
  const path = join(tmpdir(), `steadycast-asound-${process.getuid?.() ?? 0}-${hash}.conf`);
  if (!existsSync(path)) {
    const partial = `${path}.${process.pid}`;
    writeFileSync(partial, text);
    renameSync(partial, path);
  }
  process.env.ALSA_CONFIG_PATH = path;
  installed = path;
  return pluginDir;
}
