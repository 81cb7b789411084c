import { defaultRuleSet, parseRuleSet, previewRules, sha256Hex } from '@recon/matching';
import {
  assertNotCreator,
  canonicalJsonOf,
  parseSubmittedRuleSet,
  PREVIEW_GROUPS_LISTED_MAX,
  previewView,
  RulesError,
  ruleSetOfStored,
  sourceFormatOf,
} from './rule-set-version';

const YAML = `version: fees-2025
defaults:
  valueDateToleranceDays: 1
ignoredReferences: [notprovided]
rules:
  - type: ref-exact
    amountToleranceMinor: 10
  - type: ref-truncated
    truncatedLengths: [35, 16]
  - type: amount-date
    id: amount-date-fees
    amountToleranceMinor: "5"
`;

describe('rule set versions', () => {
  it('stores the resolved rule set as canonical JSON that hashes to its rulesHash and reads back to the same rule set', () => {
    for (const ruleSet of [defaultRuleSet(), parseSubmittedRuleSet(YAML)]) {
      const json = canonicalJsonOf(ruleSet);
      expect(sha256Hex(json)).toBe(ruleSet.rulesHash);
      expect(json).not.toContain('rulesHash');
      const sut = ruleSetOfStored(json, ruleSet.rulesHash);
      expect(sut).toEqual(ruleSet);
      expect(canonicalJsonOf(sut)).toBe(json);
    }
  });

  it('gives the same canonical JSON for the same rules written as YAML or as JSON, in any key order and formatting', () => {
    const fromYaml = parseSubmittedRuleSet(YAML);
    const fromJson = parseSubmittedRuleSet(
      JSON.stringify({
        rules: [
          { amountToleranceMinor: '10', type: 'ref-exact' },
          { truncatedLengths: [16, 35], type: 'ref-truncated' },
          { type: 'amount-date', amountToleranceMinor: 5, id: 'amount-date-fees' },
        ],
        ignoredReferences: ['NOTPROVIDED'],
        defaults: { valueDateToleranceDays: 1, amountToleranceMinor: 0 },
        version: 'fees-2025',
      }),
    );
    expect(canonicalJsonOf(fromJson)).toBe(canonicalJsonOf(fromYaml));
    expect(fromJson.rulesHash).toBe(fromYaml.rulesHash);
    // Another tolerance is another rule set, even under the same name.
    expect(parseSubmittedRuleSet(YAML.replace('amountToleranceMinor: 10', 'amountToleranceMinor: 11')).rulesHash).not.toBe(fromYaml.rulesHash);
  });

  it('refuses a stored row whose text does not hash to its rules_hash', () => {
    const ruleSet = parseSubmittedRuleSet(YAML);
    const json = canonicalJsonOf(ruleSet);
    expect(() => ruleSetOfStored(json.replace('"10"', '"11"'), ruleSet.rulesHash)).toThrow(/rules_hash differ/);
  });

  it('refuses bad input with the path of what is wrong, as RULES.INVALID', () => {
    const invalid = (text: string) => {
      try {
        parseSubmittedRuleSet(text);
      } catch (error) {
        expect(error).toBeInstanceOf(RulesError);
        return `${(error as RulesError).code} ${(error as RulesError).message}`;
      }
      throw new Error('accepted');
    };
    expect(invalid('version: v1\nrules:\n  - type: ref-exact\n    valueDateToleranceDays: -1\n')).toMatch(
      /^RULES.INVALID rule set at rules\.0\.valueDateToleranceDays: Too small/,
    );
    expect(invalid('version: v1\nrules:\n  - type: ref-fuzzy\n')).toMatch(/^RULES.INVALID rule set at rules\.0\.type/);
    expect(invalid('version: v1\nrules: [')).toMatch(/^RULES.INVALID rule set is not valid YAML\/JSON/);
    expect(invalid('{"version": "v1", "rules": []}')).toMatch(/^RULES.INVALID rule set at rules: Too small/);
    expect(invalid('')).toMatch(/^RULES.INVALID rule set: /);
    expect(invalid('version: "fees 2025/2"\nrules: [{type: ref-exact}]\n')).toMatch(/^RULES.INVALID rule set at version: 'fees 2025\/2' is not a version name/);
    expect(invalid('version: v1\nrules: [{type: ref-exact}, {type: ref-exact}]\n')).toMatch(/rule id 'ref-exact' is used twice/);
  });

  it('accepts YAML and JSON media types only', () => {
    expect(sourceFormatOf('application/json; charset=utf-8')).toBe('json');
    expect(sourceFormatOf('application/merge-patch+json')).toBe('json');
    expect(sourceFormatOf('application/yaml')).toBe('yaml');
    expect(sourceFormatOf('Text/YAML')).toBe('yaml');
    expect(sourceFormatOf('text/plain;charset=utf-8')).toBe('yaml');
    expect(sourceFormatOf('application/octet-stream')).toBeUndefined();
    expect(sourceFormatOf('multipart/form-data; boundary=x')).toBeUndefined();
    expect(sourceFormatOf(undefined)).toBeUndefined();
  });

  it('four eyes: the creator of a version may not activate it, anyone else may', () => {
    expect(() => assertNotCreator({ version: 'v1', createdBy: 'alice' }, 'alice')).toThrow(
      expect.objectContaining({ code: 'RULES.FOUR_EYES', message: expect.stringContaining('a different person must activate it') }),
    );
    expect(() => assertNotCreator({ version: 'v1', createdBy: 'alice' }, 'bob')).not.toThrow();
  });

  it('a preview lists at most PREVIEW_GROUPS_LISTED_MAX groups per direction and counts them all', () => {
    const ledger = Array.from({ length: PREVIEW_GROUPS_LISTED_MAX + 3 }, (_, index) => ({
      entryId: `L${String(index).padStart(4, '0')}`,
      account: 'ACC',
      amountMinor: 1_000n + BigInt(index),
      currency: 'EUR',
      valueDate: '2025-01-02',
      reference: `REF-${index}-XYZ`,
    }));
    const bank = ledger.map((entry, index) => ({
      id: `B${String(index).padStart(4, '0')}`,
      statementId: 'S1',
      lineNo: index + 1,
      account: 'ACC',
      amountMinor: entry.amountMinor - 3n,
      currency: 'EUR',
      valueDate: '2025-01-02',
      endToEndId: entry.reference,
      reversal: false,
    }));
    const tolerant = parseRuleSet('version: tolerant\nrules: [{type: ref-exact, amountToleranceMinor: 3}]\n');
    const sut = previewView(previewRules(defaultRuleSet(), tolerant, { ledger, bank }), { ledgerItems: ledger.length, bankItems: bank.length });
    expect(sut.counts).toEqual({ gained: ledger.length, lost: 0, ruleChanged: 0 });
    expect(sut.gained).toHaveLength(PREVIEW_GROUPS_LISTED_MAX);
    expect(sut.listsTruncated).toBe(true);
    expect(sut.gained[0]).toEqual({ rule: 'ref-exact', ledger: ['L0000'], bank: ['B0000'] });
    expect(sut.breaksByType.active.amount_mismatch).toBe(ledger.length);
    expect(sut.breaksByType.candidate.amount_mismatch).toBe(0);
    expect(sut.breaksByType.delta.amount_mismatch).toBe(-ledger.length);
    expect(sut.matchRate).toEqual({ active: 0, candidate: 1 });
    expect(sut.active.version).toBe('default-1');
    expect(sut.candidate).toEqual({ version: 'tolerant', rulesHash: tolerant.rulesHash });
  });
});
