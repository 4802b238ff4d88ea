// The Nu HTML Checker (vnu.jar from the vnu-jar npm package, run with the system's Java 11+):
// raw HTML files in, each error as "path:line: message" out.

import { spawn } from 'node:child_process';
import vnuJar from 'vnu-jar';

const JAVA = process.env.JAVA || 'java';
/** The jar's path (the package exports it). */
export const VNU_JAR = String(vnuJar);

/** Run vnu.jar on `files`; resolves with its parsed JSON report (vnu writes JSON to stderr). */
function runVnu(files) {
  return new Promise((resolve, reject) => {
    const child = spawn(JAVA, ['-jar', VNU_JAR, '--errors-only', '--format', 'json', ...files], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', (error) =>
      reject(new Error(`could not run ${JAVA} (Java 11 or later is needed for vnu.jar): ${error.message}`)),
    );
    child.once('close', (code) => {
      // Exit 0: no errors; exit 1: errors found. Anything else is vnu itself failing.
      const json = stderr.trim() || stdout.trim();
      try {
        resolve(JSON.parse(json));
      } catch {
        reject(new Error(`vnu.jar exited ${code} without a JSON report:\n${stdout}\n${stderr}`));
      }
    });
  });
}

/**
 * Check the HTML files `fileToPath` names (file path → the page's path, for messages); every
 * error and warning vnu reports, as "path:line:column: type: message" with its extract.
 */
export async function vnuErrors(fileToPath) {
  const report = await runVnu([...fileToPath.keys()]);
  return (report.messages ?? [])
    .filter((message) => message.type !== 'info')
    .map((message) => {
      const file = (message.url ?? '').replace(/^file:/, '');
      const path = fileToPath.get(file) ?? message.url ?? '(vnu)';
      const where = message.lastLine ? `:${message.lastLine}:${message.firstColumn ?? message.lastColumn ?? ''}` : '';
      const extract = message.extract ? `\n      ${JSON.stringify(message.extract)}` : '';
      return `${path}${where}: ${message.type}${message.subType ? `/${message.subType}` : ''}: ${message.message}${extract}`;
    });
}
