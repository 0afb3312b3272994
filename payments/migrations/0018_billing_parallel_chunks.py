"""Billing chunks applied side by side, and the charge check without a lookup per new installment.

``BatchChunk``: a run's staged lines cut into ranges, each applied in its own transaction and
marked done (with the run's counters) in that transaction, so several connections can claim
ranges with ``FOR UPDATE SKIP LOCKED`` and a run resumed after a crash redoes only the ranges
that never committed.

The set-based charge check at commit (0013, 0014) looked up the adjustments (更正) of every
installment of every queued charge: one ``payments_adjustment`` index probe per installment, half
of the check's time in a billing chunk. An adjustment names an installment and is append-only, so
an installment inserted in this transaction can only have adjustments inserted in this same
transaction. A statement-level trigger now notes each transaction that inserts adjustments; when
the committing transaction noted none, an installment whose row version this transaction wrote
and whose amount equals its assessed amount is consistent without the lookup (an older row this
transaction updated had its amount and assessment checked, adjustments included, by the per-row
trigger of 0002 on ``UPDATE OF amount, charge_id, assessed_amount``; any other update leaves
amount, assessment and adjustments as they were). Every other installment is looked up as before.
Rows written in a savepoint carry the savepoint's xid, so they are simply looked up. The rule,
error codes and constraint names are those of 0013.
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models


# Going back restores 0014's function as it was.
FORWARD_0014 = importlib.import_module(
    "payments.migrations.0014_charge_check_plans_independent_of_statistics"
).FORWARD

FORWARD = r"""
CREATE UNLOGGED TABLE payments_adjusting_transaction (
    txid xid8 PRIMARY KEY
);

-- The marker makes the check at commit run (and empty the note) even in a transaction that
-- inserts adjustments and no charge or installment.
CREATE FUNCTION payments_note_adjusting_transaction() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO payments_adjusting_transaction (txid) VALUES (pg_current_xact_id())
    ON CONFLICT DO NOTHING;
    INSERT INTO payments_charge_check_marker (txid) VALUES (pg_current_xact_id())
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER adjustments_note_transaction AFTER INSERT ON payments_adjustment
    FOR EACH STATEMENT EXECUTE FUNCTION payments_note_adjusting_transaction();

CREATE OR REPLACE FUNCTION payments_check_queued_charges() RETURNS trigger
LANGUAGE plpgsql SET enable_seqscan = off SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    v_charge bigint;
    v_amount bigint;
    v_sum bigint;
    v_installment bigint;
    v_xid xid := xid(pg_current_xact_id());
    v_adjusted boolean;
BEGIN
    v_adjusted := EXISTS (SELECT 1 FROM payments_adjusting_transaction WHERE txid = NEW.txid);
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
              AND CASE WHEN NOT v_adjusted AND i.xmin = v_xid AND i.amount = i.assessed_amount
                       THEN false
                       ELSE i.amount <> i.assessed_amount + COALESCE(
                           (SELECT SUM(delta) FROM payments_adjustment WHERE installment_id = i.id), 0)
                   END
            LIMIT 1) x
     WHERE q.txid = NEW.txid
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'installment % is not its assessed amount plus its adjustments', v_installment
            USING ERRCODE = '23514', CONSTRAINT = 'installment_amount_adjusted';
    END IF;
    DELETE FROM payments_charge_check_queue WHERE txid = NEW.txid;
    DELETE FROM payments_charge_check_marker WHERE txid = NEW.txid;
    DELETE FROM payments_adjusting_transaction WHERE txid = NEW.txid;
    RETURN NULL;
END $$;
"""

BACKWARD = (
    r"""
DROP TRIGGER adjustments_note_transaction ON payments_adjustment;
DROP FUNCTION payments_note_adjusting_transaction();
DROP TABLE payments_adjusting_transaction;
"""
    + FORWARD_0014
)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0016_billing_lean_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="BatchChunk",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("start", models.BigIntegerField(verbose_name="開始行")),
                ("end", models.BigIntegerField(verbose_name="終了行")),
                ("done", models.BooleanField(default=False, verbose_name="完了")),
                (
                    "batch_run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chunks",
                        to="payments.batchrun",
                        verbose_name="バッチ",
                    ),
                ),
            ],
            options={
                "verbose_name": "バッチの区切り",
                "verbose_name_plural": "バッチの区切り",
                "constraints": [
                    models.UniqueConstraint(fields=("batch_run", "start"), name="batch_chunk_once"),
                    models.CheckConstraint(
                        condition=models.Q(("start__lt", models.F("end"))), name="batch_chunk_range"
                    ),
                ],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
