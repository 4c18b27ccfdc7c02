#!/usr/bin/env node
// node-av's async calls and device reads share the libuv pool: size it before anything uses it.
if (!process.env.UV_THREADPOOL_SIZE || Number(process.env.UV_THREADPOOL_SIZE) < 8) {
  process.env.UV_THREADPOOL_SIZE = '8';
}
const { main } = await import('../dist/src/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
