import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';

/** The layering the project promises (docs/architecture.md): what each folder of src/ may import. */
const allowed: Record<string, readonly string[]> = {
  core: [],
  media: [],
  amf0: ['core'],
  ffmpeg: ['core', 'media'],
  flv: ['core', 'media', 'amf0'],
  rtmp: ['core', 'media', 'amf0', 'flv'],
  capture: ['core', 'media', 'ffmpeg'],
  encode: ['core', 'media', 'ffmpeg'],
  output: ['core', 'media', 'amf0', 'flv', 'rtmp'],
  session: ['core', 'media', 'amf0', 'flv', 'rtmp', 'ffmpeg', 'capture', 'encode', 'output'],
  observe: ['core', 'media', 'amf0', 'flv', 'rtmp'],
};

const eslint = new ESLint();
const srcFolders = readdirSync('src', { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

async function restricted(
  filePath: string,
  specifier: string,
  kind: 'type' | 'value' = 'type',
): Promise<boolean> {
  const code =
    kind === 'type'
      ? `import type { Probe } from '${specifier}';\nexport type Again = Probe;\n`
      : `import { probe } from '${specifier}';\nexport const again = probe;\n`;
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).some((m) => m.ruleId?.endsWith('no-restricted-imports'));
}

describe('the layers of src/, enforced by lint', () => {
  it('covers every folder of src/ but the CLI', () => {
    const listed = Object.keys(allowed);
    expect(srcFolders.filter((f) => f !== 'cli' && !listed.includes(f))).toEqual([]);
  });

  it.each(Object.entries(allowed))('src/%s reaches only the folders below it', async (layer, below) => {
    for (const folder of [...new Set([...srcFolders, ...Object.keys(allowed), 'cli'])]) {
      if (folder === layer) continue;
      const expected = !below.includes(folder);
      expect([folder, await restricted(`src/${layer}/probe.ts`, `../${folder}/probe.js`)]).toEqual([
        folder,
        expected,
      ]);
    }
    expect(await restricted(`src/${layer}/probe.ts`, '../streamer.js', 'value')).toBe(true);
    expect(await restricted(`src/${layer}/probe.ts`, '../streamer-options.js', 'value')).toBe(true);
    expect(await restricted(`src/${layer}/probe.ts`, `./probe-too.js`)).toBe(false);
  });

  it("lets only the dashboard read the Streamer's types, and only as types", async () => {
    expect(await restricted('src/observe/probe.ts', '../streamer.js', 'type')).toBe(false);
    expect(await restricted('src/observe/probe.ts', '../streamer-options.js', 'type')).toBe(false);
    expect(await restricted('src/observe/probe.ts', '../streamer.js', 'value')).toBe(true);
    expect(await restricted('src/output/probe.ts', '../streamer-options.js', 'type')).toBe(true);
    expect(await restricted('src/streamer.ts', './observe/probe.js', 'value')).toBe(false);
  });

  it('keeps FFmpeg out of the protocol and timing layers', async () => {
    for (const layer of ['core', 'media', 'amf0', 'flv', 'rtmp']) {
      expect([layer, await restricted(`src/${layer}/probe.ts`, 'node-av')]).toEqual([layer, true]);
    }
    expect(await restricted('src/encode/probe.ts', 'node-av/lib')).toBe(false);
  });

  it("imports node-av's low-level API, not the package's entry point (it loads the high-level API too)", async () => {
    for (const file of ['src/encode/probe.ts', 'src/capture/probe.ts', 'src/cli/probe.ts', 'src/probe.ts']) {
      expect([file, await restricted(file, 'node-av')]).toEqual([file, true]);
    }
    expect(await restricted('src/capture/probe.ts', 'node-av/constants')).toBe(false);
  });

  it('lets the CLI import the library, and not the other way round', async () => {
    expect(await restricted('src/cli/probe.ts', '../streamer.js')).toBe(false);
    expect(await restricted('src/cli/probe.ts', '../session/media-session.js')).toBe(false);
    expect(await restricted('src/streamer.ts', './cli/main.js')).toBe(true);
    expect(await restricted('src/streamer.ts', './session/media-session.js')).toBe(false);
  });
});
