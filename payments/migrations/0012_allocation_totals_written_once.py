"""Issue 17.4: a payment written together with its allocations carries them already.

The convenience-store import inserts each payment confirmed, its allocated amount and credit
computed in the same statement as its allocation (one write per payment instead of three). The
statement-level allocation trigger still keeps ``Installment.allocated`` and ``Credit.used``, and
still adds new allocations to a payment's ``allocated_amount`` -- except where the payment
already equals the sum of all its allocations with nothing released to credit, i.e. it was
written with them. Adding is kept (rather than writing the sum) so that two transactions
allocating one payment still add up under READ COMMITTED: the sum is only a guard.

The function plans with ``enable_seqscan = off`` (for its own statements only): every update
starts from the transition table and must reach its rows through their primary keys. PL/pgSQL
keeps a statement's plan for the session, and a plan made when the payments table was still
small (a sequential scan of it per allocation) turned the second chunk of a batch quadratic.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION payments_allocation_totals() RETURNS trigger
LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
    UPDATE payments_installment i SET allocated = i.allocated + s.total
      FROM (SELECT installment_id, SUM(amount) AS total FROM new_rows GROUP BY installment_id) s
     WHERE i.id = s.installment_id;
    UPDATE payments_payment p SET allocated_amount = p.allocated_amount + s.total,
                                  credit_amount = p.credit_amount - s.released
      FROM (SELECT payment_id, SUM(amount) AS total,
                   SUM(CASE WHEN released_to_credit THEN amount ELSE 0 END) AS released
              FROM new_rows WHERE credit_id IS NULL GROUP BY payment_id) s
     WHERE p.id = s.payment_id
       AND NOT (s.released = 0 AND p.allocated_amount = (
                -- credit_id tested in the sum, not the WHERE: the planner would AND the
                -- credit index (its "IS NULL" half is nearly the whole table) into each lookup.
                SELECT COALESCE(SUM(CASE WHEN a.credit_id IS NULL THEN a.amount END), 0)
                  FROM payments_allocation a WHERE a.payment_id = p.id));
    UPDATE payments_credit c SET used = c.used + s.total
      FROM (SELECT credit_id, SUM(amount) AS total FROM new_rows
             WHERE credit_id IS NOT NULL GROUP BY credit_id) s
     WHERE c.id = s.credit_id;
    RETURN NULL;
END $$;
"""

BACKWARD = r"""
CREATE OR REPLACE FUNCTION payments_allocation_totals() RETURNS trigger
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
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0011_ledger_append_only_operation")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
