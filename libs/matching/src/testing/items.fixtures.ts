import { parseDecimalToMinor } from '@recon/money';
import type { BankItem, LedgerItem } from '../model/items';

/** Builders for small hand-written cases in the specs: EUR on one custody account unless told otherwise. */
export const ACCOUNT = 'DE89370400440532013000';

export function minor(decimal: string, digits = 2): bigint {
  return parseDecimalToMinor(decimal, digits);
}

export function ledgerItem(entryId: string, amount: string, fields: Partial<Omit<LedgerItem, 'entryId' | 'amountMinor'>> = {}): LedgerItem {
  return { entryId, account: ACCOUNT, amountMinor: minor(amount), currency: 'EUR', valueDate: '2025-01-02', ...fields };
}

export function bankItem(id: string, amount: string, fields: Partial<Omit<BankItem, 'id' | 'amountMinor'>> = {}): BankItem {
  return {
    id,
    statementId: 'STMT-1',
    lineNo: 1,
    account: ACCOUNT,
    amountMinor: minor(amount),
    currency: 'EUR',
    valueDate: '2025-01-02',
    reversal: false,
    bankRef: id,
    ...fields,
  };
}
