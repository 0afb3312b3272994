"""Invariants that span rows, kept by the database itself.

* A charge's installments sum to the charge, and every installment's amount is its assessed
  amount plus its adjustments (更正): a deferred constraint trigger checks it at commit, so a
  service may write the charge and its installments in any order inside one transaction.
* Allocations keep the running totals ``Installment.allocated``, ``Payment.allocated_amount`` and
  ``Credit.used`` up to date in one statement-level trigger (a batch of a million allocations is
  one UPDATE … FROM per table); the CHECK constraints on those columns then refuse an installment
  paid beyond its amount and a confirmed payment whose parts do not add up.
* Allocations, adjustments and ledger events are append-only.
* Unlogged staging tables for the set-based batch steps (COPY in, INSERT … SELECT out); they
  survive a crashed worker, so a run resumes from its cursor.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION payments_check_charge_sum(p_charge bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_amount bigint;
    v_sum bigint;
BEGIN
    SELECT amount INTO v_amount FROM payments_charge WHERE id = p_charge;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT COALESCE(SUM(amount), 0) INTO v_sum FROM payments_installment WHERE charge_id = p_charge;
    IF v_sum <> v_amount THEN
        RAISE EXCEPTION 'installments of charge % sum to % yen, the charge is % yen', p_charge, v_sum, v_amount
            USING ERRCODE = '23514', CONSTRAINT = 'installments_sum_to_charge';
    END IF;
END $$;

CREATE FUNCTION payments_charge_sum_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'payments_charge' THEN
        PERFORM payments_check_charge_sum(NEW.id);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM payments_check_charge_sum(OLD.charge_id);
    ELSE
        -- An installment inserted with its charge (same transaction) is covered by the charge's
        -- own check at commit, which sees every installment: skip the repeated sums (a billing
        -- run inserts a million installments). A charge made in a savepoint has another xid and
        -- is simply checked again.
        IF TG_OP = 'INSERT' AND EXISTS (
            SELECT 1 FROM payments_charge c
             WHERE c.id = NEW.charge_id AND c.xmin = xid(pg_current_xact_id())) THEN
            RETURN NULL;
        END IF;
        PERFORM payments_check_charge_sum(NEW.charge_id);
        IF TG_OP = 'UPDATE' AND OLD.charge_id <> NEW.charge_id THEN
            PERFORM payments_check_charge_sum(OLD.charge_id);
        END IF;
        -- A deferred trigger sees the row as it was when the event was queued: read it again.
        IF EXISTS (SELECT 1 FROM payments_installment i WHERE i.id = NEW.id
                      AND i.amount <> i.assessed_amount + COALESCE(
                          (SELECT SUM(delta) FROM payments_adjustment WHERE installment_id = i.id), 0)) THEN
            RAISE EXCEPTION 'installment % is not its assessed amount plus its adjustments', NEW.id
                USING ERRCODE = '23514', CONSTRAINT = 'installment_amount_adjusted';
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER installments_sum_to_charge_on_charge
    AFTER INSERT OR UPDATE OF amount ON payments_charge
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION payments_charge_sum_trigger();

CREATE CONSTRAINT TRIGGER installments_sum_to_charge_on_installment
    AFTER INSERT OR DELETE OR UPDATE OF amount, charge_id, assessed_amount ON payments_installment
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION payments_charge_sum_trigger();

CREATE FUNCTION payments_allocation_totals() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE payments_installment i SET allocated = i.allocated + s.total
      FROM (SELECT installment_id, SUM(amount) AS total FROM new_rows GROUP BY installment_id) s
     WHERE i.id = s.installment_id;
    UPDATE payments_payment p SET allocated_amount = p.allocated_amount + s.total,
                                  credit_amount = p.credit_amount - s.released
      FROM (SELECT payment_id, SUM(amount) AS total,
                   SUM(CASE WHEN released_to_credit THEN amount ELSE 0 END) AS released
              FROM new_rows WHERE credit_id IS NULL GROUP BY payment_id) s
     WHERE p.id = s.payment_id;
    UPDATE payments_credit c SET used = c.used + s.total
      FROM (SELECT credit_id, SUM(amount) AS total FROM new_rows
             WHERE credit_id IS NOT NULL GROUP BY credit_id) s
     WHERE c.id = s.credit_id;
    RETURN NULL;
END $$;

CREATE TRIGGER allocation_totals AFTER INSERT ON payments_allocation
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION payments_allocation_totals();

CREATE FUNCTION payments_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: add a reversing or adjusting row instead', TG_TABLE_NAME
        USING ERRCODE = '23514';
END $$;

CREATE TRIGGER allocation_append_only BEFORE UPDATE OR DELETE ON payments_allocation
    FOR EACH ROW EXECUTE FUNCTION payments_append_only();
CREATE TRIGGER adjustment_append_only BEFORE UPDATE OR DELETE ON payments_adjustment
    FOR EACH ROW EXECUTE FUNCTION payments_append_only();
CREATE TRIGGER ledgerevent_append_only BEFORE UPDATE OR DELETE ON payments_ledgerevent
    FOR EACH ROW EXECUTE FUNCTION payments_append_only();

CREATE UNLOGGED TABLE payments_assessment_staging (
    batch_run_id bigint NOT NULL,
    line_no integer NOT NULL,
    assessment_key text NOT NULL,
    resident_code text NOT NULL,
    revenue_code text NOT NULL,
    fiscal_year integer NOT NULL,
    amount bigint NOT NULL,
    parcel_key text NOT NULL DEFAULT '',
    PRIMARY KEY (batch_run_id, line_no)
);

CREATE UNLOGGED TABLE payments_konbini_staging (
    batch_run_id bigint NOT NULL,
    line_no integer NOT NULL,
    record_type text NOT NULL,
    paid_on date NOT NULL,
    barcode text NOT NULL,
    installment_key bigint NOT NULL,
    amount bigint NOT NULL,
    external_ref text NOT NULL,
    transfer_on date,
    PRIMARY KEY (batch_run_id, line_no)
);
"""

BACKWARD = r"""
DROP TABLE IF EXISTS payments_konbini_staging;
DROP TABLE IF EXISTS payments_assessment_staging;
DROP TRIGGER IF EXISTS ledgerevent_append_only ON payments_ledgerevent;
DROP TRIGGER IF EXISTS adjustment_append_only ON payments_adjustment;
DROP TRIGGER IF EXISTS allocation_append_only ON payments_allocation;
DROP FUNCTION IF EXISTS payments_append_only();
DROP TRIGGER IF EXISTS allocation_totals ON payments_allocation;
DROP FUNCTION IF EXISTS payments_allocation_totals();
DROP TRIGGER IF EXISTS installments_sum_to_charge_on_installment ON payments_installment;
DROP TRIGGER IF EXISTS installments_sum_to_charge_on_charge ON payments_charge;
DROP FUNCTION IF EXISTS payments_charge_sum_trigger();
DROP FUNCTION IF EXISTS payments_check_charge_sum(bigint);
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_ledger_and_collection")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
