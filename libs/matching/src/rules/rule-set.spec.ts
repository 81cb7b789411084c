import { buildRuleSet, defaultRuleSet, parseRuleSet, RuleSetError } from './rule-set';

const EXAMPLE = `
version: "2025-02-custody"
defaults:
  valueDateToleranceDays: 2
rules:
  - type: ref-exact
  - type: ref-in-text
    referenceLengthMin: 8
  - type: amount-date
    id: amount-date-fees
    amountToleranceMinor: 5
    valueDateToleranceDays: 1
`;

describe(parseRuleSet.name, () => {
  it('resolves a YAML rule file with defaults filled in', () => {
    const sut = parseRuleSet(EXAMPLE);

    expect(sut.version).toBe('2025-02-custody');
    expect(sut.rules.map((rule) => [rule.id, rule.type, rule.amountToleranceMinor, rule.valueDateToleranceDays])).toEqual([
      ['ref-exact', 'ref-exact', 0n, 2],
      ['ref-in-text', 'ref-in-text', 0n, 2],
      ['amount-date-fees', 'amount-date', 5n, 1],
    ]);
    expect(sut.rules[1]).toMatchObject({ referenceLengthMin: 8, tokensJoinedMax: 4 });
  });

  it('reads JSON as well, with the same hash as the equivalent YAML', () => {
    const json = JSON.stringify({
      version: '2025-02-custody',
      defaults: { valueDateToleranceDays: 2 },
      rules: [
        { type: 'ref-exact' },
        { type: 'ref-in-text', referenceLengthMin: 8 },
        { type: 'amount-date', id: 'amount-date-fees', amountToleranceMinor: 5, valueDateToleranceDays: 1 },
      ],
    });

    expect(parseRuleSet(json).rulesHash).toBe(parseRuleSet(EXAMPLE).rulesHash);
  });

  it('changes the hash when behaviour changes, not when the version alone is unchanged', () => {
    const wider = parseRuleSet(EXAMPLE.replace('valueDateToleranceDays: 1', 'valueDateToleranceDays: 3'));

    expect(wider.rulesHash).not.toBe(parseRuleSet(EXAMPLE).rulesHash);
    expect(parseRuleSet(EXAMPLE).rulesHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['an unknown rule type', 'version: v1\nrules:\n  - type: fuzzy\n', /rule file at rules\.0\.type/],
    ['a negative tolerance', 'version: v1\nrules:\n  - type: ref-exact\n    valueDateToleranceDays: -1\n', /rules\.0\.valueDateToleranceDays/],
    ['an unknown option', 'version: v1\nrules:\n  - type: ref-exact\n    fuzzy: true\n', /rules\.0/],
    ['no rules', 'version: v1\nrules: []\n', /rules/],
    ['a missing version', 'rules:\n  - type: ref-exact\n', /version/],
    ['the same id twice', 'version: v1\nrules:\n  - type: ref-exact\n  - type: ref-exact\n', /rule id 'ref-exact' is used twice/],
    ['broken YAML', 'version: [v1\n', /not valid YAML\/JSON/],
  ])('refuses %s with an error naming where', (_, text, message) => {
    expect(() => parseRuleSet(text)).toThrow(RuleSetError);
    expect(() => parseRuleSet(text)).toThrow(message);
  });
});

describe(defaultRuleSet.name, () => {
  it('is the documented chain: exact amounts, 2 days, references in text and truncated, batches, then amount and date', () => {
    const sut = defaultRuleSet();

    expect(sut.rules.map((rule) => rule.id)).toEqual(['ref-exact', 'ref-in-text', 'ref-truncated', 'batch', 'amount-date']);
    expect(sut.rules.every((rule) => rule.amountToleranceMinor === 0n && rule.valueDateToleranceDays === 2)).toBe(true);
    expect(sut.rulesHash).not.toBe(buildRuleSet({ version: 'default-1', rules: [{ type: 'ref-exact' }] }).rulesHash);
  });
});
