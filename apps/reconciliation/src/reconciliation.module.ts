import { type DynamicModule, Module } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/nats-core';
import type { PlatformConfig } from '@recon/config';
import type { RuleSet } from '@recon/matching';
import { CLOCK, type Clock, NATS_CONNECTION, PLATFORM_CONFIG, PlatformModule, type PlatformOptions } from '@recon/platform';
import { BreakRecorder } from './breaks/application/break-recorder';
import { BreakWorkflowUseCase } from './breaks/application/break-workflow.use-case';
import { PostAdjustmentUseCase } from './breaks/application/post-adjustment.use-case';
import { BankCorrectionsConsumer, BankCorrectionsHandler } from './corrections/bank-corrections.consumer';
import { BankLineWithdrawals } from './corrections/bank-line-withdrawals';
import { IntradayConfirmations } from './corrections/intraday-confirmations';
import { BreaksHttpController } from './breaks/interface/breaks.http.controller';
import { ContinuousMatcher, RULE_SET } from './matching/application/continuous-matcher';
import { ReconConsumers } from './matching/interface/recon.consumers';
import { ReconMetrics } from './metrics/recon.metrics';
import type { ReconciliationSettings } from './reconciliation.config';
import { RECONCILIATION_SETTINGS } from './runs/application/account-settings';
import { GATEWAY_HTTP_CLIENT, LEDGER_BALANCE_CLIENT, LEDGER_HTTP_CLIENT, RunBusinessDayUseCase } from './runs/application/run-business-day.use-case';
import { GatewayHttpClient } from './runs/infrastructure/gateway.http.client';
import { LedgerBalanceRpcClient } from './runs/infrastructure/ledger-balance.rpc.client';
import { LedgerHttpClient } from './runs/infrastructure/ledger.http.client';
import { ReconJobs } from './runs/infrastructure/recon-jobs';
import { AccountsHttpController } from './runs/interface/accounts.http.controller';
import { RunsHttpController } from './runs/interface/runs.http.controller';
import { ActiveRuleSetProvider } from './rules/application/active-rule-set';
import { RuleSetVersionsUseCase } from './rules/application/rule-set-versions.use-case';
import { RuleSetsPgRepository } from './rules/infrastructure/rule-sets.pg.repository';
import { RulesHttpController } from './rules/interface/rules.http.controller';

@Module({})
export class ReconciliationModule {
  static register(platform: PlatformOptions, settings: ReconciliationSettings, ruleSet: RuleSet): DynamicModule {
    return {
      module: ReconciliationModule,
      imports: [PlatformModule.forService(platform)],
      controllers: [RunsHttpController, BreaksHttpController, AccountsHttpController, RulesHttpController],
      providers: [
        { provide: RECONCILIATION_SETTINGS, useValue: settings },
        { provide: RULE_SET, useValue: ruleSet },
        {
          // The rule set in force: the latest activated version, else `ruleSet` (the built-in one).
          provide: ActiveRuleSetProvider,
          inject: [CLOCK],
          useFactory: (clock: Clock) => new ActiveRuleSetProvider(ruleSet, new RuleSetsPgRepository(), clock, settings.rulesRecheckIntervalMs),
        },
        RuleSetVersionsUseCase,
        { provide: LEDGER_HTTP_CLIENT, useFactory: () => new LedgerHttpClient(settings) },
        { provide: GATEWAY_HTTP_CLIENT, useFactory: () => new GatewayHttpClient(settings) },
        {
          provide: LEDGER_BALANCE_CLIENT,
          inject: [NATS_CONNECTION, PLATFORM_CONFIG],
          useFactory: (nats: NatsConnection, config: PlatformConfig) => new LedgerBalanceRpcClient(nats, config.NATS_NAMESPACE, config.NATS_REQUEST_TIMEOUT_MS),
        },
        BreakRecorder,
        ContinuousMatcher,
        RunBusinessDayUseCase,
        BreakWorkflowUseCase,
        PostAdjustmentUseCase,
        ReconJobs,
        ReconConsumers,
        ReconMetrics,
        BankCorrectionsHandler,
        BankCorrectionsConsumer,
        BankLineWithdrawals,
        IntradayConfirmations,
      ],
    };
  }
}
