// The physical limit of any Node HTTP service here: bare node:http reading each command request whole and
// answering one fixed JSON, no routing, no validation, no store. The load generator drives it like the
// others; without an ETag it sends no If-Match, and it walks every deal under the fixed id.
import { createServer } from 'node:http';
import { type BaselineServer, serve, startServerProcess } from './server-process';

const answer = JSON.stringify({ dealId: '00000000-0000-4000-8000-000000000000', version: 0, stage: 'lead' });
const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) };

/** The bare server in a process of its own. */
export function startBareHttp(): Promise<BaselineServer> {
  return startServerProcess('baselines/bare-http.ts', []);
}

if (require.main === module && process.argv[2] === 'serve') {
  const server = createServer((request, response) => {
    // Read the body to its end, as every real server must, before answering.
    request.on('data', () => undefined);
    request.on('end', () => response.writeHead(200, headers).end(answer));
  });
  void serve(server);
}
