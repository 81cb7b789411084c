import type {
  AuditEventRecordedV1,
  BankLineReceivedV1,
  BankStatementReceivedV1,
  LedgerAccountOpenedV1,
  LedgerTransactionPostedV1,
  ReconAlertRaisedV1,
  ReconBreakOpenedV1,
} from '../src';

/** One valid payload per contract, for tests of the contracts and of the messaging library. */
export function sampleTransactionPosted(overrides: Partial<LedgerTransactionPostedV1> = {}): LedgerTransactionPostedV1 {
  return {
    transactionId: 'tx-0001',
    idempotencyKey: 'idem-0001',
    postedAt: '2025-01-02T09:30:00.000Z',
    valueDate: '2025-01-02',
    reference: 'PLAT-W-000123',
    lines: [
      { accountId: 'cust-42', accountKind: 'customer', custodyAccountId: 'custody-eur', amount: '22.30', currency: 'EUR', side: 'debit' },
      { accountId: 'custody-eur', accountKind: 'custody', amount: '22.30', currency: 'EUR', side: 'credit' },
    ],
    ...overrides,
  };
}

export function sampleAccountOpened(): LedgerAccountOpenedV1 {
  return { accountId: 'custody-eur', accountKind: 'custody', currency: 'EUR', openedAt: '2025-01-01T00:00:00.000Z', bankAccount: 'DE89370400440532013000' };
}

export function sampleLineReceived(): BankLineReceivedV1 {
  return {
    fileId: 'file-1',
    lineId: 'file-1:14',
    account: 'DE89370400440532013000',
    receivedAt: '2025-01-02T18:00:00.000Z',
    statementId: 'STMT-2025-001',
    lineNo: 14,
    amount: '-22.30',
    currency: 'EUR',
    bookingDate: '2025-01-02',
    valueDate: '2025-01-02',
    bankRef: '2025010200017',
    endToEndId: 'PLAT-W-000123',
    reversal: false,
  };
}

export function sampleStatementReceived(): BankStatementReceivedV1 {
  return {
    fileId: 'file-1',
    receivedAt: '2025-01-02T18:00:00.000Z',
    format: 'camt.053',
    statementId: 'STMT-2025-001',
    account: 'DE89370400440532013000',
    currency: 'EUR',
    from: '2025-01-02',
    to: '2025-01-02',
    openingBalance: { amount: '1000.00', date: '2025-01-01' },
    closingBalance: { amount: '977.70', date: '2025-01-02' },
    entryCount: 1,
    rejectedCount: 0,
  };
}

export function sampleBreakOpened(): ReconBreakOpenedV1 {
  return {
    breakId: 'brk-1',
    openedAt: '2025-01-03T06:00:00.000Z',
    type: 'amount_mismatch',
    category: 'data_sync',
    severity: 'high',
    currency: 'EUR',
    amount: '0.10',
    ledger: ['L7'],
    bank: ['B9'],
    reason: 'paired by reference PLAT-W-7, amounts differ by 0.10',
  };
}

export function sampleAlertRaised(): ReconAlertRaisedV1 {
  return {
    alertId: 'alert-1',
    raisedAt: '2025-01-03T06:00:00.000Z',
    kind: 'shortfall',
    severity: 'critical',
    currency: 'EUR',
    amount: '150.00',
    message: 'custody account holds 150.00 EUR less than owed',
  };
}

export function sampleAuditEvent(eventId = '0190c1f2-8f7e-7abc-8def-0123456789ab'): AuditEventRecordedV1 {
  return {
    eventId,
    occurredAt: '2025-01-02T09:30:00.000Z',
    service: 'ledger',
    actor: { id: 'svc-platform', role: 'system' },
    action: 'ledger.transaction.post',
    entity: { type: 'transaction', id: 'tx-0001' },
    afterHash: 'a'.repeat(64),
    details: { lines: 2 },
  };
}
