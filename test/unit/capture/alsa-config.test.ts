import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  alsaPulseConfigFile,
  alsaPulseConfigText,
  findPulsePluginDir,
  pulseAlsaDevice,
  withAlsaPulseConfig,
} from '../../../src/capture/alsa-config.js';

describe('ALSA configuration for PulseAudio', () => {
  it('finds the first plugin directory that holds the pulse plugin', () => {
    const present = new Set(['/usr/lib64/alsa-lib/libasound_module_pcm_pulse.so']);
    expect(
      findPulsePluginDir(['/usr/lib/x86_64-linux-gnu/alsa-lib', '/usr/lib64/alsa-lib'], (p) =>
        present.has(p),
      ),
    ).toBe('/usr/lib64/alsa-lib');
    expect(findPulsePluginDir(['/nowhere'], () => false)).toBeNull();
  });

  it('names the plugins by absolute path and does not include the system configuration', () => {
    const text = alsaPulseConfigText('/usr/lib/x86_64-linux-gnu/alsa-lib');
    expect(text).toContain(
      'pcm_type.pulse { lib "/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so" }',
    );
    expect(text).toContain(
      'ctl_type.pulse { lib "/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_ctl_pulse.so" }',
    );
    expect(text).toContain('pcm.!default pulse');
    // The system's alsa.conf loads a pulse hook by a relative name, which node-av's ALSA cannot find.
    expect(text).not.toMatch(/<.*alsa\.conf>/);
  });

  it('quotes PulseAudio source names in the ALSA device name', () => {
    expect(pulseAlsaDevice('@DEFAULT_MONITOR@')).toBe('pulse:DEVICE="@DEFAULT_MONITOR@"');
    expect(pulseAlsaDevice('alsa_output.pci-0000_00_1f.3.analog-stereo.monitor')).toBe(
      'pulse:DEVICE="alsa_output.pci-0000_00_1f.3.analog-stereo.monitor"',
    );
  });
});

describe('ALSA_CONFIG_PATH is in force only while a device opens', () => {
  // Debian: libasound2-plugins. Under CI=true a missing plugin fails the suite instead of skipping.
  const hasPlugin = findPulsePluginDir() !== null || process.env.CI === 'true';

  it.runIf(hasPlugin)('points ALSA at the generated file during the open, and unsets it after', async () => {
    delete process.env.ALSA_CONFIG_PATH;
    let during: string | undefined;
    const result = await withAlsaPulseConfig(async () => {
      await new Promise((r) => setTimeout(r, 5));
      during = process.env.ALSA_CONFIG_PATH;
      return 42;
    });
    expect(result).toBe(42);
    expect(during).toBe(alsaPulseConfigFile());
    expect(readFileSync(during as string, 'utf8')).toContain('pcm.!default pulse');
    expect(process.env.ALSA_CONFIG_PATH).toBeUndefined();
  });

  it.runIf(hasPlugin)(
    "puts back the host's own value, after overlapping opens and after a failed one",
    async () => {
      process.env.ALSA_CONFIG_PATH = '/etc/host-asound.conf';
      try {
        let release: () => void = () => undefined;
        const first = withAlsaPulseConfig(() => new Promise<void>((r) => (release = r)));
        const second = withAlsaPulseConfig(async () => {
          throw new Error('device busy');
        });
        await expect(second).rejects.toThrow('device busy');
        expect(process.env.ALSA_CONFIG_PATH).toBe(alsaPulseConfigFile()); // the first open still needs it
        release();
        await first;
        expect(process.env.ALSA_CONFIG_PATH).toBe('/etc/host-asound.conf');
      } finally {
        delete process.env.ALSA_CONFIG_PATH;
      }
    },
  );

  it('is not touched by loading the library or listing what the platform needs', () => {
    expect(process.env.ALSA_CONFIG_PATH).toBeUndefined();
  });
});
