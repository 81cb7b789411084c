import { isoDateOfDayNumber, dayNumberOf } from '../model/iso-date';
import type { BankItem, BankTransactionPart, LedgerItem } from '../model/items';
import type { BreakType } from '../breaks/break';

/**
 * A realistic business day on a custody account, with injected faults whose expected breaks are known:
 * deposits and withdrawals referenced in the bank's end-to-end id, only in its free text, or truncated by
 * its interface to 16 characters; batch payouts booked as one bank line (with or without itemised parts);
 * withdrawals paid in two bank lines; fees without references. Used by the tests and the benchmark.
 */
export interface ScenarioOptions {
  readonly seed: number;
  readonly movements: number;
  /** Share of movements given a fault, e.g. 0.02. */
  readonly faultRate: number;
  readonly account?: string;
  readonly currency?: string;
  readonly day?: string;
  readonly statementId?: string;
}

export type FaultKind =
  | 'missing_in_bank'
  | 'missing_in_ledger'
  | 'unauthorized_debit'
  | 'amount_mismatch'
  | 'date_mismatch'
  | 'duplicate_bank'
  | 'duplicate_ledger'
  | 'currency_mismatch'
  | 'unbooked_fee'
  | 'batch_sum_mismatch';

export const FAULT_KINDS: readonly FaultKind[] = [
  'missing_in_bank',
  'missing_in_ledger',
  'unauthorized_debit',
  'amount_mismatch',
  'date_mismatch',
  'duplicate_bank',
  'duplicate_ledger',
  'currency_mismatch',
  'unbooked_fee',
  'batch_sum_mismatch',
];

export interface ExpectedBreak {
  readonly type: BreakType;
  readonly ledger: readonly string[];
  readonly bank: readonly string[];
  readonly fault: FaultKind;
}

export interface Scenario {
  readonly ledger: LedgerItem[];
  readonly bank: BankItem[];
  readonly expected: ExpectedBreak[];
  readonly account: string;
  readonly currency: string;
  readonly statementId: string;
  readonly day: string;
}

/** mulberry32: a small, fast, seedable generator, so every scenario is reproducible from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TRUNCATED_LENGTH = 16;

export function generateScenario(options: ScenarioOptions): Scenario {
  const random = seededRandom(options.seed);
  const account = options.account ?? 'DE89370400440532013000';
  const currency = options.currency ?? 'EUR';
  const day = options.day ?? '2025-01-02';
  const statementId = options.statementId ?? 'STMT-2025-001';
  const dayNumber = dayNumberOf(day)!;
  const ledger: LedgerItem[] = [];
  const bank: BankItem[] = [];
  const expected: ExpectedBreak[] = [];
  const integer = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1));
  // Payments: 100.00 .. 1,000,000.00 so that two unrelated payments rarely share an amount.
  const paymentMinor = (): bigint => BigInt(integer(10_000, 100_000_000));
  const pad = (value: number): string => String(value).padStart(8, '0');
  let lineNo = 0;
  const addBank = (
    fields: Omit<BankItem, 'id' | 'statementId' | 'lineNo' | 'account' | 'currency' | 'reversal'> & { currency?: string; reversal?: boolean },
    id: string,
  ): BankItem => {
    lineNo += 1;
    const item: BankItem = { id, statementId, lineNo, account, currency, reversal: false, bankRef: id, ...fields };
    bank.push(item);
    return item;
  };
  const feeAmounts = [-150n, -200n, -250n, -500n];
  for (let movement = 0; movement < options.movements; movement += 1) {
    const serial = pad(movement);
    const kindRoll = random();
    const valueDay = isoDateOfDayNumber(dayNumber);
    const bankDay = isoDateOfDayNumber(dayNumber + (random() < 0.2 ? 1 : 0));
    if (kindRoll < 0.03) {
      // A batch payout: 3-5 ledger payouts sent as one bank instruction.
      const size = integer(3, 5);
      const batchReference = `BATCH-${serial}`;
      const members: LedgerItem[] = [];
      for (let part = 0; part < size; part += 1) {
        members.push({
          entryId: `L${serial}-${part}`,
          account,
          currency,
          amountMinor: -paymentMinor(),
          valueDate: valueDay,
          reference: `PLAT-P-${serial}-${part}`,
          batchReference,
          kind: 'payout',
        });
      }
      ledger.push(...members);
      let sum = members.reduce((total, item) => total + item.amountMinor, 0n);
      const faulty = random() < options.faultRate;
      if (faulty) sum -= BigInt(integer(1, 5_000));
      const itemised = random() < 0.5;
      const transactions: BankTransactionPart[] | undefined = itemised
        ? members.map((item) => ({ amountMinor: item.amountMinor, endToEndId: item.reference! }))
        : undefined;
      const line = addBank(
        {
          amountMinor: sum,
          valueDate: bankDay,
          bookingDate: bankDay,
          endToEndId: itemised ? 'NOTPROVIDED' : batchReference,
          remittance: `batch payout ${batchReference}`,
          bankTxCode: 'PMNT/ICDT/ESCT',
          ...(transactions === undefined ? {} : { transactions }),
        },
        `B${serial}`,
      );
      if (faulty) expected.push({ type: 'amount_mismatch', ledger: members.map((item) => item.entryId), bank: [line.id], fault: 'batch_sum_mismatch' });
      continue;
    }
    if (kindRoll < 0.05) {
      // A withdrawal the bank paid in two parts (n:1).
      const amountMinor = -paymentMinor();
      const reference = `PLAT-W-${serial}`;
      ledger.push({ entryId: `L${serial}`, account, currency, amountMinor, valueDate: valueDay, reference, kind: 'withdrawal' });
      const first = amountMinor / 3n;
      addBank({ amountMinor: first, valueDate: bankDay, endToEndId: reference, bankTxCode: 'PMNT/ICDT/ESCT' }, `B${serial}-1`);
      addBank({ amountMinor: amountMinor - first, valueDate: bankDay, endToEndId: reference, bankTxCode: 'PMNT/ICDT/ESCT' }, `B${serial}-2`);
      continue;
    }
    if (kindRoll < 0.1) {
      // A fee booked on both sides without any reference: only amount and date can pair it.
      const amountMinor = feeAmounts[integer(0, feeAmounts.length - 1)]!;
      ledger.push({ entryId: `L${serial}`, account, currency, amountMinor, valueDate: valueDay, kind: 'fee', description: 'account fee' });
      addBank({ amountMinor, valueDate: valueDay, remittance: 'account fee', bankTxCode: 'ACMT/MDOP/CHRG' }, `B${serial}`);
      continue;
    }
    // A deposit or a withdrawal, referenced in one of three ways.
    const deposit = random() < 0.5;
    const style = random();
    const truncated = style >= 0.85;
    // Truncated references keep their distinctive part within the first 16 characters, as platforms design them.
    const reference = truncated
      ? `P${deposit ? 'D' : 'W'}${serial}-ORDER-${integer(100, 999)}-${deposit ? 'DEPOSIT' : 'PAYOUT'}`
      : `PLAT-${deposit ? 'D' : 'W'}-${serial}`;
    const amountMinor = deposit ? paymentMinor() : -paymentMinor();
    const entry: LedgerItem = {
      entryId: `L${serial}`,
      account,
      currency,
      amountMinor,
      valueDate: valueDay,
      reference,
      kind: deposit ? 'deposit' : 'withdrawal',
      subAccount: `C${integer(1, 50_000)}`,
    };
    ledger.push(entry);
    const references =
      style < 0.7
        ? { endToEndId: reference }
        : truncated
          ? { endToEndId: 'NOTPROVIDED', customerRef: reference.slice(0, TRUNCATED_LENGTH) }
          : { endToEndId: 'NOTPROVIDED', remittance: `${deposit ? 'deposit' : 'payout'} ${reference.replace(/-/g, ' ').toLowerCase()} thank you` };
    const bankFields = {
      amountMinor,
      valueDate: bankDay,
      bookingDate: bankDay,
      counterpartyName: `Customer ${serial}`,
      bankTxCode: 'PMNT/RCDT/ESCT',
      ...references,
    };
    const id = `B${serial}`;
    const fault = random() < options.faultRate ? FAULT_KINDS[integer(0, FAULT_KINDS.length - 1)]! : undefined;
    switch (fault) {
      case 'missing_in_bank':
        lineNo += 1;
        expected.push({ type: 'missing_in_bank', ledger: [entry.entryId], bank: [], fault });
        break;
      case 'amount_mismatch': {
        const delta = BigInt(integer(1, 9_999)) * (random() < 0.5 ? 1n : -1n);
        addBank({ ...bankFields, amountMinor: amountMinor + delta }, id);
        expected.push({ type: 'amount_mismatch', ledger: [entry.entryId], bank: [id], fault });
        break;
      }
      case 'date_mismatch':
        addBank({ ...bankFields, valueDate: isoDateOfDayNumber(dayNumber + integer(5, 9)) }, id);
        expected.push({ type: 'date_mismatch', ledger: [entry.entryId], bank: [id], fault });
        break;
      case 'duplicate_bank':
        addBank(bankFields, id);
        addBank(bankFields, `${id}D`);
        expected.push({ type: 'duplicate', ledger: [], bank: [`${id}D`], fault });
        break;
      case 'duplicate_ledger':
        addBank(bankFields, id);
        ledger.push({ ...entry, entryId: `${entry.entryId}D` });
        expected.push({ type: 'duplicate', ledger: [`${entry.entryId}D`], bank: [], fault });
        break;
      case 'currency_mismatch': {
        const other = currency === 'USD' ? 'EUR' : 'USD';
        addBank({ ...bankFields, currency: other }, id);
        expected.push({ type: 'currency_mismatch', ledger: [entry.entryId], bank: [id], fault });
        break;
      }
      case 'missing_in_ledger': {
        addBank(bankFields, id);
        const extra = addBank(
          { amountMinor: paymentMinor(), valueDate: bankDay, endToEndId: `EXT-${serial}`, remittance: 'incoming transfer', bankTxCode: 'PMNT/RCDT/ESCT' },
          `${id}X`,
        );
        expected.push({ type: 'missing_in_ledger', ledger: [], bank: [extra.id], fault });
        break;
      }
      case 'unauthorized_debit': {
        addBank(bankFields, id);
        const extra = addBank({ amountMinor: -paymentMinor(), valueDate: bankDay, endToEndId: `UNK-${serial}`, bankTxCode: 'PMNT/ICDT/ESCT' }, `${id}X`);
        expected.push({ type: 'unauthorized_debit', ledger: [], bank: [extra.id], fault });
        break;
      }
      case 'unbooked_fee': {
        addBank(bankFields, id);
        // 10.00 .. 99.99: never the amount of a booked fee or of a payment.
        const extra = addBank(
          { amountMinor: -BigInt(integer(1_000, 9_999)), valueDate: bankDay, remittance: `overdraft charge ${serial}`, bankTxCode: 'ACMT/MDOP/CHRG' },
          `${id}X`,
        );
        expected.push({ type: 'missing_in_ledger', ledger: [], bank: [extra.id], fault });
        break;
      }
      case 'batch_sum_mismatch':
      case undefined:
        addBank(bankFields, id);
        break;
    }
  }
  return { ledger, bank, expected, account, currency, statementId, day };
}
