import { subjectFor } from './streams';

/**
 * Request/reply subjects live under `rpc.` so that no stream captures them: a request published on a
 * subject a JetStream stream listens to would be stored and answered by JetStream's own publish ack.
 * `rpcSubjectFor('ns', 'ledger.required-balance.v1')` is `ns.rpc.ledger.required-balance.v1`.
 */
export function rpcSubjectFor(namespace: string, name: string): string {
  return subjectFor(namespace, `rpc.${name}`);
}

export const LEDGER_REQUIRED_BALANCE_RPC = 'ledger.required-balance.v1';
