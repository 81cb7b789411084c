import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { LEDGER_REQUIRED_BALANCE_RPC } from '@recon/messaging';
import { z } from 'zod';
import { isCalendarDate } from '../../journal/domain/transaction';
import { BalancesQuery, type RequiredBalanceView } from '../application/balances.query';

const requiredBalanceRequestSchema = z
  .object({
    asOfDate: z.string().refine(isCalendarDate, 'must be a calendar date YYYY-MM-DD'),
    bankAccount: z.string().min(1).max(64).optional(),
    custodyAccount: z.string().min(1).max(100).optional(),
  })
  .strict();

export type RequiredBalanceReply =
  | { readonly ok: true; readonly balances: readonly RequiredBalanceView[] }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

/**
 * The reconciliation service asks over NATS what a custody account must hold at the end of a day (its
 * balance check). Thin: parse, query, map (R8).
 */
@Controller()
export class BalancesNatsController {
  constructor(private readonly balances: BalancesQuery) {}

  @MessagePattern(LEDGER_REQUIRED_BALANCE_RPC)
  async requiredBalance(@Payload() payload: unknown): Promise<RequiredBalanceReply> {
    const parsed = requiredBalanceRequestSchema.safeParse(payload);
    if (!parsed.success) {
      const message = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(request)'}: ${issue.message}`).join('; ');
      return { ok: false, error: { code: 'LEDGER.INVALID_REQUEST', message } };
    }
    const balances = await this.balances.requiredBalances(parsed.data.asOfDate, parsed.data.bankAccount ?? parsed.data.custodyAccount);
    return { ok: true, balances };
  }
}
