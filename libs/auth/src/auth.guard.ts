import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  createParamDecorator,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Role } from '@recon/config';
import type { Request } from 'express';
import type { Actor } from './actor';
import { CREDENTIAL_VERIFIER, type CredentialVerifier } from './credentials';

const ROLES_KEY = 'recon:roles';
const PUBLIC_KEY = 'recon:public';

/** The roles allowed to call an endpoint. `admin` passes every role check. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/**
 * Marks the few endpoints that answer without credentials: liveness/readiness probes and the OpenAPI
 * document. Everything else requires an identity and a role.
 */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export interface AuthenticatedRequest extends Request {
  actor?: Actor;
}

/** The authenticated caller, for controllers to pass into commands (who did what, for the audit trail). */
export const CurrentActor = createParamDecorator((_data: unknown, context: ExecutionContext): Actor => {
  const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
  if (request.actor === undefined) throw new UnauthorizedException('no authenticated caller');
  return request.actor;
});

/**
 * Global guard: 401 for a missing or unknown credential, 403 for a known caller without an allowed role.
 * An endpoint without @Roles and without @Public is refused (403): forgetting to declare roles fails closed.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(CREDENTIAL_VERIFIER) private readonly verifier: CredentialVerifier,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets) === true) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const secret = credentialOf(request);
    if (secret === undefined) throw new UnauthorizedException('missing credential: send X-Api-Key or Authorization: Bearer');
    const actor = this.verifier.verify(secret);
    if (actor === undefined) throw new UnauthorizedException('unknown credential');
    request.actor = actor;
    const allowed = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets) ?? [];
    if (actor.roles.includes('admin')) return true;
    if (!allowed.some((role) => actor.roles.includes(role))) {
      throw new ForbiddenException(`role ${allowed.length === 0 ? '(none declared)' : allowed.join(' or ')} required; caller has ${actor.roles.join(', ')}`);
    }
    return true;
  }
}

function credentialOf(request: Request): string | undefined {
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.length > 0) return apiKey;
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S{1,1024})$/i.exec(authorization);
    if (match !== null) return match[1];
  }
  return undefined;
}

export const ROLES_METADATA_KEY = ROLES_KEY;
