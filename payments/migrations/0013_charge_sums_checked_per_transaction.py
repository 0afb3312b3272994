"""Issue 17.5: the installments-sum-to-the-charge rule, checked set-based once per transaction.

Inserting charges and installments used to queue a deferred per-row trigger for every row (a
billing run of a million installments queued 1,250,000 events, each a query at commit). Inserts
now go through statement-level triggers with transition tables, which note the charges they
touched in an unlogged queue keyed by the transaction; the first one also inserts a marker row
for the transaction, whose deferred constraint trigger runs one set-based check of every noted
charge at commit (or at SET CONSTRAINTS … IMMEDIATE) and empties the queue. The rule is the same
as before (a charge equals the sum of its installments; an installment is its assessed amount
plus its adjustments, 更正) and so are the error code and constraint name. Updates and deletes,
rare (corrections), keep the per-row deferred trigger of 0002.
"""

from django.db import migrations

FORWARD = r"""
CREATE UNLOGGED TABLE payments_charge_check_queue (
    txid xid8 NOT NULL,
    charge_id bigint NOT NULL,
    PRIMARY KEY (txid, charge_id)
);

CREATE UNLOGGED TABLE payments_charge_check_marker (
    txid xid8 PRIMARY KEY
);

CREATE FUNCTION payments_queue_inserted_charges() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'payments_charge' THEN
        INSERT INTO payments_charge_check_queue (txid, charge_id)
        SELECT pg_current_xact_id(), id FROM new_rows
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO payments_charge_check_queue (txid, charge_id)
        SELECT DISTINCT pg_current_xact_id(), charge_id FROM new_rows
        ON CONFLICT DO NOTHING;
    END IF;
    INSERT INTO payments_charge_check_marker (txid) VALUES (pg_current_xact_id())
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

-- Index scans only (the plan is kept for the session; see 0012 for why).
CREATE FUNCTION payments_check_queued_charges() RETURNS trigger
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    v_charge bigint;
    v_amount bigint;
    v_sum bigint;
    v_installment bigint;
BEGIN
    SELECT c.id, c.amount, COALESCE(s.total, 0) INTO v_charge, v_amount, v_sum
      FROM payments_charge_check_queue q
      JOIN payments_charge c ON c.id = q.charge_id
      LEFT JOIN (SELECT i.charge_id, SUM(i.amount) AS total
                   FROM payments_installment i
                  WHERE i.charge_id IN (SELECT charge_id FROM payments_charge_check_queue
                                         WHERE txid = NEW.txid)
                  GROUP BY i.charge_id) s ON s.charge_id = c.id
     WHERE q.txid = NEW.txid AND c.amount <> COALESCE(s.total, 0)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'installments of charge % sum to % yen, the charge is % yen', v_charge, v_sum, v_amount
            USING ERRCODE = '23514', CONSTRAINT = 'installments_sum_to_charge';
    END IF;
    SELECT i.id INTO v_installment
      FROM payments_charge_check_queue q
      JOIN payments_installment i ON i.charge_id = q.charge_id
     WHERE q.txid = NEW.txid
       AND i.amount <> i.assessed_amount + COALESCE(
           (SELECT SUM(delta) FROM payments_adjustment WHERE installment_id = i.id), 0)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'installment % is not its assessed amount plus its adjustments', v_installment
            USING ERRCODE = '23514', CONSTRAINT = 'installment_amount_adjusted';
    END IF;
    DELETE FROM payments_charge_check_queue WHERE txid = NEW.txid;
    DELETE FROM payments_charge_check_marker WHERE txid = NEW.txid;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER charges_checked_at_commit
    AFTER INSERT ON payments_charge_check_marker
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION payments_check_queued_charges();

CREATE TRIGGER charges_inserted_queue_check AFTER INSERT ON payments_charge
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION payments_queue_inserted_charges();
CREATE TRIGGER installments_inserted_queue_check AFTER INSERT ON payments_installment
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION payments_queue_inserted_charges();

DROP TRIGGER installments_sum_to_charge_on_charge ON payments_charge;
CREATE CONSTRAINT TRIGGER installments_sum_to_charge_on_charge
    AFTER UPDATE OF amount ON payments_charge
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION payments_charge_sum_trigger();
DROP TRIGGER installments_sum_to_charge_on_installment ON payments_installment;
CREATE CONSTRAINT TRIGGER installments_sum_to_charge_on_installment
    AFTER DELETE OR UPDATE OF amount, charge_id, assessed_amount ON payments_installment
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION payments_charge_sum_trigger();
"""

BACKWARD = r"""
DROP TRIGGER installments_sum_to_charge_on_installment ON payments_installment;
CREATE CONSTRAINT TRIGGER installments_sum_to_charge_on_installment
    AFTER INSERT OR DELETE OR UPDATE OF amount, charge_id, assessed_amount ON payments_installment
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION payments_charge_sum_trigger();
DROP TRIGGER installments_sum_to_charge_on_charge ON payments_charge;
CREATE CONSTRAINT TRIGGER installments_sum_to_charge_on_charge
    AFTER INSERT OR UPDATE OF amount ON payments_charge
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION payments_charge_sum_trigger();
DROP TRIGGER installments_inserted_queue_check ON payments_installment;
DROP TRIGGER charges_inserted_queue_check ON payments_charge;
DROP TRIGGER charges_checked_at_commit ON payments_charge_check_marker;
DROP FUNCTION payments_check_queued_charges();
DROP FUNCTION payments_queue_inserted_charges();
DROP TABLE payments_charge_check_marker;
DROP TABLE payments_charge_check_queue;
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0012_allocation_totals_written_once")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
