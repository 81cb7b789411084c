import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { Actor } from '@recon/auth';
import type { Role } from '@recon/config';
import { enqueueEvents, type OutgoingEvent } from '@recon/messaging';
import { AuditRecorder, CLOCK, type Clock, ID_GENERATOR, type IdGenerator, TRANSACTIONS } from '@recon/platform';
import type { SqlExecutor, TransactionRunner } from '@recon/persistence';
import { type JournalError, JournalErrorCode, err, journalError, ok, type Result } from '../domain/journal.errors';
import { buildPostings, type NewTransaction, type TransactionInput } from '../domain/transaction';
import { isOverdrawn, JournalPgRepository, type TransactionView } from '../infrastructure/journal.pg.repository';
import { transactionPostedEvent } from './transaction-posted.event';

export const POST_BATCH_SIZE_MAX = 1_000;
const CONCURRENT_KEY_RETRIES_MAX = 3;

export interface PostTransactionItem {
  readonly idempotencyKey: string;
  readonly input: TransactionInput;
}

export interface PostTransactionsCommand {
  readonly actor: Actor;
  readonly role: Role | undefined;
  readonly items: readonly PostTransactionItem[];
  readonly withViews: boolean;
}

export interface PostedItem {
  readonly status: 'created' | 'replayed';
  readonly transactionId: string;
  readonly idempotencyKey: string;
  /** The full transaction, read back for single postings; bulk posting answers with ids only. */
  readonly transaction?: TransactionView;
}

/** Signals that another request inserted one of our idempotency keys after we looked: rerun the whole unit. */
class ConcurrentIdempotencyKey extends Error {}

/**
 * Posts one or many balanced transactions atomically: all of them or none. Each carries a client-chosen
 * idempotency key: the same key with the same body returns the original transaction; with a different
 * body it is refused. The postings, the running totals, the `ledger.transaction.posted` events and the
 * audit events commit in one database transaction (outbox).
 */
@Injectable()
export class PostTransactionsUseCase {
  private readonly journal = new JournalPgRepository();

  constructor(
    @Inject(TRANSACTIONS) private readonly transactions: TransactionRunner,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    private readonly audit: AuditRecorder,
  ) {}

  async execute(command: PostTransactionsCommand): Promise<Result<PostedItem[], JournalError>> {
    if (command.items.length === 0) return ok([]);
    if (command.items.length > POST_BATCH_SIZE_MAX) {
      throw new RangeError(`at most ${POST_BATCH_SIZE_MAX} transactions per batch`);
    }
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.transactions.transaction((executor) => this.postWithin(executor, command));
      } catch (error: unknown) {
        if (error instanceof InsufficientFundsSignal) return err(error.error);
        if (!(error instanceof ConcurrentIdempotencyKey) || attempt >= CONCURRENT_KEY_RETRIES_MAX) throw error;
      }
    }
  }

  private async postWithin(executor: SqlExecutor, command: PostTransactionsCommand): Promise<Result<PostedItem[], JournalError>> {
    const hashes = command.items.map((item) => requestHashOf(item.input));
    const existing = await this.journal.findByIdempotencyKeys(
      executor,
      command.items.map((item) => item.idempotencyKey),
    );
    const firstIndexOfKey = new Map<string, number>();
    const fresh: { index: number; item: PostTransactionItem }[] = [];
    for (const [index, item] of command.items.entries()) {
      const hash = hashes[index] ?? '';
      const stored = existing.get(item.idempotencyKey);
      const earlier = firstIndexOfKey.get(item.idempotencyKey);
      if (stored !== undefined && stored.requestSha256 !== hash) return err(keyReused(item.idempotencyKey, command.items.length > 1 ? index : undefined));
      if (earlier !== undefined && hashes[earlier] !== hash) return err(keyReused(item.idempotencyKey, index));
      if (stored === undefined && earlier === undefined) fresh.push({ index, item });
      if (earlier === undefined) firstIndexOfKey.set(item.idempotencyKey, index);
    }

    const accounts = await this.journal.findAccountsByCodes(
      executor,
      fresh.flatMap(({ item }) => item.input.lines.map((line) => line.account)),
    );
    const postedAt = this.clock.now();
    const newTransactions: NewTransaction[] = [];
    const transactionIdByKey = new Map<string, string>([...existing].map(([key, stored]) => [key, stored.transactionId]));
    for (const { index, item } of fresh) {
      const postings = buildPostings(item.input, accounts, command.items.length > 1 ? index : undefined);
      if (!postings.ok) return postings;
      const transactionId = this.ids.uuid();
      transactionIdByKey.set(item.idempotencyKey, transactionId);
      newTransactions.push({
        transactionId,
        idempotencyKey: item.idempotencyKey,
        requestSha256: hashes[index] ?? '',
        kind: item.input.kind,
        reference: item.input.reference,
        batchReference: item.input.batchReference,
        description: item.input.description,
        valueDate: item.input.valueDate,
        postedAt,
        postedBy: command.actor.id,
        reversesTransactionId: undefined,
        postings: postings.value,
      });
    }

    const inserted = await this.journal.append(executor, newTransactions);
    if (inserted.size !== newTransactions.length) throw new ConcurrentIdempotencyKey();
    await this.recordEvents(executor, command, newTransactions);
    // Running totals last: their row locks (the custody account's above all) are then held only until commit.
    const totals = await this.journal.applyToBalances(executor, newTransactions);
    const overdrawn = totals.find(isOverdrawn);
    if (overdrawn !== undefined) {
      // Throwing rolls the whole unit back, events included; execute() turns the signal into an error value.
      throw new InsufficientFundsSignal(journalError(JournalErrorCode.InsufficientFunds, `account '${overdrawn.account.code}' would go below zero`));
    }
    const views = command.withViews ? await this.journal.loadViews(executor, [...new Set(transactionIdByKey.values())]) : undefined;
    const createdKeys = new Set(newTransactions.map((tx) => tx.idempotencyKey));
    const seen = new Set<string>();
    return ok(
      command.items.map((item) => {
        const transactionId = transactionIdByKey.get(item.idempotencyKey);
        if (transactionId === undefined) throw new Error(`transaction for key '${item.idempotencyKey}' vanished`);
        const view = views?.get(transactionId);
        if (views !== undefined && view === undefined) throw new Error(`transaction ${transactionId} vanished`);
        const status = createdKeys.has(item.idempotencyKey) && !seen.has(item.idempotencyKey) ? 'created' : 'replayed';
        seen.add(item.idempotencyKey);
        return { status, transactionId, idempotencyKey: item.idempotencyKey, ...(view === undefined ? {} : { transaction: view }) };
      }),
    );
  }

  private async recordEvents(executor: SqlExecutor, command: PostTransactionsCommand, transactions: readonly NewTransaction[]): Promise<void> {
    if (transactions.length === 0) return;
    const events: OutgoingEvent[] = transactions.map((tx) => transactionPostedEvent(tx));
    await enqueueEvents(executor, events);
    if (transactions.length === 1) {
      const tx = transactions[0] as NewTransaction;
      await this.audit.record(executor, {
        actor: command.actor,
        role: command.role,
        action: 'transaction.post',
        entity: { type: 'transaction', id: tx.transactionId },
        after: transactionPostedEvent(tx).payload,
        details: { idempotencyKey: tx.idempotencyKey, kind: tx.kind, valueDate: tx.valueDate, reference: tx.reference },
      });
      return;
    }
    // A bulk import is one act of one caller: one audit event naming every transaction by hash and count.
    await this.audit.record(executor, {
      actor: command.actor,
      role: command.role,
      action: 'transaction.post-batch',
      entity: { type: 'transaction-batch', id: transactions[0]?.transactionId ?? '' },
      after: transactions.map((tx) => tx.transactionId),
      details: {
        transactionCount: transactions.length,
        firstTransactionId: transactions[0]?.transactionId ?? '',
        lastTransactionId: transactions.at(-1)?.transactionId ?? '',
      },
    });
  }
}

export class InsufficientFundsSignal extends Error {
  constructor(readonly error: JournalError) {
    super(error.message);
  }
}

function keyReused(key: string, index: number | undefined): JournalError {
  return journalError(JournalErrorCode.IdempotencyKeyReused, `idempotency key '${key}' was already used with a different request body`, index);
}

/** SHA-256 of the request with keys sorted, so that key order in the JSON does not matter. */
export function requestHashOf(input: TransactionInput): string {
  const canonical = {
    kind: input.kind,
    valueDate: input.valueDate,
    reference: input.reference,
    batchReference: input.batchReference ?? null,
    description: input.description ?? null,
    lines: input.lines.map((line) => [line.account, line.side, line.amount, line.currency]),
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}
