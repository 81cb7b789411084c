-- Cancelling an adjustment that will not be posted: a proposal nobody will approve, or an approved one the ledger
-- refused (4xx other than 408/429). A cancelled adjustment is never posted: the posting worker locks the row and
-- only posts `approved-pending-posting`; a posted one is never cancelled (the ledger holds it: reverse it instead).
ALTER TABLE adjustments DROP CONSTRAINT adjustments_status_check;
ALTER TABLE adjustments
  ADD CONSTRAINT adjustments_status_check CHECK (status IN ('proposed', 'approved-pending-posting', 'posted', 'rejected', 'cancelled')),
  ADD COLUMN cancelled_at timestamptz,
  ADD COLUMN cancelled_by text CHECK (length(cancelled_by) BETWEEN 1 AND 128),
  ADD COLUMN cancel_reason text CHECK (length(cancel_reason) BETWEEN 1 AND 2000),
  -- When the ledger last refused the posting outright: proof that it holds no transaction under the adjustment's
  -- Idempotency-Key (it answers a known key with the stored transaction before anything else). Cleared by an attempt
  -- whose outcome is unknown (unreachable, timeout, 5xx, 408, 429).
  ADD COLUMN ledger_refused_at timestamptz,
  ADD CONSTRAINT adjustments_cancelled_with_reason CHECK (
    (status = 'cancelled') = (cancelled_at IS NOT NULL AND cancelled_by IS NOT NULL AND cancel_reason IS NOT NULL)),
  ADD CONSTRAINT adjustments_cancelled_never_posted CHECK (status <> 'cancelled' OR (posted_at IS NULL AND ledger_transaction_id IS NULL));
