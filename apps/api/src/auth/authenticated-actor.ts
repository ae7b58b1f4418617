import type { Role } from '@deals/platform';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

export interface Actor {
  readonly name: string;
  readonly roles: readonly Role[];
}

export type AuthenticatedRequest = FastifyRequest & { actor?: Actor };

/** The caller the API key names; the only source of "who" in event metadata. */
export const AuthenticatedActor = createParamDecorator((_: unknown, context: ExecutionContext): Actor => {
  const actor = context.switchToHttp().getRequest<AuthenticatedRequest>().actor;
  if (!actor) throw new Error('AuthenticatedActor used on a route the API key guard did not protect');
  return actor;
});
