import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Files of the dashboard and the report, by the name the page asks for. */
export type AssetName =
  | 'dashboard.html'
  | 'dashboard.js'
  | 'chart-kit.js'
  | 'charts.js'
  | 'style.css'
  | 'report.js'
  | 'uplot.js'
  | 'uplot.css';

const here = dirname(fileURLToPath(import.meta.url));
// src/observe (tests) or dist/src/observe (the package): web/ is at the package root beside both.
const WEB_DIR = [join(here, '..', '..', 'web'), join(here, '..', '..', '..', 'web')].find((dir) =>
  existsSync(join(dir, 'dashboard.html')),
);

const require = createRequire(import.meta.url);
const cache = new Map<AssetName, string>();

/** The path of an asset: the page's own files from web/, uPlot from its npm package (no network). */
export function assetPath(name: AssetName): string {
  if (name === 'uplot.js') return require.resolve('uplot/dist/uPlot.iife.min.js');
  if (name === 'uplot.css') return require.resolve('uplot/dist/uPlot.min.css');
  if (!WEB_DIR)
    throw new Error('steadycast: the web/ folder of the package is missing (reinstall steadycast)');
  return join(WEB_DIR, name);
}

/** An asset's text, read once. */
export function readAsset(name: AssetName): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(assetPath(name), 'utf8');
    cache.set(name, text);
  }
  return text;
}

/** The MIME type of an asset. */
export function contentTypeOf(name: AssetName): string {
  if (name.endsWith('.html')) return 'text/html; charset=utf-8';
  if (name.endsWith('.css')) return 'text/css; charset=utf-8';
  return 'text/javascript; charset=utf-8';
}
