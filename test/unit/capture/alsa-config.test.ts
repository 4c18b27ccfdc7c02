import { describe, expect, it } from 'vitest';
import {
  alsaPulseConfigText,
  findPulsePluginDir,
  pulseAlsaDevice,
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
