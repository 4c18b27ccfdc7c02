import { describe, expect, it } from 'vitest';
import {
  formatDeviceList,
  parseAudioChoice,
  parseAudioChoices,
  parseVideoChoice,
  toAudioSourceChoices,
  toVideoSourceChoice,
} from '../../../src/cli/sources.js';
import { ConfigError } from '../../../src/core/errors.js';

describe('CLI source choices', () => {
  it.each([
    ['test', { kind: 'test' }],
    ['none', { kind: 'none' }],
    ['screen', { kind: 'screen', display: null }],
    ['screen::1', { kind: 'screen', display: ':1' }],
    ['screen:2', { kind: 'screen', display: '2' }],
    ['file:/tmp/a b.mp4', { kind: 'file', path: '/tmp/a b.mp4' }],
  ])('parses --video %s', (text, expected) => {
    expect(parseVideoChoice(text)).toEqual(expected);
  });

  it.each(['', 'screen:', 'file:', 'camera', 'Test'])('rejects --video %j, listing the choices', (text) => {
    expect(() => parseVideoChoice(text)).toThrow(ConfigError);
    expect(() => parseVideoChoice(text)).toThrow(/screen\[:DISPLAY_OR_INDEX\], file:PATH, test or none/);
  });

  it.each([
    ['system', { kind: 'system', device: null }],
    ['system:sink.monitor', { kind: 'system', device: 'sink.monitor' }],
    ['mic', { kind: 'mic', device: null }],
    ['mic:alsa_input.usb-Blue:1', { kind: 'mic', device: 'alsa_input.usb-Blue:1' }],
    ['file', { kind: 'file', path: null }],
    ['file:/x.wav', { kind: 'file', path: '/x.wav' }],
    ['tone', { kind: 'tone' }],
    ['silence', { kind: 'silence' }],
  ])('parses --audio %s', (text, expected) => {
    expect(parseAudioChoice(text)).toEqual(expected);
  });

  it.each(['mic:', 'speaker', 'system:'])('rejects --audio %j', (text) => {
    expect(() => parseAudioChoice(text)).toThrow(ConfigError);
  });

  it('mixes repeated --audio values, and refuses none among others', () => {
    expect(parseAudioChoices(['system', 'mic'])).toHaveLength(2);
    expect(parseAudioChoices(['none'])).toEqual([]);
    expect(() => parseAudioChoices(['none', 'tone'])).toThrow(/cannot be mixed/);
  });

  it('turns parsed choices into Streamer choices', () => {
    expect(toVideoSourceChoice({ kind: 'screen', display: null }, false)).toEqual({ screen: null });
    expect(toVideoSourceChoice({ kind: 'file', path: 'a.mp4' }, true)).toEqual({ file: 'a.mp4', loop: true });
    expect(toVideoSourceChoice({ kind: 'none' }, false)).toBeNull();
    expect(
      toAudioSourceChoices(parseAudioChoices(['system', 'mic:m1', 'file', 'file:b.wav', 'tone']), true),
    ).toEqual([
      { device: 'system', name: null },
      { device: 'mic', name: 'm1' },
      'file',
      { file: 'b.wav', loop: true },
      'tone',
    ]);
  });

  it('prints the device list with notes', () => {
    const text = formatDeviceList({
      screens: [':0'],
      audio: [{ name: 'sink.monitor', description: 'monitor of an output (system audio)' }],
      notes: ['x'],
    });
    expect(text).toContain('  :0');
    expect(text).toContain('  sink.monitor  — monitor of an output (system audio)');
    expect(text).toContain('note: x');
  });
});
