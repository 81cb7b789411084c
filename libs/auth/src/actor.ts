import type { Role } from '@recon/config';

/** Who is calling: an identity from a credential, and the roles that credential carries. */
export interface Actor {
  readonly id: string;
  readonly roles: readonly Role[];
}

/** The role an action was performed under: the first of the actor's roles that the endpoint allows. */
export function effectiveRole(actor: Actor, allowed: readonly Role[]): Role | undefined {
  if (allowed.length === 0) return actor.roles[0];
  return actor.roles.find((role) => allowed.includes(role)) ?? (actor.roles.includes('admin') ? 'admin' : undefined);
}
