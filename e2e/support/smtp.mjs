// A tiny SMTP server on 127.0.0.1 that accepts every message and keeps it, so a browser test
// can read the emails the app really sends (the demo is started with --smtp-url pointing
// here). Nothing about the app changes for the test: the mail worker delivers as it would to
// any SMTP server.
//
//   const sink = await startSmtpSink();
//   ... startServer({ extraArgs: ['--smtp-url', sink.url] }) ...
//   const email = await sink.waitFor((m) => m.to.includes('someone@example.com'));
//   await sink.close();

import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Decode a quoted-printable body (RFC 2045 §6.7). */
function fromQuotedPrintable(text) {
  const bytes = [];
  const soft = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < soft.length; i += 1) {
    if (soft[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(soft[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The headers (unfolded, names lower-cased) and the decoded text of one MIME part. */
function parsePart(raw) {
  const split = raw.indexOf('\n\n');
  const head = split === -1 ? raw : raw.slice(0, split);
  const body = split === -1 ? '' : raw.slice(split + 2);
  const headers = {};
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const encoding = (headers['content-transfer-encoding'] ?? '').toLowerCase();
  let text = body;
  if (encoding === 'quoted-printable') text = fromQuotedPrintable(body);
  else if (encoding === 'base64') text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return { headers, text };
}

/** One received message: envelope, headers, and the text of its first text/plain part. */
function parseMessage(envelope, data) {
  const { headers, text } = parsePart(data);
  let body = text;
  const boundary = /boundary="?([^";]+)"?/i.exec(headers['content-type'] ?? '')?.[1];
  if (boundary) {
    const plain = data
      .split(`--${boundary}`)
      .slice(1)
      .map((part) => parsePart(part.replace(/^\n/, '')))
      .find((part) => (part.headers['content-type'] ?? '').startsWith('text/plain'));
    body = plain?.text ?? '';
  }
  return { ...envelope, subject: headers.subject ?? '', headers, body };
}

/**
 * Start the sink.
 * @returns {Promise<{url: string, messages: object[], waitFor: Function, close: Function}>}
 */
export async function startSmtpSink() {
  const messages = [];
  const sockets = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setEncoding('utf8');
    let buffer = '';
    let data = null; // lines of the message while in DATA
    let envelope = { from: '', to: [] };
    const reply = (line) => socket.write(`${line}\r\n`);
    reply('220 sink.test ESMTP');
    socket.on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\r\n')) !== -1) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (data !== null) {
          if (line === '.') {
            messages.push(parseMessage(envelope, data.join('\n')));
            data = null;
            envelope = { from: '', to: [] };
            reply('250 OK: queued');
          } else {
            data.push(line.startsWith('..') ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') reply('250 sink.test');
        else if (verb === 'MAIL') {
          envelope.from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          reply('250 OK');
        } else if (verb === 'RCPT') {
          envelope.to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          reply('250 OK');
        } else if (verb === 'DATA') {
          data = [];
          reply('354 End data with <CR><LF>.<CR><LF>');
        } else if (verb === 'QUIT') {
          reply('221 Bye');
          socket.end();
        } else reply('250 OK');
      }
    });
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address();

  /** The first message (oldest first) matching `predicate`, waiting up to `timeoutMs`. */
  async function waitFor(predicate, { timeoutMs = 20_000, what = 'a matching email' } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = messages.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) {
        const seen = messages.map((m) => `${m.to.join(',')}: ${m.subject}`);
        throw new Error(`no ${what} within ${timeoutMs / 1000} s; the sink has ${JSON.stringify(seen)}`);
      }
      await sleep(100);
    }
  }

  async function close() {
    for (const socket of sockets) socket.destroy();
    await new Promise((ok) => server.close(ok));
  }

  return { url: `smtp://127.0.0.1:${port}`, messages, waitFor, close };
}
