#!/usr/bin/env node
/**
 * qaboard-edge upload <output-dir> --output <id> [--presign-over <bytes>] [--concurrency <n>]
 *
 * Uploads an output's files (after `qa run`) to a QA-Board Edge server whose project keeps its files
 * in R2: each file by `PUT /api/v1/output/<id>/files/<path>` with its SHA-256, files larger than
 * --presign-over (default 50 MB) straight to R2 through `files:sign`. The server is the qa CLI's:
 * QABOARD_PROTOCOL (default https) and QABOARD_HOST (`[user:token@]host[:port]`), or QABOARD_TOKEN.
 * A `manifest.outputs.json` in the folder is sent last (the server then serves it); without one the
 * server lists the files again. Plain Node (>= 20), no dependencies.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';

const MANIFEST = 'manifest.outputs.json';

function usage(message) {
  if (message) console.error(`qaboard-edge: ${message}`);
  console.error('usage: qaboard-edge upload <output-dir> --output <id> [--presign-over <bytes>] [--concurrency <n>]');
  process.exit(2);
}

function parseArguments(argv) {
  const [command, folder, ...rest] = argv;
  if (command !== 'upload' || !folder) usage();
  const options = { folder, output: undefined, presignOver: 50 * 1024 * 1024, concurrency: 4 };
  for (let i = 0; i < rest.length; i += 2) {
    const [flag, value] = [rest[i], rest[i + 1]];
    if (value === undefined) usage(`${flag} needs a value`);
    if (flag === '--output') options.output = value;
    else if (flag === '--presign-over') options.presignOver = Number(value);
    else if (flag === '--concurrency') options.concurrency = Number(value);
    else usage(`unknown option ${flag}`);
  }
  if (!/^\d+$/.test(options.output ?? '')) usage('--output <id> is required (the output id `qa run` printed or the API returned)');
  if (!Number.isFinite(options.presignOver) || !(options.concurrency >= 1)) usage('--presign-over and --concurrency take numbers');
  return options;
}

/** The server and its credential, as the qa CLI reads them. */
function server() {
  const host = process.env.QABOARD_HOST;
  if (!host) usage('set QABOARD_HOST (and QABOARD_PROTOCOL=http for a local server)');
  const url = new URL(`${process.env.QABOARD_PROTOCOL ?? 'https'}://${host}`);
  const token = process.env.QABOARD_TOKEN ?? decodeURIComponent(url.password || url.username || '');
  url.username = '';
  url.password = '';
  return { base: url.origin, headers: token ? { authorization: `Bearer ${token}` } : {} };
}

async function filesOf(folder) {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(folder, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

async function sha256Of(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

const encodePath = (relative) => relative.split('/').map(encodeURIComponent).join('/');

async function check(response, what) {
  if (response.ok) return response;
  const text = await response.text();
  let detail = text;
  try {
    detail = JSON.parse(text).detail ?? text;
  } catch {}
  throw new Error(`${what}: ${response.status} ${detail}`);
}

async function putThroughApi(api, output, folder, relative, size, sha256) {
  const response = await fetch(`${api.base}/api/v1/output/${output}/files/${encodePath(relative)}`, {
    method: 'PUT',
    headers: { ...api.headers, 'content-length': String(size), 'x-content-sha256': sha256 },
    body: Readable.toWeb(createReadStream(path.join(folder, relative))),
    duplex: 'half',
  });
  await check(response, relative);
}

async function putPresigned(api, output, folder, relative, size, sha256) {
  const signing = await fetch(`${api.base}/api/v1/output/${output}/files:sign`, {
    method: 'POST',
    headers: { ...api.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ files: [{ path: relative, sha256 }] }),
  });
  const [upload] = (await (await check(signing, `${relative} (signing)`)).json()).uploads;
  const response = await fetch(upload.url, {
    method: 'PUT',
    headers: { ...upload.headers, 'content-length': String(size) },
    body: Readable.toWeb(createReadStream(path.join(folder, relative))),
    duplex: 'half',
  });
  await check(response, `${relative} (to R2)`);
}

async function upload({ folder, output, presignOver, concurrency }) {
  const api = server();
  const files = await filesOf(folder);
  const manifestLast = files.includes(MANIFEST);
  const queue = files.filter((f) => f !== MANIFEST);
  let bytes = 0;
  let presigned = 0;
  const started = Date.now();
  const send = async (relative) => {
    const { size } = await stat(path.join(folder, relative));
    const sha256 = await sha256Of(path.join(folder, relative));
    if (size > presignOver) {
      presigned += 1;
      await putPresigned(api, output, folder, relative, size, sha256);
    } else {
      await putThroughApi(api, output, folder, relative, size, sha256);
    }
    bytes += size;
  };
  const workers = Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) await send(next);
  });
  await Promise.all(workers);
  if (manifestLast) await send(MANIFEST);
  else await check(await fetch(`${api.base}/api/v1/output/${output}/manifest?refresh=true`, { headers: api.headers }), 'manifest');
  const seconds = (Date.now() - started) / 1000;
  console.log(`qaboard-edge: ${files.length} files (${bytes} bytes, ${presigned} presigned) uploaded to output ${output} in ${seconds.toFixed(1)} s`);
}

upload(parseArguments(process.argv.slice(2))).catch((error) => {
  console.error(`qaboard-edge: ${error.message}`);
  process.exit(1);
});
