// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, lowest first: each folder may import only the folders listed for it, so the
 * dependencies point one way (docs/architecture.md, "Layers"). `streamer.ts` and `index.ts` at the
 * root assemble everything; only the CLI may import them.
 */
const layers = {
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
  // The dashboard and metrics; it also reads the Streamer's types (type-only, see below).
  observe: ['core', 'media', 'amf0', 'flv', 'rtmp'],
};
/** Layers that may import the root's types (`import type` only): they describe what the Streamer emits. */
const rootTypesAllowed = new Set(['observe']);
/** Layers that stay free of FFmpeg: pure protocol and timing code. */
const withoutFfmpeg = new Set(['core', 'media', 'amf0', 'flv', 'rtmp']);
const folders = [...Object.keys(layers), 'cli'];
// The root modules (streamer.ts, streamer-options.ts, index.ts), seen from a layer's folder.
const rootModules = ['../*.js', '../../*.js'];

/** node-av's entry point also loads its high-level API, which we do not use: 85 ms at every start. */
const nodeAvEntry = {
  name: 'node-av',
  message: "Import from 'node-av/lib': 'node-av' also loads its high-level API (85 ms at every start).",
};

/** One config block per layer: a `no-restricted-imports` naming every folder it must not reach. */
function layerRules() {
  return Object.entries(layers).map(([layer, allowed]) => {
    const forbidden = folders.filter((folder) => folder !== layer && !allowed.includes(folder));
    const message = `${allowed.length ? `src/${layer} may import only ${allowed.join(', ')}` : `src/${layer} imports nothing else of ours`}: the layers point one way (docs/architecture.md).`;
    const patterns = [
      { group: forbidden.flatMap((folder) => [`../${folder}/*`, `../../${folder}/*`]), message },
      { group: rootModules, message, allowTypeImports: rootTypesAllowed.has(layer) },
    ];
    if (withoutFfmpeg.has(layer)) {
      patterns.push({ group: ['node-av', 'node-av/*'], message: `src/${layer} stays free of FFmpeg.` });
    }
    return {
      files: [`src/${layer}/**/*.ts`],
      rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns, paths: [nodeAvEntry] }] },
    };
  });
}

export { layers };

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'reports/', '.stryker-tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/core/monotonic-clock.ts'],
    rules: {
      // Time is injected: only MonotonicClock touches the real clock, so tests run on a fake one.
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Take a Clock instead.' },
        { object: 'performance', property: 'now', message: 'Take a Clock instead.' },
      ],
      // Clock.setTimer also chains past setTimeout's 24.8-day limit, which a bare setTimeout overflows.
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use Clock.setTimer (or sleep) instead.' },
        { name: 'setInterval', message: 'Use Clock.setTimer instead.' },
      ],
    },
  },
  ...layerRules(),
  {
    files: ['src/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [nodeAvEntry],
          patterns: [
            { group: ['./cli/*'], message: 'The library does not import the CLI; the CLI imports it.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [nodeAvEntry] }] },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
