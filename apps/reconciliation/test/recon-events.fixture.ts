import { randomUUID } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { BankLineReceivedV1, BankStatementReceivedV1, LedgerAccountOpenedV1, LedgerTransactionPostedV1 } from '@recon/contracts';
import { MessageHeaders, msgHdrsOf, subjectFor } from '@recon/messaging';

/**
 * Builders of the events reconciliation consumes, published straight to an (isolated) namespace's streams as the
 * ledger's and the gateway's outbox relays would: with a message id and the schema version header.
 */
export class ReconEventPublisher {
  constructor(
    private readonly jetstream: JetStreamClient,
    private readonly namespace: string,
  ) {}

  async publish(subject: string, payload: unknown, messageId: string = randomUUID()): Promise<void> {
    await this.jetstream.publish(subjectFor(this.namespace, subject), JSON.stringify(payload), {
      msgID: messageId,
      headers: msgHdrsOf({ [MessageHeaders.schemaVersion]: '1' }),
    });
  }

  custodyAccountOpened(account: { accountId: string; bankAccount: string; currency: string }): Promise<void> {
    const payload: LedgerAccountOpenedV1 = {
      accountId: account.accountId,
      accountKind: 'custody',
      currency: account.currency,
      openedAt: new Date().toISOString(),
      bankAccount: account.bankAccount,
    };
    return this.publish('ledger.account.opened', payload);
  }

  transactionPosted(payload: LedgerTransactionPostedV1): Promise<void> {
    return this.publish('ledger.transaction.posted', payload);
  }

  lineReceived(payload: BankLineReceivedV1): Promise<void> {
    return this.publish('bank.line.received', payload);
  }

  statementReceived(payload: BankStatementReceivedV1): Promise<void> {
    return this.publish('bank.statement.received', payload);
  }
}

/** A deposit (money in: custody debited) or withdrawal (money out: custody credited) between custody and a customer. */
export function movement(input: {
  custodyAccountId: string;
  kind: 'deposit' | 'withdrawal';
  amount: string;
  currency: string;
  valueDate: string;
  reference: string;
  transactionId?: string;
  postedAt?: string;
}): LedgerTransactionPostedV1 {
  const transactionId = input.transactionId ?? randomUUID();
  const custody = { accountId: input.custodyAccountId, accountKind: 'custody' as const, amount: input.amount, currency: input.currency };
  const customer = {
    accountId: `customer-of-${input.custodyAccountId}`,
    accountKind: 'customer' as const,
    custodyAccountId: input.custodyAccountId,
    amount: input.amount,
    currency: input.currency,
  };
  return {
    transactionId,
    idempotencyKey: `idem-${transactionId}`,
    postedAt: input.postedAt ?? new Date().toISOString(),
    valueDate: input.valueDate,
    reference: input.reference,
    lines:
      input.kind === 'deposit'
        ? [
            { ...custody, side: 'debit' },
            { ...customer, side: 'credit' },
          ]
        : [
            { ...customer, side: 'debit' },
            { ...custody, side: 'credit' },
          ],
  };
}

export function bankLine(
  input: Partial<BankLineReceivedV1> & Pick<BankLineReceivedV1, 'account' | 'amount' | 'currency' | 'statementId' | 'lineNo'>,
): BankLineReceivedV1 {
  return {
    fileId: randomUUID(),
    lineId: randomUUID(),
    receivedAt: new Date().toISOString(),
    reversal: false,
    ...input,
  };
}
