"""The set-based charge check at commit cannot take a quadratic plan, whatever the statistics say.

Its queue is empty at rest, so ANALYZE (autovacuum's included) records it with pages and no live
rows: the planner then estimates every queue scan at one row, however many charges the committing
transaction queued, and PL/pgSQL may keep a generic plan made for a queue of one charge. With that
estimate a nested loop re-ran the per-charge sums (an aggregate over every queued charge's
installments) once per queued charge: a 50,000-charge chunk's commit ran for over ten minutes.

The check now reaches each queued charge's installments through a LATERAL subquery, which
PostgreSQL cannot flatten: every plan walks the queue once and does one index lookup into the
charges and one into the installments per queued charge, linear in the chunk whatever the row
estimates and join methods. ``plan_cache_mode = force_custom_plan`` plans it afresh at each
commit with the table's current size instead of reusing a plan from a small transaction. The rule,
error codes and constraint names are those of 0013.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION payments_check_queued_charges() RETURNS trigger
LANGUAGE plpgsql SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    v_charge bigint;
    v_amount bigint;
    v_sum bigint;
    v_installment bigint;
BEGIN
    SELECT c.id, c.amount, s.total INTO v_charge, v_amount, v_sum
      FROM payments_charge_check_queue q
      JOIN payments_charge c ON c.id = q.charge_id
     CROSS JOIN LATERAL (SELECT COALESCE(SUM(i.amount), 0) AS total
                           FROM payments_installment i WHERE i.charge_id = q.charge_id) s
     WHERE q.txid = NEW.txid AND c.amount <> s.total
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'installments of charge % sum to % yen, the charge is % yen', v_charge, v_sum, v_amount
            USING ERRCODE = '23514', CONSTRAINT = 'installments_sum_to_charge';
    END IF;
    SELECT x.id INTO v_installment
      FROM payments_charge_check_queue q
     CROSS JOIN LATERAL (
           SELECT i.id FROM payments_installment i
            WHERE i.charge_id = q.charge_id
              AND i.amount <> i.assessed_amount + COALESCE(
                  (SELECT SUM(delta) FROM payments_adjustment WHERE installment_id = i.id), 0)
            LIMIT 1) x
     WHERE q.txid = NEW.txid
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'installment % is not its assessed amount plus its adjustments', v_installment
            USING ERRCODE = '23514', CONSTRAINT = 'installment_amount_adjusted';
    END IF;
    DELETE FROM payments_charge_check_queue WHERE txid = NEW.txid;
    DELETE FROM payments_charge_check_marker WHERE txid = NEW.txid;
    RETURN NULL;
END $$;
"""

BACKWARD = r"""
CREATE OR REPLACE FUNCTION payments_check_queued_charges() RETURNS trigger
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
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0013_charge_sums_checked_per_transaction")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
