import { describe, expect, it } from 'vitest';
import {
  audioInput,
  DeviceError,
  normaliseX11Display,
  screenInput,
} from '../../../src/capture/device-inputs.js';

const whole = { display: null, region: null, drawMouse: false, fps: 30 };

describe('device inputs by platform', () => {
  it('captures $DISPLAY with x11grab on Linux, with region offset and cursor setting', () => {
    expect(screenInput(whole, 'linux', { DISPLAY: ':0' }, () => true)).toMatchObject({
      format: 'x11grab',
      url: ':0',
      options: { framerate: '30', draw_mouse: '0' },
    });
    const region = {
      ...whole,
      display: '99',
      region: { x: 10, y: 20, width: 640, height: 360 },
      drawMouse: true,
    };
    expect(screenInput(region, 'linux', {}, () => true)).toMatchObject({
      url: ':99+10,20',
      options: { video_size: '640x360', draw_mouse: '1' },
    });
  });

  it('refuses a Linux screen without any display, naming the fix', () => {
    expect(() => screenInput(whole, 'linux', {}, () => true)).toThrow(DeviceError);
    expect(() => screenInput(whole, 'linux', {}, () => true)).toThrow(/DISPLAY/);
  });

  it('uses ddagrab on Windows when the build has it, gdigrab otherwise', () => {
    expect(screenInput(whole, 'win32', {}, () => true)).toMatchObject({ format: 'lavfi' });
    expect(screenInput(whole, 'win32', {}, () => true).url).toMatch(
      /^ddagrab=output_idx=0.*hwdownload,format=bgra$/,
    );
    expect(screenInput(whole, 'win32', {}, (name) => name !== 'ddagrab')).toMatchObject({
      format: 'gdigrab',
      url: 'desktop',
    });
  });

  it('uses avfoundation on macOS', () => {
    expect(screenInput({ ...whole, display: '1' }, 'darwin', {}, () => true)).toMatchObject({
      format: 'avfoundation',
      url: '1:none',
    });
  });

  it('normalises X display names', () => {
    expect(normaliseX11Display('99')).toBe(':99');
    expect(normaliseX11Display(':1.0')).toBe(':1.0');
    expect(normaliseX11Display('host:0')).toBe('host:0');
  });

  it('maps system audio and the microphone to PulseAudio defaults on Linux, or to a named source', () => {
    expect(audioInput('system', null, 'linux')).toMatchObject({
      format: 'alsa',
      url: 'pulse:DEVICE="@DEFAULT_MONITOR@"',
    });
    expect(audioInput('mic', null, 'linux')).toMatchObject({ url: 'pulse:DEVICE="@DEFAULT_SOURCE@"' });
    expect(audioInput('mic', 'usb_mic', 'linux').url).toBe('pulse:DEVICE="usb_mic"');
  });

  it('uses dshow and avfoundation elsewhere, and explains that system audio needs a loopback device there', () => {
    expect(audioInput('mic', 'Microphone (USB)', 'win32')).toMatchObject({
      format: 'dshow',
      url: 'audio=Microphone (USB)',
    });
    expect(() => audioInput('system', null, 'win32')).toThrow(/loopback/);
    expect(audioInput('mic', null, 'darwin')).toMatchObject({ format: 'avfoundation', url: ':default' });
    expect(() => audioInput('system', null, 'darwin')).toThrow(/BlackHole/);
  });
});
