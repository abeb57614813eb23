package dev.sqlservice;

import static dev.sqlservice.FaultFixture.outcome;
import static dev.sqlservice.example.schema.Tables.READINGS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.select;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.Record3;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 17: a prepared query's direct read takes a binary {@code timestamptz} from pgjdbc without the text jOOQ's
 * binding makes and parses ({@link PostgresTimestamps}). Every value must be {@code equals} to what jOOQ's own
 * execution of the same query on the same connection returns (local time and offset alike), in every session time
 * zone, including the values that go through jOOQ's binding (infinity, years outside 1-9999 once in the session's
 * zone, offsets with seconds), and the fast path must actually have been taken.
 */
@ExampleDatabase
class PreparedTimestampsTest {

    /** As the server parses them (explicit offsets): fractions, DST edges, old and far dates, infinity. */
    private static final List<String> VALUES = List.of(
            "2026-03-29 01:30:15.123456+00", "2026-03-29 00:59:59.999999+00", "2026-10-25 00:30:00+00",
            "2026-10-25 01:00:00.5+00", "2000-01-01 00:00:00+00", "1970-01-01 00:00:00.000001+00",
            "1969-12-31 23:59:59.999999+00", "1900-01-01 12:00:00+00", "1850-06-01 12:00:00+00",
            "1930-06-01 12:00:00+00", "1582-10-10 00:00:00+00", "0001-01-01 00:00:00+00", "0001-01-01 23:00:00+00",
            "9999-12-31 23:59:59.999999+00", "9999-12-31 00:00:00+00", "0044-03-15 12:00:00+00 BC",
            "2262-04-11 23:47:16.854775+00", "infinity", "-infinity");

    /** Session time zones: whole hours, half and quarter hours, negative, +14, and local mean times with seconds. */
    private static final List<String> ZONES = List.of("UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns",
            "Pacific/Chatham", "Asia/Kathmandu", "Europe/Amsterdam", "America/New_York", "Pacific/Kiritimati",
            "Etc/GMT+12", "Africa/Monrovia");

    @BeforeEach
    void rows(Database db) {
        Assumptions.assumeTrue(db.dsl().dialect().family() == SQLDialect.POSTGRES, "timestamptz is PostgreSQL's");
        for (int i = 0; i < VALUES.size(); i++) {
            db.blockingSession().execute("insert into readings (taken_at, note) values (cast(:t as timestamptz), :n)",
                    java.util.Map.of("t", VALUES.get(i), "n", "r" + i));
        }
    }

    @Test
    void binary_timestamptz_values_are_what_jooq_reads_in_every_session_time_zone(Database db) {
        Param<String> note = param("note", String.class);
        // the table's record, and a select list with a null (a CASE of the column) and the column again
        PreparedQuery<?> byNote = db.prepare(DSL.selectFrom(READINGS).where(READINGS.NOTE.eq(note)));
        var nullable = DSL.when(READINGS.NOTE.eq("r0"), DSL.inline((OffsetDateTime) null, SQLDataType.TIMESTAMPWITHTIMEZONE))
                .otherwise(READINGS.TAKEN_AT).as("maybe");
        PreparedQuery<Record3<OffsetDateTime, OffsetDateTime, String>> listed =
                db.prepare(select(READINGS.TAKEN_AT, nullable, READINGS.NOTE).from(READINGS).where(READINGS.NOTE.eq(note)));
        long before = PostgresTimestamps.READ.sum();
        List<String> mismatches = new ArrayList<>();
        for (String zone : ZONES) {
            db.blockingSession().transaction(tx -> {
                tx.execute("set local time zone '" + zone + "'");
                // pgjdbc sends a statement's results in binary format from its fifth run on a connection: every
                // value is read 6 times, the last ones binary
                for (int run = 0; run < 6; run++) {
                    for (int i = 0; i < VALUES.size(); i++) {
                        String n = "r" + i;
                        String value = VALUES.get(i);
                        // jOOQ's binding cannot read infinity: both readings must then fail alike
                        compare(mismatches, zone, value,
                                outcome(() -> tx.one(byNote.bind(note, n)).get(READINGS.TAKEN_AT)),
                                outcome(() -> tx.dsl().selectFrom(READINGS).where(READINGS.NOTE.eq(n)).fetchOne()
                                        .get(READINGS.TAKEN_AT)));
                        compare(mismatches, zone, value + " (select list)",
                                outcome(() -> tx.one(listed.bind(note, n)).intoList()),
                                outcome(() -> tx.dsl().select(READINGS.TAKEN_AT, nullable, READINGS.NOTE).from(READINGS)
                                        .where(READINGS.NOTE.eq(n)).fetchOne().intoList()));
                    }
                }
                return null;
            });
        }
        assertThat(mismatches).isEmpty();
        // the fast path ran (not every value through jOOQ's binding): at least one binary run of most values
        assertThat(PostgresTimestamps.READ.sum() - before).as("values read without text").isGreaterThan(ZONES.size() * 10L);
    }

    @Test
    void off_switch_reads_every_value_through_jooq(Database db) {
        Param<String> note = param("note", String.class);
        PreparedQuery<?> byNote = db.prepare(DSL.selectFrom(READINGS).where(READINGS.NOTE.eq(note)));
        PostgresTimestamps.enabled = false;
        try {
            long before = PostgresTimestamps.READ.sum();
            for (int run = 0; run < 8; run++) {
                Record prepared = db.blockingSession().one(byNote.bind(note, "r0"));
                assertThat(prepared.get(READINGS.TAKEN_AT).toInstant())
                        .isEqualTo(OffsetDateTime.parse("2026-03-29T01:30:15.123456Z").toInstant());
            }
            assertThat(PostgresTimestamps.READ.sum()).isEqualTo(before);
        } finally {
            PostgresTimestamps.enabled = true;
        }
    }

    private static void compare(List<String> mismatches, String zone, String value, Object actual, Object expected) {
        if (!java.util.Objects.equals(actual, expected)) {
            mismatches.add(zone + " " + value + ": direct " + actual + ", jOOQ " + expected);
        }
    }
}
