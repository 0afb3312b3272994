"""Rules of facility reservations that span rows, kept by the database itself.

* One person represents at most two group registrations that are pending or approved (a count,
  which a unique constraint cannot say). The trigger takes a transaction-level advisory lock on
  the representative first, so two concurrent registrations cannot both see "one so far".
* A lottery entry or choice can only be written while its round is open, and an applicant's
  entries in a round stay within the round's cap (under a lock on the applicant's registration
  row: the per-user limit is counted for exactly that round and applicant, the scope Helsinki's
  Tilavarauspalvelu got wrong in PR #733).
* Once entries close, the seed's commitment (its SHA-256), the seed and the published entries
  file never change, and the results file never changes once written; the seed always hashes
  to its commitment (a CHECK using PostgreSQL's sha256()).
* Booking events are append-only.
* Numbers people read (登録番号, 申込番号, 予約番号) come from sequences: unique without a lock.
* Entries leave half of each page free: closing and the draw each rewrite every entry of a
  round, and with room on the page PostgreSQL updates them in place (HOT: no index written).
"""

from django.db import migrations

FORWARD = r"""
CREATE SEQUENCE facilities_registration_number_seq;
CREATE SEQUENCE facilities_entry_number_seq;
CREATE SEQUENCE facilities_booking_reference_seq;
ALTER TABLE facilities_entry SET (fillfactor = 50);

CREATE FUNCTION facilities_group_limit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_count integer;
BEGIN
    IF NEW.kind <> 'group' OR NEW.state NOT IN ('pending', 'approved') THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.kind = 'group' AND OLD.state IN ('pending', 'approved')
       AND OLD.representative_id = NEW.representative_id THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('facilities.representative:' || NEW.representative_id, 0));
    SELECT count(*) INTO v_count FROM facilities_registration
     WHERE representative_id = NEW.representative_id AND kind = 'group'
       AND state IN ('pending', 'approved') AND id <> NEW.id;
    IF v_count >= 2 THEN
        RAISE EXCEPTION 'user % already represents % group registrations', NEW.representative_id, v_count
            USING ERRCODE = '23514', CONSTRAINT = 'at_most_two_groups_per_representative';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER facilities_group_limit BEFORE INSERT OR UPDATE ON facilities_registration
    FOR EACH ROW EXECUTE FUNCTION facilities_group_limit();

CREATE FUNCTION facilities_entry_rules() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_state text;
    v_cap integer;
    v_count integer;
BEGIN
    SELECT state, max_entries_per_applicant INTO v_state, v_cap
      FROM facilities_lotteryround WHERE id = NEW.round_id;
    IF v_state <> 'open' THEN
        RAISE EXCEPTION 'round % is not open for entries (%)', NEW.round_id, v_state
            USING ERRCODE = '23514', CONSTRAINT = 'entries_only_while_open';
    END IF;
    IF TG_TABLE_NAME = 'facilities_entry' THEN
        -- A row lock, not an advisory one: an import of 50,000 entries in one transaction
        -- would exhaust the lock table with advisory locks.
        PERFORM 1 FROM facilities_registration WHERE id = NEW.registration_id FOR NO KEY UPDATE;
        SELECT count(*) INTO v_count FROM facilities_entry
         WHERE round_id = NEW.round_id AND registration_id = NEW.registration_id;
        IF v_count >= v_cap THEN
            RAISE EXCEPTION 'registration % has % entries in round %, the cap is %',
                NEW.registration_id, v_count, NEW.round_id, v_cap
                USING ERRCODE = '23514', CONSTRAINT = 'entries_within_cap';
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER facilities_entry_rules BEFORE INSERT ON facilities_entry
    FOR EACH ROW EXECUTE FUNCTION facilities_entry_rules();
CREATE TRIGGER facilities_choice_rules BEFORE INSERT OR UPDATE ON facilities_choice
    FOR EACH ROW EXECUTE FUNCTION facilities_entry_rules();

CREATE FUNCTION facilities_round_commitment() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.seed_sha256 <> '' AND (
           NEW.seed_sha256 IS DISTINCT FROM OLD.seed_sha256
        OR NEW.seed IS DISTINCT FROM OLD.seed
        OR NEW.entries_sha256 IS DISTINCT FROM OLD.entries_sha256
        OR NEW.entries_file IS DISTINCT FROM OLD.entries_file) THEN
        RAISE EXCEPTION 'the seed and entries of round % were committed when entries closed', OLD.id
            USING ERRCODE = '23514', CONSTRAINT = 'round_commitment_is_final';
    END IF;
    IF OLD.results_file IS NOT NULL AND NEW.results_file IS DISTINCT FROM OLD.results_file THEN
        RAISE EXCEPTION 'the results of round % are final', OLD.id
            USING ERRCODE = '23514', CONSTRAINT = 'round_results_are_final';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER facilities_round_commitment BEFORE UPDATE ON facilities_lotteryround
    FOR EACH ROW EXECUTE FUNCTION facilities_round_commitment();

ALTER TABLE facilities_lotteryround ADD CONSTRAINT round_seed_matches_commitment
    CHECK (seed = '' OR encode(sha256(decode(seed, 'hex')), 'hex') = seed_sha256);
ALTER TABLE facilities_lotteryround ADD CONSTRAINT round_entries_digest
    CHECK (entries_file IS NULL OR encode(sha256(entries_file), 'hex') = entries_sha256);

CREATE FUNCTION facilities_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = '23514';
END $$;

CREATE TRIGGER facilities_bookingevent_append_only BEFORE UPDATE OR DELETE ON facilities_bookingevent
    FOR EACH ROW EXECUTE FUNCTION facilities_append_only();
"""

BACKWARD = r"""
DROP TRIGGER facilities_bookingevent_append_only ON facilities_bookingevent;
DROP FUNCTION facilities_append_only();
ALTER TABLE facilities_lotteryround DROP CONSTRAINT round_entries_digest;
ALTER TABLE facilities_lotteryround DROP CONSTRAINT round_seed_matches_commitment;
DROP TRIGGER facilities_round_commitment ON facilities_lotteryround;
DROP FUNCTION facilities_round_commitment();
DROP TRIGGER facilities_choice_rules ON facilities_choice;
DROP TRIGGER facilities_entry_rules ON facilities_entry;
DROP FUNCTION facilities_entry_rules();
DROP TRIGGER facilities_group_limit ON facilities_registration;
DROP FUNCTION facilities_group_limit();
DROP SEQUENCE facilities_booking_reference_seq;
DROP SEQUENCE facilities_entry_number_seq;
DROP SEQUENCE facilities_registration_number_seq;
ALTER TABLE facilities_entry RESET (fillfactor);
"""


class Migration(migrations.Migration):
    dependencies = [("facilities", "0001_facilities_units_registrations_lottery_bookings")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
