import type { Role } from '@deals/platform';
import { SetMetadata } from '@nestjs/common';

export const ROLES_KEY = 'deals:roles';
export const PUBLIC_KEY = 'deals:public';

/** Who may call the route. Admin may call every route. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** Open to everyone, without a key (health, docs). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
