import { randomUUID } from 'node:crypto';
import type { AppConfig, Clock } from '@deals/platform';
import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { acceptedCorrelationId, type RequestWithCorrelation } from './http/command-context';
import { ErrorFilter, sendError } from './http/error-filter';
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
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options.clock), adapter, {
    logger: options.logLevels ?? ['log', 'warn', 'error'],
    abortOnError: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  const logger = new Logger('HTTP');
  fastify.addHook('onRequest', async (request: RequestWithCorrelation, reply) => {
    request.correlationId = acceptedCorrelationId(request.headers['x-correlation-id']) ?? randomUUID();
    void reply.header('x-correlation-id', request.correlationId);
  });
  // Failures Fastify raises before Nest sees the request (bad JSON, body too large) get the same error shape.
  fastify.setErrorHandler((error, _request, reply) => sendError(reply, error, logger));
  app.useGlobalFilters(new ErrorFilter());
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();

  const openApi = new DocumentBuilder()
    .setTitle('Deal lifecycle API')
    .setDescription('Commands move a deal through its life; every change is an event with who, when and why.')
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key from API_KEYS' })
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, openApi), { jsonDocumentUrl: 'docs/openapi.json' });
  await app.init();
  return app;
}
