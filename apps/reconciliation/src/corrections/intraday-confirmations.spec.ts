import { pairIntradayLines } from './intraday-confirmations';

describe(pairIntradayLines.name, () => {
  const row = (line: string, intraday: boolean, partner: string, partnerMatched: boolean) => ({
    line_id: line,
    intraday,
    partner_line_id: partner,
    partner_matched: partnerMatched,
  });

  it('withdraws an open intraday line in favour of its statement line, matched or not', () => {
    expect(pairIntradayLines([row('i1', true, 's1', true)])).toEqual([{ intradayLineId: 'i1', statementLineId: 's1', withdrawnLineId: 'i1' }]);
    expect(pairIntradayLines([row('i1', true, 's1', false), row('s1', false, 'i1', false)])).toEqual([
      { intradayLineId: 'i1', statementLineId: 's1', withdrawnLineId: 'i1' },
    ]);
  });

  it('withdraws the open statement line when its intraday copy is already matched', () => {
    expect(pairIntradayLines([row('s1', false, 'i1', true)])).toEqual([{ intradayLineId: 'i1', statementLineId: 's1', withdrawnLineId: 's1' }]);
  });

  it('pairs one to one in line-id order whatever the input order: a second statement copy stays open', () => {
    const rows = [row('s2', false, 'i1', true), row('s1', false, 'i1', true)];
    const expected = [{ intradayLineId: 'i1', statementLineId: 's1', withdrawnLineId: 's1' }];
    expect(pairIntradayLines(rows)).toEqual(expected);
    expect(pairIntradayLines([...rows].reverse())).toEqual(expected);
  });
});
