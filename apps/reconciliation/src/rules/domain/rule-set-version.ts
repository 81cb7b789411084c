import { strict as assert } from 'node:assert';
import { buildRuleSet, parseRuleSet, type RuleSet, RuleSetError, type RulesPreview, sha256Hex, stableJson } from '@recon/matching';

/**
 * Rule set versions as this service stores them: a rule set (YAML or JSON, `parseRuleSet`) resolved and kept as its
 * canonical JSON, whose SHA-256 is the library's `rulesHash`. A version is named by the rule set's own `version`, is
 * immutable once stored, and becomes the service's rule set only when a second person activates it (four eyes).
 */
export const RULE_SET_VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}$/;
/** Match groups listed per direction (gained, lost, rule changed) in a preview; the counts are always complete. */
export const PREVIEW_GROUPS_LISTED_MAX = 500;

export type RuleSetSourceFormat = 'yaml' | 'json';

export type RulesErrorCode =
  'RULES.INVALID' | 'RULES.UNSUPPORTED_MEDIA_TYPE' | 'RULES.NOT_FOUND' | 'RULES.VERSION_CONFLICT' | 'RULES.FOUR_EYES' | 'RULES.PREVIEW_TOO_LARGE';

export class RulesError extends Error {
  constructor(
    readonly code: RulesErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RulesError';
  }
}

/** The media types a rule set is accepted in (the request's Content-Type, parameters such as charset ignored). */
export function sourceFormatOf(contentType: string | undefined): RuleSetSourceFormat | undefined {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) return 'json';
  if (['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'text/plain'].includes(mediaType)) return 'yaml';
  return undefined;
}

/**
 * A submitted rule set, validated as `recon reconcile --rules` validates a rule file, plus the version name rule of
 * the service (the name is a path segment of the API and the key of the stored version). Throws RulesError
 * (`RULES.INVALID`) naming the offending path, e.g. `rule set at rules.1.valueDateToleranceDays: Too big: ...`.
 */
export function parseSubmittedRuleSet(text: string): RuleSet {
  let ruleSet: RuleSet;
  try {
    ruleSet = parseRuleSet(text, 'rule set');
  } catch (error) {
    if (error instanceof RuleSetError) throw new RulesError('RULES.INVALID', error.message);
    throw error;
  }
  if (!RULE_SET_VERSION_PATTERN.test(ruleSet.version)) {
    throw new RulesError(
      'RULES.INVALID',
      `rule set at version: '${ruleSet.version}' is not a version name this service stores: 1 to 64 letters, digits, '.', '_', ':', '+' or '-', starting with a letter or digit`,
    );
  }
  return ruleSet;
}

/** The resolved rule set as stored: keys sorted, bigints as digit strings, without the hash (it is the hash of this text). */
export function canonicalJsonOf(ruleSet: RuleSet): string {
  const { rulesHash, ...body } = ruleSet;
  const json = stableJson(body);
  assert.equal(sha256Hex(json), rulesHash, `rule set '${ruleSet.version}': its canonical JSON does not hash to its rulesHash`);
  return json;
}

/** A stored version back to the rule set the engine runs; its hash must come out as stored (else the row is not what was approved). */
export function ruleSetOfStored(canonicalJson: string, rulesHash: string): RuleSet {
  assert.equal(sha256Hex(canonicalJson), rulesHash, 'stored rule set: canonical JSON and rules_hash differ');
  const ruleSet = buildRuleSet(JSON.parse(canonicalJson) as unknown, 'stored rule set');
  assert.equal(ruleSet.rulesHash, rulesHash, `stored rule set '${ruleSet.version}' resolves to another rulesHash than it was stored with`);
  return ruleSet;
}

/** Four eyes: the person activating a version is never the one who created it, whatever roles they hold. */
export function assertNotCreator(version: { readonly version: string; readonly createdBy: string }, activatedBy: string): void {
  if (version.createdBy === activatedBy) {
    throw new RulesError('RULES.FOUR_EYES', `rule set version '${version.version}' was created by ${activatedBy}: a different person must activate it`);
  }
}

/** What a preview answers: the library's diff, with the match group lists capped and both results' counts. */
export function previewView(preview: RulesPreview, inputs: { readonly ledgerItems: number; readonly bankItems: number }) {
  const capped = <T>(items: readonly T[]) => items.slice(0, PREVIEW_GROUPS_LISTED_MAX);
  return {
    active: preview.oldRules,
    candidate: preview.newRules,
    inputs,
    counts: { gained: preview.gained.length, lost: preview.lost.length, ruleChanged: preview.ruleChanged.length },
    listsTruncated:
      preview.gained.length > PREVIEW_GROUPS_LISTED_MAX ||
      preview.lost.length > PREVIEW_GROUPS_LISTED_MAX ||
      preview.ruleChanged.length > PREVIEW_GROUPS_LISTED_MAX,
    gained: capped(preview.gained),
    lost: capped(preview.lost),
    ruleChanged: capped(preview.ruleChanged),
    matchRate: { active: preview.matchRate.old, candidate: preview.matchRate.new },
    matchGroups: { active: preview.oldResult.matches.length, candidate: preview.newResult.matches.length },
    breaksByType: {
      active: preview.oldResult.summary.breaksByType,
      candidate: preview.newResult.summary.breaksByType,
      delta: preview.breaksByTypeDelta,
    },
  };
}
