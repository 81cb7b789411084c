import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Roles } from '@recon/auth';
import type { Telemetry } from '@recon/observability';
import type { Request, Response } from 'express';
import { TELEMETRY } from './tokens';

/** Prometheus exposition; scrapers authenticate like any caller, with the `service` role. */
@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor(@Inject(TELEMETRY) private readonly telemetry: Telemetry) {}

  @Roles('service', 'ops', 'auditor')
  @Get('metrics')
  metrics(@Req() request: Request, @Res() response: Response): void {
    this.telemetry.metricsHandler(request, response);
  }
}
