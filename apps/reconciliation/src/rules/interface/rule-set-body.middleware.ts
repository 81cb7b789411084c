import { RULE_FILE_BYTES_MAX } from '@recon/matching';
import express, { type RequestHandler } from 'express';
import { sourceFormatOf } from '../domain/rule-set-version';

/** Where the rule set bodies are posted; mounted before the JSON parser. */
export const RULE_SET_BODY_PATH = '/v1/rules/versions';

/**
 * Rule set bodies are read as text (YAML, or JSON, which is YAML), at most the library's rule file limit (413
 * beyond): `parseRuleSet` then reads both the same way, with the same error messages, as `recon reconcile --rules`.
 * Other content types are left alone (the controller answers 415).
 */
export function ruleSetBodyParser(): RequestHandler {
  return express.text({ type: (request) => sourceFormatOf(request.headers['content-type']) !== undefined, limit: RULE_FILE_BYTES_MAX });
}
