// The HTTP command contract on Express with Emmett's CommandHandler, wired by hand as Emmett's documentation
// shows, minus the emmett-expressjs helpers (none matching either Emmett version is served): express.json(),
// one route per command, the command handled on the deal's stream, errors mapped to the contract's answers.
import { randomUUID } from 'node:crypto';
import { DealRefused, type DealState } from '@deals/domain';
import express, { type Request, type Response } from 'express';
import { ApiKeyRing } from '../../apps/api/src/auth/api-keys';
import { ApiError, type ErrorBody } from '../../apps/api/src/http/api-error';
import { DealIdPipe, parseIfMatch } from '../../apps/api/src/http/command-context';
import { decideEmmett, dealCommandRoutes, type EmmettDealEvent, toDealCommand } from './emmett-deal';

/** What the contract's If-Match asks of the stream: a new deal, the version the client saw, or nothing. */
export type ExpectedDealVersion = 'new' | bigint | undefined;

/** One Emmett pair's CommandHandler on the deal streams, with the contract's versions (0 after capture). */
export interface EmmettDealStreams {
  handle(dealId: string, decide: (state: DealState) => EmmettDealEvent[], expected: ExpectedDealVersion): Promise<{ version: number; state: DealState }>;
}

/**
 * Emmett's concurrency errors carry errorCode 412. Checked by code, not class: emmett-sqlite 0.38.5 bundles
 * its own copy of emmett's error classes, so its conflicts are no instance of the peer emmett's class.
 */
export function isEmmettVersionConflict(error: unknown): boolean {
  return error instanceof Error && 'errorCode' in error && error.errorCode === 412;
}

const refusalStatus = { not_found: 404, conflict: 409, invalid: 400 } as const;

function errorBody(error: unknown): ErrorBody {
  if (error instanceof ApiError) return error.toBody();
  if (error instanceof DealRefused) {
    return { statusCode: refusalStatus[error.kind], code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
  }
  if (isEmmettVersionConflict(error)) return { statusCode: 409, code: 'VERSION_CONFLICT', message: 'The deal changed since the version given in If-Match' };
  if (error instanceof SyntaxError) return { statusCode: 400, code: 'MALFORMED_JSON', message: 'The body is not valid JSON' };
  // express.json()'s other refusals (too large, wrong charset) carry their 4xx status.
  if (error instanceof Error && 'status' in error && typeof error.status === 'number' && error.status >= 400 && error.status < 500) {
    return { statusCode: error.status, code: 'INVALID_BODY', message: error.message };
  }
  return { statusCode: 500, code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

/**
 * The Express app. `onServerError` hears every 500 (the store's failures), so a baseline run can say why
 * requests failed.
 */
export function emmettDealApp(streams: EmmettDealStreams, apiKey: string, onServerError: (message: string) => void): express.Express {
  const keys = new ApiKeyRing([{ key: apiKey, actor: 'bench', roles: ['sales'] }]);
  const dealIds = new DealIdPipe();
  const fail = (response: Response, error: unknown) => {
    const body = errorBody(error);
    if (body.statusCode === 500) onServerError(body.message);
    response.status(body.statusCode).json(body);
  };
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '1mb' }));
  for (const route of dealCommandRoutes) {
    const path = route.segment ? `/deals/:id/${route.segment}` : '/deals';
    app.post(path, async (request: Request<{ id?: string }>, response) => {
      try {
        const key = /^Bearer (\S+)$/.exec(request.header('authorization') ?? '')?.[1];
        const caller = key === undefined ? undefined : keys.find(key);
        if (!caller) throw new ApiError(401, 'UNAUTHENTICATED', 'Send a valid API key as Authorization: Bearer <key>');
        const dealId = route.segment ? dealIds.transform(request.params.id ?? '') : randomUUID();
        const expected: ExpectedDealVersion = route.segment ? parseIfMatch(request.header('if-match')) : 'new';
        const now = new Date();
        const command = await toDealCommand(route, request.body, dealId, now);
        const metadata = { actor: caller.actor, commandId: request.header('idempotency-key') ?? randomUUID(), correlationId: randomUUID() };
        const { version, state } = await streams.handle(dealId, decideEmmett(command, metadata, now), expected);
        response.status(route.segment ? 200 : 201).setHeader('etag', `"${version}"`);
        if (!route.segment) response.setHeader('location', `/deals/${dealId}`);
        response.json({ dealId, version, stage: state.exists ? state.stage : undefined });
      } catch (error) {
        fail(response, error);
      }
    });
  }
  // express.json() hands a malformed body to the error handlers; Express knows them by their four parameters.
  app.use((error: unknown, _request: Request, response: Response, _next: express.NextFunction) => fail(response, error));
  return app;
}

/** The contract's version (the revision of the last event, 0 after capture) from Emmett's, which counts events. */
export function contractVersion(nextExpectedStreamVersion: bigint): number {
  return Number(nextExpectedStreamVersion) - 1;
}

/** Emmett's expected stream version for what If-Match asked, given the pair's "no stream yet" marker. */
export function emmettExpectedVersion<T>(expected: ExpectedDealVersion, streamDoesNotExist: T): T | bigint | undefined {
  if (expected === 'new') return streamDoesNotExist;
  return expected === undefined ? undefined : expected + 1n;
}
