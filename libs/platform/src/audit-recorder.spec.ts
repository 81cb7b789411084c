import { hashEntityState } from '@recon/audit-log';
import { hashOf } from './audit-recorder';

/** The state as a reader of it sees it: through JSON, bigints as decimal strings. */
function hashThroughJson(value: unknown): string {
  const json = JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? item.toString() : item));
  return hashEntityState(json === undefined ? null : JSON.parse(json));
}

class Holding {
  constructor(readonly isin: string) {}
}

describe(hashOf.name, () => {
  it('hashes a state as the JSON a reader of it would see, plain or not', () => {
    const states: unknown[] = [
      {
        type: 'missing_in_bank',
        amount: '12.30',
        ledger: ['L1'],
        bank: [],
        valueDate: undefined,
        candidates: [{ side: 'bank', id: 'B1', checks: [{ criterion: 'amount', ok: false, detail: 'off by 0.10 EUR' }] }],
      },
      { z: 1, a: { y: [1, 2.5, -0, 1e21, 5e-324], b: null }, ü: 'Grüße – 払い 💶', '\u0000': 'nul', __proto__: { inherited: true } },
      Object.assign(Object.create(null) as object, { b: 1, a: 2 }),
      { at: new Date('2025-03-04T22:00:00.000Z'), amountMinor: 1230n },
      { sparse: [1, undefined, 3], nested: { holding: new Holding('DE0001102580') } },
      { callback: () => 1, kept: 'yes' },
      ['a', undefined, null, 7n],
      'text',
      42,
      null,
    ];
    for (const state of states) expect(hashOf(state)).toBe(hashThroughJson(state));
  });

  it('refuses what JSON cannot carry, as before', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => hashOf(cycle)).toThrow(TypeError);
    expect(() => hashOf({ lone: '\ud800' })).toThrow('lone surrogate');
  });
});
