import type { NatsConnection } from '@nats-io/nats-core';
import { LEDGER_REQUIRED_BALANCE_RPC, rpcSubjectFor } from '@recon/messaging';
import { z } from 'zod';

const replySchema = z.union([
  z.object({
    ok: z.literal(true),
    balances: z
      .array(
        z.object({
          custodyAccount: z.string(),
          bankId: z.string().optional(),
          bankAccount: z.string(),
          currency: z.string().regex(/^[A-Z]{3}$/),
          asOfDate: z.string(),
          requiredBalance: z.string().regex(/^-?\d+(\.\d+)?$/),
          ledgerBalance: z.string().optional(),
        }),
      )
      .max(10_000),
  }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);

export interface RequiredBalance {
  readonly bankAccount: string;
  readonly currency: string;
  readonly asOfDate: string;
  readonly requiredBalance: string;
}

export class LedgerBalanceUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerBalanceUnavailableError';
  }
}

/** What the ledger says a custody account must hold at the end of a day, over NATS request/reply. */
export class LedgerBalanceRpcClient {
  constructor(
    private readonly nats: NatsConnection,
    private readonly namespace: string,
    private readonly timeoutMs: number,
  ) {}

  async requiredBalances(asOfDate: string, bankAccount: string): Promise<RequiredBalance[]> {
    const subject = rpcSubjectFor(this.namespace, LEDGER_REQUIRED_BALANCE_RPC);
    let replyText: string;
    try {
      const reply = await this.nats.request(subject, JSON.stringify({ asOfDate, bankAccount }), { timeout: this.timeoutMs });
      replyText = reply.string();
    } catch (error) {
      throw new LedgerBalanceUnavailableError(`the ledger did not answer ${subject}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const parsed = replySchema.safeParse(JSON.parse(replyText));
    if (!parsed.success) throw new LedgerBalanceUnavailableError(`the ledger's reply on ${subject} is malformed: ${parsed.error.issues[0]?.message ?? ''}`);
    if (!parsed.data.ok)
      throw new LedgerBalanceUnavailableError(`the ledger refused the balance request: ${parsed.data.error.code} ${parsed.data.error.message}`);
    return parsed.data.balances.filter((balance) => balance.bankAccount === bankAccount && balance.asOfDate === asOfDate);
  }
}
