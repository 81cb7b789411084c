import { AmountColumn, LedgerColumns } from './columns';
import { ledgerItem } from '../testing/items.fixtures';

describe(AmountColumn.name, () => {
  it('keeps amounts exact, in 64 bits while they fit and as bigints from the first one that does not', () => {
    const column = new AmountColumn();
    const values = [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n)];
    for (let index = 0; index < 3000; index += 1) column.push(BigInt(index) * 1_000_003n - 7n);
    for (const value of values) column.push(value);
    const huge = 123_456_789_012_345_678_901_234_567_890n;
    column.push(huge);
    column.push(-5n);

    expect(column.length).toBe(3006);
    expect(column.at(2999)).toBe(2999n * 1_000_003n - 7n);
    expect([column.at(3000), column.at(3001), column.at(3002), column.at(3003)]).toEqual(values);
    expect(column.at(3004)).toBe(huge);
    expect(column.at(3005)).toBe(-5n);
  });
});

describe(LedgerColumns.name, () => {
  it('rebuilds the items it was given, in any order', () => {
    const items = [ledgerItem('L2', '-1.00', { reference: 'R2', batchReference: 'B' }), ledgerItem('L1', '99999999999999999999.99')];
    const columns = LedgerColumns.of(items);

    expect([columns.item(0), columns.item(1)]).toEqual(items);
    expect(columns.permuted([1, 0]).item(0)).toEqual(items[1]);
  });
});
