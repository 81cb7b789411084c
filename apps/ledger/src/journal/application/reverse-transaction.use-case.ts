import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { Actor } from '@recon/auth';
import type { Role } from '@recon/config';
import { enqueueEvents } from '@recon/messaging';
import { Money } from '@recon/money';
import { AuditRecorder, CLOCK, type Clock, ID_GENERATOR, type IdGenerator, TRANSACTIONS } from '@recon/platform';
import type { SqlExecutor, TransactionRunner } from '@recon/persistence';
import { type JournalError, JournalErrorCode, err, journalError, ok, type Result } from '../domain/journal.errors';
import { assertBalanced, type NewTransaction, type Posting } from '../domain/transaction';
import { isOverdrawn, JournalPgRepository } from '../infrastructure/journal.pg.repository';
import { InsufficientFundsSignal, type PostedItem } from './post-transactions.use-case';
import { transactionPostedEvent } from './transaction-posted.event';

export interface ReverseTransactionCommand {
  readonly actor: Actor;
  readonly role: Role | undefined;
  readonly idempotencyKey: string;
  readonly transactionId: string;
  /** Defaults to the original value date, so that balances as of that date are corrected too. */
  readonly valueDate: string | undefined;
  readonly description: string | undefined;
}

/**
 * The only correction there is: a new transaction with every posting of the original on the other side.
 * A transaction is reversed at most once (a unique constraint says so too), and a reversal is never
 * itself reversed: post a new transaction instead.
 */
@Injectable()
export class ReverseTransactionUseCase {
  private readonly journal = new JournalPgRepository();

  constructor(
    @Inject(TRANSACTIONS) private readonly transactions: TransactionRunner,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    private readonly audit: AuditRecorder,
  ) {}

  async execute(command: ReverseTransactionCommand): Promise<Result<PostedItem, JournalError>> {
    try {
      return await this.transactions.transaction((executor) => this.reverseWithin(executor, command));
    } catch (error: unknown) {
      if (error instanceof InsufficientFundsSignal) return err(error.error);
      if ((error as { code?: string }).code === '23505') {
        // Another request reversed it (or used the key) between our checks and our insert.
        return err(
          journalError(JournalErrorCode.AlreadyReversed, `transaction '${command.transactionId}' is already reversed or the idempotency key is taken`),
        );
      }
      throw error;
    }
  }

  private async reverseWithin(executor: SqlExecutor, command: ReverseTransactionCommand): Promise<Result<PostedItem, JournalError>> {
    const requestSha256 = createHash('sha256')
      .update(JSON.stringify(['reversal', command.transactionId, command.valueDate ?? null, command.description ?? null]))
      .digest('hex');
    const stored = (await this.journal.findByIdempotencyKeys(executor, [command.idempotencyKey])).get(command.idempotencyKey);
    if (stored !== undefined) {
      if (stored.requestSha256 !== requestSha256) {
        return err(
          journalError(JournalErrorCode.IdempotencyKeyReused, `idempotency key '${command.idempotencyKey}' was already used with a different request`),
        );
      }
      const view = (await this.journal.loadViews(executor, [stored.transactionId])).get(stored.transactionId);
      if (view === undefined) throw new Error(`transaction ${stored.transactionId} vanished`);
      return ok({ status: 'replayed', transactionId: view.transactionId, idempotencyKey: view.idempotencyKey, transaction: view });
    }
    const original = await this.journal.findForReversal(executor, command.transactionId);
    if (original === undefined) return err(journalError(JournalErrorCode.TransactionNotFound, `no transaction '${command.transactionId}'`));
    if (original.kind === 'reversal')
      return err(
        journalError(JournalErrorCode.ReversalOfReversal, `transaction '${command.transactionId}' is itself a reversal; post a new transaction instead`),
      );
    if (original.reversedBy !== null) {
      return err(journalError(JournalErrorCode.AlreadyReversed, `transaction '${command.transactionId}' was already reversed by '${original.reversedBy}'`));
    }
    const originalView = (await this.journal.loadViews(executor, [command.transactionId])).get(command.transactionId);
    if (originalView === undefined) throw new Error(`transaction ${command.transactionId} vanished`);
    const accounts = await this.journal.findAccountsByCodes(
      executor,
      originalView.lines.map((line) => line.account),
    );
    const postings: Posting[] = originalView.lines.map((line, index) => {
      const account = accounts.get(line.account);
      if (account === undefined) throw new Error(`account ${line.account} vanished`);
      return { lineNo: index + 1, account, side: line.side === 'debit' ? 'credit' : 'debit', amount: Money.parse(line.amount, line.currency) };
    });
    assertBalanced(postings);
    const reversal: NewTransaction = {
      transactionId: this.ids.uuid(),
      idempotencyKey: command.idempotencyKey,
      requestSha256,
      kind: 'reversal',
      reference: originalView.reference,
      batchReference: originalView.batchReference,
      description: command.description ?? `reversal of ${command.transactionId}`,
      valueDate: command.valueDate ?? originalView.valueDate,
      postedAt: this.clock.now(),
      postedBy: command.actor.id,
      reversesTransactionId: command.transactionId,
      postings,
    };
    await this.journal.append(executor, [reversal]);
    const overdrawn = (await this.journal.applyToBalances(executor, [reversal])).find(isOverdrawn);
    if (overdrawn !== undefined) {
      throw new InsufficientFundsSignal(
        journalError(JournalErrorCode.InsufficientFunds, `reversing would take account '${overdrawn.account.code}' below zero`),
      );
    }
    const event = transactionPostedEvent(reversal);
    await enqueueEvents(executor, [event]);
    await this.audit.record(executor, {
      actor: command.actor,
      role: command.role,
      action: 'transaction.reverse',
      entity: { type: 'transaction', id: command.transactionId },
      before: originalView,
      after: event.payload,
      details: { reversalTransactionId: reversal.transactionId, idempotencyKey: command.idempotencyKey },
    });
    const view = (await this.journal.loadViews(executor, [reversal.transactionId])).get(reversal.transactionId);
    if (view === undefined) throw new Error('reversal vanished');
    return ok({ status: 'created', transactionId: view.transactionId, idempotencyKey: view.idempotencyKey, transaction: view });
  }
}
