import { type DynamicModule, Module } from '@nestjs/common';
import { PlatformModule, type PlatformOptions } from '@recon/platform';
import { OpenAccountUseCase } from './accounts/application/open-account.use-case';
import { AccountsHttpController } from './accounts/interface/accounts.http.controller';
import { BalancesQuery } from './balances/application/balances.query';
import { BalancesNatsController } from './balances/interface/balances.nats.controller';
import { ExportsHttpController } from './exports/interface/exports.http.controller';
import { PostTransactionsUseCase } from './journal/application/post-transactions.use-case';
import { ReverseTransactionUseCase } from './journal/application/reverse-transaction.use-case';
import { TransactionsHttpController } from './journal/interface/transactions.http.controller';

@Module({})
export class LedgerModule {
  static register(platform: PlatformOptions): DynamicModule {
    return {
      module: LedgerModule,
      imports: [PlatformModule.forService(platform)],
      controllers: [AccountsHttpController, TransactionsHttpController, ExportsHttpController, BalancesNatsController],
      providers: [OpenAccountUseCase, PostTransactionsUseCase, ReverseTransactionUseCase, BalancesQuery],
    };
  }
}
