import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppConfig, type Clock, loadConfig } from '@deals/platform';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../app';
import { ProjectionStatusService } from '../projections/projection-status.service';

export const keys = {
  sales: 'test-sales-key-0000000001',
  auditor: 'test-auditor-key-00000001',
  analyst: 'test-analyst-key-00000001',
  admin: 'test-admin-key-0000000001',
} as const;

export const actors = { sales: 'sam.sales', auditor: 'alex.audit', analyst: 'ana.lyst', admin: 'root.admin' } as const;

export interface TestApp {
  readonly app: NestFastifyApplication;
  readonly url: string;
  readonly dataDir: string;
  readonly config: AppConfig;
  /** A request over a real socket, as the given role. */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  /** Sends raw bytes on a fresh connection (what fetch will not send) and reads the answer until the server closes it. */
  rawExchange(bytes: string): Promise<{ status: number; headers: string; body: unknown }>;
  /** Resolves once every projection has processed every event written so far. */
  waitForProjections(): Promise<void>;
  close(): Promise<void>;
}

export interface RequestOptions {
  readonly as?: keyof typeof keys | null;
  readonly body?: unknown;
  /** Sent as is, for malformed bodies; a stream goes chunked. */
  readonly rawBody?: string | Uint8Array | ReadableStream<Uint8Array>;
  readonly headers?: Record<string, string>;
}

export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
  readonly text: string;
}

/** Starts the real application on a fresh data directory and a random local port. */
export async function startTestApp(
  overrides: Partial<AppConfig> = {},
  options: { clock?: Clock; dataDir?: string } = {},
): Promise<TestApp> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'deals-e2e-'));
  const config: AppConfig = {
    ...loadConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      SEED_DEMO: 'false',
      // Tests read their own writes right after each command; spacing commits out only slows them down.
      PROJECTION_COMMIT_INTERVAL_MS: '0',
      API_KEYS: Object.entries(keys)
        .map(([role, key]) => `${key}=${actors[role as keyof typeof keys]}:${role}`)
        .join(','),
    }),
    ...overrides,
  };
  const app = await createApp(config, { logLevels: ['error'], ...(options.clock ? { clock: options.clock } : {}) });
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  return {
    app,
    url,
    dataDir,
    config,
    async request(method, path, { as = 'sales', body, rawBody, headers = {} } = {}) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(as ? { authorization: `Bearer ${keys[as]}` } : {}),
          ...(body !== undefined || rawBody !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(rawBody !== undefined ? { body: rawBody } : body !== undefined ? { body: JSON.stringify(body) } : {}),
        // A stream body needs half duplex in fetch.
        ...(rawBody instanceof ReadableStream ? { duplex: 'half' } : {}),
      } as RequestInit);
      const text = await response.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: response.status, headers: response.headers, body: parsed, text };
    },
    async rawExchange(bytes) {
      const { port } = new URL(url);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.end(bytes));
        let received = '';
        socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
        socket.on('close', () => resolve(received));
        socket.on('error', reject);
      });
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      return { status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: JSON.parse(body) };
    },
    waitForProjections: () => app.get(ProjectionStatusService).caughtUp(),
    async close() {
      await app.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Contract bodies for each command, to start from in tests. */
export const bodies = {
  lead: (overrides: Record<string, unknown> = {}) => ({
    title: 'Analytics platform rollout',
    organization: 'Acme Corp',
    contact: { name: 'Ada Lovelace', email: 'ada@acme.example' },
    source: 'referral',
    owner: 'jane.doe',
    estimatedValue: { amount: 48000, currency: 'EUR' },
    ...overrides,
  }),
  qualification: (overrides: Record<string, unknown> = {}) => ({
    budget: true,
    authority: true,
    need: true,
    timeline: false,
    ...overrides,
  }),
  proposal: (overrides: Record<string, unknown> = {}) => ({
    amount: 52000,
    currency: 'EUR',
    validUntil: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    ...overrides,
  }),
  negotiation: (overrides: Record<string, unknown> = {}) => ({ counterAmount: 47000, objections: ['price'], ...overrides }),
  won: (overrides: Record<string, unknown> = {}) => ({ outcome: 'won', finalAmount: 49500, reason: 'Best fit', ...overrides }),
  lost: (overrides: Record<string, unknown> = {}) => ({ outcome: 'lost', reason: 'No budget', ...overrides }),
  followUp: (overrides: Record<string, unknown> = {}) => ({ channel: 'call', notes: 'Delivery check', ...overrides }),
};
