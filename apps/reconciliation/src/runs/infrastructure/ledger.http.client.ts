import { Readable } from 'node:stream';
import { type LedgerColumns, readLedgerColumns } from '@recon/matching';

/** The ledger answered, but not with what we asked for: the message names the status and the ledger's error. */
export class LedgerHttpError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'LedgerHttpError';
  }
}

/**
 * The ledger refused a transaction outright (4xx other than 408 timeout and 429 throttling): asking again will not
 * change its answer. It also proves that the ledger holds no transaction under the request's Idempotency-Key, since it
 * answers a key it knows with the stored transaction before it checks anything else. Everything else (unreachable, a
 * timeout, 5xx, 408, 429) leaves the outcome unknown and is worth retrying.
 */
export function isLedgerRefusal(error: unknown): error is LedgerHttpError {
  return (
    error instanceof LedgerHttpError && error.status !== undefined && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429
  );
}

export interface LedgerHttpSettings {
  readonly ledgerUrl: string;
  readonly serviceApiKey: string;
  readonly httpTimeoutMs: number;
}

/** The ledger's HTTP API as reconciliation uses it: the CONTRACT ledger CSV and the posting of adjustments. */
export class LedgerHttpClient {
  constructor(private readonly settings: LedgerHttpSettings) {}

  /**
   * Ledger entries on custody accounts with value dates in [from, to], as the ledger's export lists them: read by
   * the byte-level reader into columns (a day is a million entries; `item(index)` gives the object of one). The
   * entries `skip` names are left out as they are read (only their ids are decoded).
   */
  async exportedEntries(from: string, to: string, bankAccount: string, skip?: (entryId: string) => boolean): Promise<LedgerColumns> {
    const url = `${this.settings.ledgerUrl}/v1/exports/ledger.csv?${new URLSearchParams({ from, to, account: bankAccount }).toString()}`;
    const response = await this.fetch(url, { method: 'GET' });
    if (response.status !== 200 || response.body === null)
      throw new LedgerHttpError(`ledger export ${url} answered ${response.status}: ${(await response.text()).slice(0, 300)}`, response.status);
    return readLedgerColumns(Readable.fromWeb(response.body as never) as AsyncIterable<Buffer>, 'csv', 'ledger export', skip === undefined ? {} : { skip });
  }

  /** Posts one transaction; a repeated Idempotency-Key replays the first result (200) instead of posting twice. */
  async postTransaction(idempotencyKey: string, body: unknown): Promise<{ transactionId: string }> {
    const response = await this.fetch(`${this.settings.ledgerUrl}/v1/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== 200 && response.status !== 201)
      throw new LedgerHttpError(`ledger refused the adjustment (${response.status}): ${text.slice(0, 500)}`, response.status);
    const parsed = JSON.parse(text) as { transactionId?: unknown };
    if (typeof parsed.transactionId !== 'string') throw new LedgerHttpError('ledger answered without a transactionId', response.status);
    return { transactionId: parsed.transactionId };
  }

  private async fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, {
        ...init,
        headers: { ...(init.headers as Record<string, string> | undefined), 'x-api-key': this.settings.serviceApiKey },
        signal: AbortSignal.timeout(this.settings.httpTimeoutMs),
      });
    } catch (error) {
      throw new LedgerHttpError(`ledger at ${this.settings.ledgerUrl} is unreachable: ${error instanceof Error ? error.message : String(error)}`, undefined);
    }
  }
}
