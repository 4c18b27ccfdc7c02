// Lets plain `node` run the project's TypeScript (for scenario scripts run in a network namespace,
// where vitest cannot follow): `node --import ./test/helpers/ts-hooks.mjs scenario.ts`.
// Each file is transpiled on its own with the project's `typescript` (no type check); an import of
// `./x.js` that does not exist resolves to `./x.ts`, as NodeNext source is written.
import { existsSync, readFileSync } from 'node:fs';
import { register } from 'node:module';
import { URL, fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) register(import.meta.url);

/** Resolve hook: `./x.js` → `./x.ts` when only the TypeScript source exists. */
export async function resolve(specifier, context, nextResolve) {
  if (specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('/'))) {
    const tsUrl = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
    const jsUrl = new URL(specifier, context.parentURL);
    if (!existsSync(fileURLToPath(jsUrl)) && existsSync(fileURLToPath(tsUrl))) {
      return { url: tsUrl.href, shortCircuit: true };
    }
  }
  return nextResolve(specifier, context);
}

let ts;

/** Load hook: transpiles `.ts` files to ES modules. */
export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  ts ??= (await import('typescript')).default;
  const source = readFileSync(fileURLToPath(url), 'utf8');
  const output = ts.transpileModule(source, {
    fileName: fileURLToPath(url),
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      sourceMap: false,
      inlineSourceMap: true,
    },
  });
  return { format: 'module', source: output.outputText, shortCircuit: true };
}
