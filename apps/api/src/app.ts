import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { AppConfig, Clock } from '@deals/platform';
import type { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppModule } from './app.module';
import { authenticateBeforeBody } from './auth/authenticate-before-body';
import { appLogger } from './infrastructure/app-logger';
import { ApiError } from './http/api-error';
import { acceptedCorrelationId, type RequestWithCorrelation } from './http/command-context';
import { ErrorFilter } from './http/error-filter';
import { acceptJsonOnly } from './http/json-body';
import { createValidationPipe } from './http/validation';

export interface AppOptions {
  readonly clock?: Clock;
  readonly logLevels?: LogLevel[];
}

/** Builds the HTTP application; `main.ts` and the end-to-end tests both start it this way. */
export async function createApp(config: AppConfig, options: AppOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    // Hostile JSON: refuse prototype-polluting keys instead of quietly dropping them.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    // Errors the router raises before Nest sees the request (a path parameter too long, a bad URL) get our error shape too.
    // Requests Node's HTTP parser refuses before any route sees them (headers over 16 KiB, not HTTP at all).
    clientErrorHandler: answerClientError,
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      const apiError =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new ApiError(414, 'URI_TOO_LONG', 'A path segment is longer than allowed')
          : new ApiError(400, 'BAD_URL', 'The URL is not valid');
      void reply.status(apiError.statusCode).header('content-type', 'application/json; charset=utf-8').send(apiError.toBody());
    },
  });
  const logLevels = options.logLevels ?? ['warn', 'error'];
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options.clock, logLevels), adapter, {
    logger: appLogger(config, logLevels),
    abortOnError: false,
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', async (request: RequestWithCorrelation, reply) => {
    request.correlationId = acceptedCorrelationId(request.headers['x-correlation-id']) ?? randomUUID();
    void reply.header('x-correlation-id', request.correlationId);
  });
  authenticateBeforeBody(fastify, config.apiKeys);
  acceptJsonOnly(fastify);
  app.useGlobalFilters(new ErrorFilter());
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();

  const openApi = new DocumentBuilder()
    .setTitle('Deal lifecycle API')
    .setDescription('Commands move a deal through its life; every change is an event with who, when and why.')
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'API key', description: 'An API key from API_KEYS' })
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, openApi), { jsonDocumentUrl: 'docs/openapi.json' });
  await app.init();
  return app;
}

/**
 * Answers a request the HTTP parser refused with our error shape, as Fastify's own handler would
 * with its own (431 for oversized headers, 408 for a request too slow to arrive, else 400), then
 * closes the connection: after a parse error nothing more on it can be trusted.
 */
function answerClientError(error: Error & { readonly code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const apiError =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new ApiError(431, 'HEADERS_TOO_LARGE', 'The request line and headers are larger than 16 KiB')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new ApiError(408, 'REQUEST_TIMEOUT', 'The request did not arrive in time')
        : new ApiError(400, 'MALFORMED_REQUEST', 'The request is not valid HTTP/1.1');
  const body = JSON.stringify(apiError.toBody());
  socket.end(
    `HTTP/1.1 ${apiError.statusCode} ${STATUS_CODES[apiError.statusCode]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
