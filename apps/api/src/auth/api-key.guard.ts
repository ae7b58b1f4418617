import type { AppConfig, Role } from '@deals/platform';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError } from '../http/api-error';
import { APP_CONFIG } from '../infrastructure/tokens';
import { ApiKeyRing } from './api-keys';
import type { AuthenticatedRequest } from './authenticated-actor';
import { PUBLIC_KEY, ROLES_KEY } from './roles';

/** Checks `Authorization: Bearer <key>` on every route not marked public, then the route's roles. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: ApiKeyRing;

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.keys = new ApiKeyRing(config.apiKeys);
  }

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const key = this.keys.authenticate(request.headers.authorization);
    const allowed = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets) ?? [];
    if (!key.roles.includes('admin') && !allowed.some((role) => key.roles.includes(role))) {
      throw new ApiError(403, 'FORBIDDEN', `This needs one of the roles: ${['admin', ...allowed].join(', ')}`, {
        actor: key.actor,
        roles: key.roles,
      });
    }
    request.actor = { name: key.actor, roles: key.roles };
    return true;
  }
}
