import type { OutgoingEvent } from '@recon/messaging';
import type { NewTransaction } from '../domain/transaction';

export function transactionPostedEvent(tx: NewTransaction): OutgoingEvent {
  return {
    messageId: tx.transactionId,
    subject: 'ledger.transaction.posted',
    schemaVersion: 1,
    payload: {
      transactionId: tx.transactionId,
      idempotencyKey: tx.idempotencyKey,
      postedAt: tx.postedAt.toISOString(),
      valueDate: tx.valueDate,
      reference: tx.reference,
      ...(tx.batchReference === undefined ? {} : { batchReference: tx.batchReference }),
      ...(tx.reversesTransactionId === undefined ? {} : { reversesTransactionId: tx.reversesTransactionId }),
      ...(tx.description === undefined ? {} : { description: tx.description }),
      lines: tx.postings.map((posting) => ({
        accountId: posting.account.accountId,
        accountKind: posting.account.kind,
        ...(posting.account.custodyAccountId === null ? {} : { custodyAccountId: posting.account.custodyAccountId }),
        amount: posting.amount.toDecimalString(),
        currency: posting.amount.currency,
        side: posting.side,
      })),
    },
  };
}
