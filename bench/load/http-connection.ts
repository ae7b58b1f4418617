// One keep-alive HTTP/1.1 connection on a bare socket, one request at a time. The load generator shares
// the server's two cores, so the client must cost as little as possible: requests are written as one
// preformatted string and answers are parsed only as far as status, the headers we read and the body.
import { connect, type Socket } from 'node:net';

export interface HttpAnswer {
  readonly status: number;
  /** Lower-case names; only the ones a deal client reads are kept. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const keptHeaders = new Set(['etag', 'location', 'content-length', 'transfer-encoding', 'connection']);

export class HttpConnection {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { done: (answer: HttpAnswer) => void; fail: (error: Error) => void } | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  request(method: string, path: string, headers: Readonly<Record<string, string>>, body: string): Promise<HttpAnswer> {
    if (this.waiting) return Promise.reject(new Error('HttpConnection: one request at a time'));
    const socket = this.socket ?? this.open();
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
    for (const name in headers) head += `${name}: ${headers[name]!}\r\n`;
    return new Promise((done, fail) => {
      this.waiting = { done, fail };
      socket.write(`${head}\r\n${body}`);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): Socket {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    const lost = (error?: Error) => {
      if (this.socket === socket) this.socket = undefined;
      this.buffer = Buffer.alloc(0);
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.fail(error ?? new Error('connection closed'));
    };
    socket.on('error', lost);
    socket.on('close', () => lost());
    this.socket = socket;
    return socket;
  }

  private parse(): void {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0 || !this.waiting) return;
    const lines = this.buffer.toString('latin1', 0, end).split('\r\n');
    const status = Number(lines[0]!.slice(9, 12));
    const headers: Record<string, string> = {};
    for (let index = 1; index < lines.length; index++) {
      const line = lines[index]!;
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      if (keptHeaders.has(name)) headers[name] = line.slice(colon + 1).trim();
    }
    const start = end + 4;
    let body: string;
    let consumed: number;
    if (headers['content-length'] !== undefined) {
      consumed = start + Number(headers['content-length']);
      if (this.buffer.length < consumed) return;
      body = this.buffer.toString('utf8', start, consumed);
    } else if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const chunked = readChunked(this.buffer, start);
      if (!chunked) return;
      ({ body, consumed } = chunked);
    } else {
      this.waiting.fail(new Error('answer without content-length or chunked encoding'));
      this.waiting = undefined;
      this.close();
      return;
    }
    this.buffer = this.buffer.subarray(consumed);
    const waiting = this.waiting;
    this.waiting = undefined;
    if (headers['connection']?.toLowerCase() === 'close') this.close();
    waiting.done({ status, headers, body });
  }
}

function readChunked(buffer: Buffer, from: number): { body: string; consumed: number } | undefined {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(buffer.toString('latin1', at, lineEnd), 16);
    const dataStart = lineEnd + 2;
    if (size === 0) {
      const trailerEnd = buffer.indexOf('\r\n', dataStart);
      if (trailerEnd < 0) return undefined;
      return { body: Buffer.concat(parts).toString('utf8'), consumed: trailerEnd + 2 };
    }
    if (buffer.length < dataStart + size + 2) return undefined;
    parts.push(buffer.subarray(dataStart, dataStart + size));
    at = dataStart + size + 2;
  }
}
