#!/usr/bin/env node
import { setTimeout } from 'node:timers';
import { setFlagsFromString } from 'node:v8';

// node-av's async calls and device reads share the libuv pool: size it before anything uses it.
if (!process.env.UV_THREADPOOL_SIZE || Number(process.env.UV_THREADPOOL_SIZE) < 8) {
  process.env.UV_THREADPOOL_SIZE = '8';
}
// A stream allocates a steady ~1.5 MB/s of short-lived objects. V8 answers that by doubling its young
// generation up to 16 MB a semi-space, about 20 MB of RSS that buys nothing here. Keep it at its initial
// size instead (the growth factor is read at each resize, so setting it now takes effect), unless the
// user sized it themselves (`node --max-semi-space-size=…` or NODE_OPTIONS).
const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
if (!/semi[-_]space/.test(flags)) setFlagsFromString('--semi-space-growth-factor=1');
// V8 optimizes a function once it has run about 200 KB of bytecode (three interrupt budgets). A stream's
// JavaScript runs a few hundred small calls a second, so at the default budget most of it stays
// unoptimized for a minute or more. An eighth of it gets that code optimized within seconds: the main
// thread of a 20 s file restream went from 1.92 to 1.54 CPU s. Only after start-up, though: from the
// start it optimizes module-loading code too, and the first frame went out 0.1-0.2 s later. A budget
// the user chose (`node --interrupt-budget=…`) wins.
if (!/interrupt[-_]budget(?![-_])/.test(flags)) {
  setTimeout(() => setFlagsFromString('--interrupt-budget=8192'), 2000).unref();
}
const { main } = await import('../dist/src/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
