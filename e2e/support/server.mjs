// Starts the Anteroom demo server for one test file and stops it again.
//
//   const server = await startServer({ name: 'site' });
//   ... server.url is e.g. "http://127.0.0.1:41234" ...
//   await server.stop();
//
// The binary comes from ANTEROOM_BIN (cargo xtask e2e sets it). The clock and the demo
// password are pinned so every run sees the same practice. The server's output is appended
// to artifacts/server.log, one header line per start.

import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { accessSync, closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ARTIFACTS } from './paths.mjs';

/** The demo clock: a Thursday morning, before the spring clock change. */
export const DEMO_NOW = '2027-03-25T09:00:00Z';
/** The password of the demo staff account. */
export const DEMO_PASSWORD = 'e2e-demo-password-1';
/** The demo staff account. */
export const DEMO_EMAIL = 'therapist@example.com';

const READY_DEADLINE_MS = 30_000;
const POLL_INTERVAL_MS = 100;
const STOP_GRACE_MS = 10_000;
export const SERVER_LOG = resolve(ARTIFACTS, 'server.log');

/** The path of the anteroom binary, or a clear error saying how to provide it. */
export function anteroomBinary() {
  const bin = process.env.ANTEROOM_BIN;
  if (!bin) {
    throw new Error(
      'ANTEROOM_BIN is not set. Set it to the anteroom binary, for example\n' +
        '  ANTEROOM_BIN=/path/to/target/debug/anteroom node --test --test-concurrency=1 tests/\n' +
        'or run `cargo xtask e2e`, which builds the binary and sets it.',
    );
  }
  const path = resolve(bin);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`ANTEROOM_BIN=${bin} is not an executable file (looked at ${path}).`);
  }
  return path;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort() {
  const probe = createServer();
  await new Promise((ok, fail) => {
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', ok);
  });
  const { port } = probe.address();
  await new Promise((ok) => probe.close(ok));
  return port;
}

/** The last lines this server wrote to the log (from byte `from` on), for error messages. */
function logTail(from, lines = 40) {
  try {
    const text = readFileSync(SERVER_LOG).subarray(from).toString('utf8').trimEnd();
    return text === '' ? '(the server printed nothing)' : text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
}

/**
 * GET http://127.0.0.1:<port><path> with the given Host header (Node cannot resolve
 * NAME.localhost by itself; Chromium can). Resolves to {status, headers, body}.
 */
export function getWithHost(port, host, path, { timeout = 2_000 } = {}) {
  return new Promise((ok, fail) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', headers: { host }, timeout }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => ok({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout} ms`)));
    req.on('error', fail);
    req.end();
  });
}

/**
 * Start `anteroom demo` on a free port and wait until it answers GET /robots.txt with 200.
 * With `readyHost` (for `--hosted`, where practices are found by the Host header), the
 * readiness probe is sent with `Host: <readyHost>:<port>` instead.
 * @param {{name?: string, extraArgs?: string[], readyHost?: string}} [options]
 * @returns {Promise<{url: string, origin: string, port: number, pid: number, stop: () => Promise<void>}>}
 */
export async function startServer({ name = 'e2e', extraArgs = [], readyHost } = {}) {
  const bin = anteroomBinary();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    'demo',
    '--listen',
    `127.0.0.1:${port}`,
    '--now',
    DEMO_NOW,
    '--demo-password',
    DEMO_PASSWORD,
    ...extraArgs,
  ];

  // Keep the run hermetic: no ANTEROOM_* settings leak in from the caller's shell.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('ANTEROOM_')),
  );
  env.ANTEROOM_DEMO_PASSWORD = DEMO_PASSWORD;

  mkdirSync(ARTIFACTS, { recursive: true });
  const log = openSync(SERVER_LOG, 'a');
  writeSync(log, `\n=== ${new Date().toISOString()} [${name}] ${bin} ${args.join(' ')}\n`);
  const logStart = fstatSync(log).size;
  const child = spawn(bin, args, { env, stdio: ['ignore', log, log] });
  closeSync(log); // the child holds its own copy of the descriptor

  let exited = null; // {code, signal} once the process has gone
  const exit = new Promise((ok) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      ok(exited);
    });
  });
  const spawnError = new Promise((_, fail) => child.once('error', fail));
  spawnError.catch(() => {}); // observed below; avoid an unhandled rejection
  // If the test process dies without calling stop(), do not leave the server behind.
  const killOnExit = () => {
    if (exited === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  process.once('exit', killOnExit);

  async function stop() {
    process.removeListener('exit', killOnExit);
    if (exited !== null || child.pid === undefined) return;
    process.kill(child.pid, 'SIGTERM');
    const timer = sleep(STOP_GRACE_MS, 'timeout');
    if ((await Promise.race([exit, timer])) === 'timeout') {
      process.kill(child.pid, 'SIGKILL');
      await exit;
    }
  }

  const deadline = Date.now() + READY_DEADLINE_MS;
  let lastProblem = 'no answer yet';
  for (;;) {
    if (exited !== null) {
      throw new Error(
        `anteroom demo exited before it was ready (code ${exited.code}, signal ${exited.signal}).\n` +
          `Command: ${bin} ${args.join(' ')}\nIts output (${SERVER_LOG}):\n${logTail(logStart)}`,
      );
    }
    try {
      let status;
      if (readyHost) {
        ({ status } = await Promise.race([getWithHost(port, `${readyHost}:${port}`, '/robots.txt'), spawnError]));
      } else {
        const response = await Promise.race([
          fetch(`${url}/robots.txt`, { redirect: 'manual', signal: AbortSignal.timeout(2_000) }),
          spawnError,
        ]);
        await response.arrayBuffer();
        status = response.status;
      }
      if (status === 200) break;
      lastProblem = `GET /robots.txt answered ${status}`;
    } catch (error) {
      if (error?.code === 'ENOENT' || error?.code === 'EACCES') {
        throw new Error(`could not start ${bin}: ${error.message}`);
      }
      lastProblem = error?.cause?.code ?? error?.message ?? String(error);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `anteroom demo was not ready within ${READY_DEADLINE_MS / 1000} s at ${url} ` +
          `(last: ${lastProblem}).\nIts output (${SERVER_LOG}):\n${logTail(logStart)}`,
      );
    }
    await sleep(POLL_INTERVAL_MS);
  }

  return { url, origin: new URL(url).origin, port, pid: child.pid, stop };
}
