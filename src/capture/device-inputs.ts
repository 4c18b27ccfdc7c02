import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { Device, Filter, InputFormat } from 'node-av/lib';
import { DeviceError } from '../core/errors.js';
import { findPulsePluginDir, pulseAlsaDevice } from './alsa-config.js';

/** Platforms with a capture path (others get a clear error). */
export type CapturePlatform = 'linux' | 'win32' | 'darwin';

/** A device the platform's FFmpeg input is asked to open. */
export interface DeviceInput {
  /** FFmpeg input format (`x11grab`, `gdigrab`, `lavfi`, `avfoundation`, `alsa`, `dshow`). */
  readonly format: string;
  /** What the input opens (a display, a device name, a filter graph). */
  readonly url: string;
  /** Input options. */
  readonly options: Record<string, string>;
  /** How to name it to a user. */
  readonly label: string;
}

// A capture device is missing, or this build/platform lacks the input that reaches it.
export { DeviceError };

/** Screen capture settings. */
export interface ScreenOptions {
  /** Display (Linux `:0`), monitor index (Windows/macOS), or null for the default. */
  display: string | null;
  /** Region to capture, pixels; null for the whole screen. */
  region: { x: number; y: number; width: number; height: number } | null;
  /** Draw the mouse pointer. */
  drawMouse: boolean;
  /** Frames per second asked of the device. */
  fps: number;
}

/** Throws DeviceError naming the input when this FFmpeg build lacks it. */
export function requireInputFormat(name: string, purpose: string): void {
  if (!InputFormat.findInputFormat(name)) {
    throw new DeviceError(
      `${purpose} needs FFmpeg's "${name}" input, which this node-av build does not include`,
    );
  }
}

function currentPlatform(): CapturePlatform {
  const p = process.platform;
  if (p === 'linux' || p === 'win32' || p === 'darwin') return p;
  throw new DeviceError(`capture is not supported on ${p} (Linux, Windows and macOS are)`);
}

/** Normalises a Linux display: `99`, `:99`, `:99.0` → `:99` / `:99.0`. */
export function normaliseX11Display(display: string): string {
  const trimmed = display.trim();
  return trimmed.startsWith(':') || trimmed.includes(':') ? trimmed : `:${trimmed}`;
}

/** The input that captures a screen on `platform` (pure; `has` tells which inputs exist). */
export function screenInput(
  options: ScreenOptions,
  platform: CapturePlatform,
  env: NodeJS.ProcessEnv,
  has: (input: string) => boolean,
): DeviceInput {
  const fps = String(options.fps);
  const region = options.region;
  const size: Record<string, string> = region ? { video_size: `${region.width}x${region.height}` } : {};
  if (platform === 'linux') {
    const display = normaliseX11Display(options.display ?? env.DISPLAY ?? '');
    if (display === ':') throw new DeviceError('no X display: set $DISPLAY or use --video screen:DISPLAY');
    const offset = region ? `+${region.x},${region.y}` : '';
    return {
      format: 'x11grab',
      url: `${display}${offset}`,
      options: { framerate: fps, draw_mouse: options.drawMouse ? '1' : '0', ...size },
      label: `X display ${display}`,
    };
  }
  if (platform === 'win32') {
    const monitor = options.display ?? '0';
    if (has('ddagrab')) {
      // ddagrab is a filter (Desktop Duplication, D3D11 frames): download to system memory as BGRA.
      const crop = region
        ? `:offset_x=${region.x}:offset_y=${region.y}:video_size=${region.width}x${region.height}`
        : '';
      return {
        format: 'lavfi',
        url: `ddagrab=output_idx=${monitor}:framerate=${fps}:draw_mouse=${options.drawMouse ? 1 : 0}${crop},hwdownload,format=bgra`,
        options: {},
        label: `monitor ${monitor} (ddagrab)`,
      };
    }
    return {
      format: 'gdigrab',
      url: 'desktop',
      options: {
        framerate: fps,
        draw_mouse: options.drawMouse ? '1' : '0',
        ...size,
        ...(region
          ? { offset_x: String(region.x), offset_y: String(region.y) }
          : ({} as Record<string, string>)),
      },
      label: 'desktop (gdigrab)',
    };
  }
  // avfoundation names screens "Capture screen N"; the index is the device list's.
  const screen = options.display ?? 'Capture screen 0';
  return {
    format: 'avfoundation',
    url: `${screen}:none`,
    options: {
      framerate: fps,
      capture_cursor: options.drawMouse ? '1' : '0',
      pixel_format: 'bgr0',
    },
    label: `screen ${screen} (avfoundation)`,
  };
}

/** Opens-ready input for a screen on this machine, checking the build has it. */
export function resolveScreenInput(options: ScreenOptions): DeviceInput {
  const platform = currentPlatform();
  const has = (name: string): boolean =>
    name === 'ddagrab'
      ? Filter.getByName('ddagrab') !== null && !!InputFormat.findInputFormat('lavfi')
      : !!InputFormat.findInputFormat(name);
  const input = screenInput(options, platform, process.env, has);
  requireInputFormat(input.format, `screen capture on ${platform}`);
  if (platform === 'linux') {
    const display = input.url.replace(/\+.*$/, '');
    const number = /^:(\d+)/.exec(display)?.[1];
    if (number !== undefined && !existsSync(`/tmp/.X11-unix/X${number}`)) {
      const available = x11Displays();
      throw new DeviceError(
        `no X server on display ${display}; available: ${available.length ? available.join(', ') : 'none'}`,
      );
    }
  }
  return input;
}

/** Which audio a device source captures. */
export type AudioDeviceKind = 'system' | 'mic';

/** The input that captures `kind` audio (`name` picks one device) on `platform` (pure). */
export function audioInput(
  kind: AudioDeviceKind,
  name: string | null,
  platform: CapturePlatform,
): DeviceInput {
  if (platform === 'linux') {
    // Through ALSA's pulse plugin: PulseAudio (and PipeWire's pulse server) name the defaults.
    const source = name ?? (kind === 'system' ? '@DEFAULT_MONITOR@' : '@DEFAULT_SOURCE@');
    return { format: 'alsa', url: pulseAlsaDevice(source), options: { sample_rate: '48000' }, label: source };
  }
  if (platform === 'win32') {
    // dshow has no loopback: system audio needs a capture device that carries it ("Stereo Mix", a virtual cable).
    if (!name) {
      throw new DeviceError(
        kind === 'system'
          ? 'system audio on Windows needs a loopback capture device (e.g. "Stereo Mix"): use --audio mic:NAME with its name (--list-devices)'
          : 'name the microphone on Windows: --audio mic:NAME (--list-devices lists them)',
      );
    }
    return { format: 'dshow', url: `audio=${name}`, options: {}, label: name };
  }
  if (kind === 'system' && !name) {
    throw new DeviceError(
      'system audio on macOS needs a loopback device (e.g. BlackHole): use --audio mic:NAME with its name (--list-devices)',
    );
  }
  const device = name ?? 'default';
  return { format: 'avfoundation', url: `:${device}`, options: {}, label: device };
}

/** Opens-ready input for audio on this machine (on Linux, checks ALSA's pulse plugin is there). */
export function resolveAudioInput(kind: AudioDeviceKind, name: string | null): DeviceInput {
  const platform = currentPlatform();
  const input = audioInput(kind, name, platform);
  requireInputFormat(input.format, `audio capture on ${platform}`);
  if (platform === 'linux' && !findPulsePluginDir()) {
    throw new DeviceError(
      "audio capture on Linux goes through ALSA's PulseAudio plugin, which is not installed (Debian/Ubuntu: libasound2-plugins)",
    );
  }
  return input;
}

/** What `--list-devices` shows. */
export interface DeviceList {
  /** Screens (displays or monitors) that `--video screen:X` takes. */
  readonly screens: readonly string[];
  /** Audio capture devices that `--audio mic:NAME` takes. */
  readonly audio: readonly { name: string; description: string }[];
  /** Remarks about what could not be listed. */
  readonly notes: readonly string[];
}

/** X displays with a local socket. */
export function x11Displays(): string[] {
  try {
    return readdirSync('/tmp/.X11-unix')
      .filter((f) => /^X\d+$/.test(f))
      .map((f) => `:${f.slice(1)}`);
  } catch {
    return [];
  }
}

/** Lists what this machine can capture. */
export async function listDevices(): Promise<DeviceList> {
  const platform = currentPlatform();
  const notes: string[] = [];
  if (platform === 'linux') {
    const screens = x11Displays();
    if (!InputFormat.findInputFormat('x11grab'))
      notes.push('this FFmpeg build has no x11grab: no screen capture');
    const audio = await pulseSources();
    if (!audio)
      notes.push(
        'PulseAudio sources could not be listed (is a PulseAudio/PipeWire server running? pactl installed?)',
      );
    if (!findPulsePluginDir()) notes.push("ALSA's pulse plugin is missing (Debian: libasound2-plugins)");
    return { screens, audio: audio ?? [], notes };
  }
  const devices = await Device.list().catch((error: unknown) => {
    notes.push(`device listing failed: ${(error as Error).message}`);
    return [];
  });
  const screens = devices.filter((d) => d.type === 'screen').map((d) => d.name);
  if (platform === 'win32') screens.unshift('0 (primary monitor)');
  const audio = devices
    .filter((d) => d.type === 'audio')
    .map((d) => ({ name: d.name, description: d.description }));
  return { screens, audio, notes };
}

/** PulseAudio's capture sources (`pactl list short sources`), or null when it cannot be asked. */
export function pulseSources(): Promise<{ name: string; description: string }[] | null> {
  return new Promise((resolve) => {
    execFile('pactl', ['list', 'short', 'sources'], { timeout: 5000 }, (error, stdout) => {
      if (error) {
        resolve(null);
        return;
      }
      resolve(
        stdout
          .split('\n')
          .map((line) => line.split('\t'))
          .filter((cols) => cols.length >= 2 && cols[1])
          .map((cols) => ({
            name: cols[1] as string,
            description: (cols[1] as string).endsWith('.monitor')
              ? 'monitor of an output (system audio)'
              : 'input',
          })),
      );
    });
  });
}
