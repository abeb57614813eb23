package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.TimeZone;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.TableField;
import org.jooq.UniqueKey;
import org.jooq.impl.DSL;
import org.jooq.impl.Internal;
import org.jooq.impl.SQLDataType;
import org.jooq.impl.TableImpl;
import org.jooq.impl.UpdatableRecordImpl;
import org.junit.jupiter.api.Test;

/**
 * {@code OffsetDateTime} binds on MariaDB travel as the same instant in UTC, whatever the JVM's default time zone.
 * Found while profiling {@code saveAll} (issue 17): they were bound as a {@code java.sql.Timestamp} made in the
 * JVM's zone, so a UTC wall-clock time that does not exist there (the hour skipped when daylight saving time
 * starts) was stored an hour late.
 */
@ExampleDatabase
class TimestampBindTest {

    /** 02:30 UTC on the day Europe/Berlin skips from 02:00 to 03:00 local time. */
    private static final OffsetDateTime IN_BERLIN_GAP = OffsetDateTime.of(2026, 3, 29, 2, 30, 0, 123_456_000, ZoneOffset.UTC);

    @Test
    void an_instant_whose_utc_wall_clock_is_skipped_in_the_jvm_zone__is_stored_as_that_instant(Database db, DSLContext dsl) {
        org.junit.jupiter.api.Assumptions.assumeTrue(db.dialect().family() == SQLDialect.MARIADB,
                "PostgreSQL binds timestamptz with its offset");
        dsl.execute("create table " + Stamps.NAME + " (id bigint primary key, at datetime(6))");
        TimeZone previous = TimeZone.getDefault();
        TimeZone.setDefault(TimeZone.getTimeZone("Europe/Berlin"));
        try {
            StampsRecord saved = new StampsRecord();
            saved.set(Stamps.T.ID, 1L);
            saved.set(Stamps.T.AT, IN_BERLIN_GAP);
            db.blockingSession().saveAll(List.of(saved));
            db.blockingSession().execute(DSL.insertInto(Stamps.T).set(Stamps.T.ID, 2L).set(Stamps.T.AT, IN_BERLIN_GAP));

            List<String> stored = dsl.resultQuery("select cast(at as char) from " + Stamps.NAME + " order by id")
                    .fetch(0, String.class);
            assertThat(stored).as("saveAll, then an insert").containsExactly(
                    "2026-03-29 02:30:00.123456", "2026-03-29 02:30:00.123456");
        } finally {
            TimeZone.setDefault(previous);
            dsl.execute("drop table " + Stamps.NAME);
        }
    }

    static final class Stamps extends TableImpl<StampsRecord> {
        static final String NAME = "review_stamps";
        static final Stamps T = new Stamps();

        final TableField<StampsRecord, Long> ID = createField(DSL.name("id"), SQLDataType.BIGINT.nullable(false), this, "");
        final TableField<StampsRecord, OffsetDateTime> AT = createField(DSL.name("at"), SQLDataType.TIMESTAMPWITHTIMEZONE(6), this, "");

        private Stamps() {
            super(DSL.name(NAME));
        }

        @Override
        public Class<StampsRecord> getRecordType() {
            return StampsRecord.class;
        }

        @Override
        public UniqueKey<StampsRecord> getPrimaryKey() {
            return Internal.createUniqueKey(this, DSL.name("review_stamps_pkey"), ID);
        }
    }

    public static final class StampsRecord extends UpdatableRecordImpl<StampsRecord> {
        public StampsRecord() {
            super(Stamps.T);
        }
    }
}
