/**
 * The canonical records of CONTRACT.md section 1, exactly as `recon parse` prints them (one JSON object per
 * line). Every parser yields these and nothing else. Money is a decimal string with exactly the currency's
 * ISO 4217 minor digits; dates are YYYY-MM-DD; fields a format does not carry are omitted, never null.
 */
export type StatementFormat = 'mt940' | 'mt942' | 'camt.052' | 'camt.053' | 'camt.054' | 'bai2' | `csv:${string}`;

export type TextEncoding = 'utf8' | 'latin1' | 'gb18030' | 'cp852' | 'cp1252' | 'utf16le';

export interface DatedAmount {
  readonly amount: string;
  readonly date: string;
}

export interface StatementRecord {
  readonly kind: 'statement';
  readonly format: StatementFormat;
  readonly statementId: string;
  readonly account: string;
  readonly currency: string;
  readonly sequence?: string;
  readonly from?: string;
  readonly to?: string;
  readonly openingBalance?: DatedAmount;
  readonly closingBalance?: DatedAmount;
}

export interface BatchTransaction {
  readonly amount: string;
  readonly endToEndId?: string;
  readonly remittance?: string;
  readonly bankRef?: string;
  readonly customerRef?: string;
  readonly counterpartyName?: string;
  readonly counterpartyAccount?: string;
}

export interface EntryRecord {
  readonly kind: 'entry';
  readonly statementId: string;
  /** 1-based line in the file for text formats, 1-based entry index for XML. */
  readonly lineNo: number;
  /** Signed from the account holder's side: credit +, debit -. */
  readonly amount: string;
  readonly currency: string;
  readonly bookingDate?: string;
  readonly valueDate?: string;
  readonly bankRef?: string;
  readonly endToEndId?: string;
  readonly customerRef?: string;
  readonly bankTxCode?: string;
  readonly counterpartyName?: string;
  readonly counterpartyAccount?: string;
  readonly remittance?: string;
  readonly reversal: boolean;
  readonly transactions?: readonly BatchTransaction[];
}

export interface RejectedRecord {
  readonly kind: 'rejected';
  readonly lineNo: number;
  readonly reason: string;
  readonly raw: string;
}

export type CanonicalRecord = StatementRecord | EntryRecord | RejectedRecord;

/** A whole-file failure: not the claimed format, truncated XML, unknown encoding. `recon parse` exits 2. */
export class UnreadableStatementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreadableStatementError';
  }
}
