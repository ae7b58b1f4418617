import { randomUUID } from 'node:crypto';
import type { AppConfig, Clock } from '@deals/platform';
import type { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppModule } from './app.module';
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
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      const apiError =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new ApiError(414, 'URI_TOO_LONG', 'A path segment is longer than allowed')
          : new ApiError(400, 'BAD_URL', 'The URL is not valid');
      void reply.status(apiError.statusCode).header('content-type', 'application/json; charset=utf-8').send(apiError.toBody());
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options.clock), adapter, {
    logger: options.logLevels ?? ['warn', 'error'],
    abortOnError: false,
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', async (request: RequestWithCorrelation, reply) => {
    request.correlationId = acceptedCorrelationId(request.headers['x-correlation-id']) ?? randomUUID();
    void reply.header('x-correlation-id', request.correlationId);
  });
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
