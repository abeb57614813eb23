package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import org.jooq.DSLContext;
import org.jooq.Record;
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
 * Review of the "one home per backend" refactor (issue 14 item 4): the timestamp key rules that moved from
 * {@code Upserts.KeyColumn} into {@link Backend#sentTimestamp}/{@link Backend#storedTimestamp}, checked against
 * what the server really stores at 0, 3 and 6 fractional digits, at the edges (half values, before 1970 and
 * before 2000 on PostgreSQL, the ends of each server's range).
 */
@ExampleDatabase
class BackendReviewTest {

    /** Values far enough apart that no two are stored as the same key at any precision. */
    private static List<LocalDateTime> edges(boolean postgres) {
        List<LocalDateTime> values = new ArrayList<>(List.of(
                LocalDateTime.of(1999, 12, 31, 23, 59, 59, 500_000_000),
                LocalDateTime.of(2000, 1, 1, 0, 0, 0, 500_000_000),
                LocalDateTime.of(1969, 12, 31, 23, 59, 58, 999_500_000),
                LocalDateTime.of(1969, 12, 31, 23, 59, 50, 999_999_500),
                LocalDateTime.of(1970, 1, 1, 0, 0, 5, 500),
                LocalDateTime.of(1999, 12, 31, 23, 59, 40, 999_999_999),
                LocalDateTime.of(2024, 5, 6, 7, 8, 9, 123_456_789),
                LocalDateTime.of(2024, 5, 6, 7, 8, 20, 123_450_000),
                LocalDateTime.of(1950, 5, 6, 7, 8, 9, 123_500_000),
                LocalDateTime.of(1000, 1, 1, 0, 0, 0, 999_999_900),
                LocalDateTime.of(9999, 12, 31, 23, 59, 58, 999_999_000)));
        return values;
    }

    @Test
    void saveAll__stores_and_matches_timestamp_keys_as_the_backend_rules_say_at_every_precision(Database db,
            DSLContext dsl) {
        boolean postgres = db.dialect().family() == SQLDialect.POSTGRES;
        String type = postgres ? "timestamp" : "datetime";
        dsl.execute("create table " + TsKeys.NAME + " (k0 " + type + "(0) not null, k3 " + type + "(3) not null, k6 "
                + type + "(6) not null, note varchar(20), primary key (k0, k3, k6))");
        try {
            List<LocalDateTime> values = edges(postgres);
            List<TsKeysRecord> first = values.stream().map(v -> record(v, "first")).toList();
            db.blockingSession().saveAll(first);

            Backend backend = db.backend();
            List<String> mismatches = new ArrayList<>();
            for (int i = 0; i < values.size(); i++) {
                LocalDateTime v = values.get(i);
                TsKeysRecord saved = first.get(i);
                for (TableField<TsKeysRecord, LocalDateTime> k : TsKeys.T.keys()) {
                    Object expected = Upserts.KeyColumn.of(k.getDataType(), backend).canonical(v);
                    Record stored = dsl.select(k).from(TsKeys.T).where(TsKeys.T.NOTE.eq("first"))
                            .and(k.eq(saved.get(k))).fetchAny();
                    if (!expected.equals(saved.get(k)) || stored == null) {
                        mismatches.add(v + " " + k.getName() + ": rule says " + expected + ", record after saveAll "
                                + saved.get(k) + (stored == null ? " (no such stored row)" : ""));
                    }
                }
            }
            List<LocalDateTime> storedK6 = dsl.select(TsKeys.T.K6).from(TsKeys.T).fetch(TsKeys.T.K6);
            assertThat(mismatches).as("stored %s", storedK6).isEmpty();

            // the same keys again: every record updates its row, none inserts a second one
            List<TsKeysRecord> second = values.stream().map(v -> record(v, "second")).toList();
            db.blockingSession().saveAll(second);
            assertThat(dsl.fetchCount(TsKeys.T)).isEqualTo(values.size());
            assertThat(dsl.fetchCount(TsKeys.T, TsKeys.T.NOTE.eq("second"))).isEqualTo(values.size());
        } finally {
            dsl.execute("drop table " + TsKeys.NAME);
        }
    }

    // PRE-EXISTING DEFECT (not a change of the refactor; the same on 75dcaac): PostgresBackend.Times writes years
    // before 1 AD as PostgreSQL's "... BC" form, and storedTimestamp canonicalises them correctly, but the stored
    // row read back (RETURNING, then jOOQ/pgjdbc into LocalDateTime) comes back in year 1 AD / 4713 AD: saveAll
    // overwrites the record's key with another instant, and saving that record again inserts a second row.
    @Test
    void save__a_record_keyed_before_year_1__is_refused_before_any_sql_instead_of_saving_a_second_row_later(
            Database db, DSLContext dsl) {
        org.junit.jupiter.api.Assumptions.assumeTrue(db.dialect().family() == SQLDialect.POSTGRES,
                "MariaDB stores no year before 1000");
        // Found by review: a key of 1 BC was stored right, refreshed by jOOQ as 1 AD, and the next save inserted a
        // second row. jOOQ's reading of BC timestamps is not ours to fix, so such keys are refused, loudly.
        dsl.execute("create table " + TsKeys.NAME + " (k0 timestamp(0) not null, k3 timestamp(3) not null,"
                + " k6 timestamp(6) not null, note varchar(20), primary key (k0, k3, k6))");
        try {
            LocalDateTime oneBc = LocalDateTime.of(0, 6, 1, 12, 0, 0);
            TsKeysRecord r = record(oneBc, "first");
            assertThatThrownBy(() -> db.blockingSession().save(r))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("before year 1");
            assertThat(r.get(TsKeys.T.K6)).as("the key after the refused save").isEqualTo(oneBc);
            assertThat(dsl.fetchCount(TsKeys.T)).isZero();
        } finally {
            dsl.execute("drop table " + TsKeys.NAME);
        }
    }

    private static TsKeysRecord record(LocalDateTime v, String note) {
        TsKeysRecord r = new TsKeysRecord();
        r.set(TsKeys.T.K0, v);
        r.set(TsKeys.T.K3, v);
        r.set(TsKeys.T.K6, v);
        r.set(TsKeys.T.NOTE, note);
        return r;
    }

    static final class TsKeys extends TableImpl<TsKeysRecord> {
        static final String NAME = "review_ts_keys";
        static final TsKeys T = new TsKeys();

        final TableField<TsKeysRecord, LocalDateTime> K0 = createField(DSL.name("k0"), SQLDataType.LOCALDATETIME(0).nullable(false), this, "");
        final TableField<TsKeysRecord, LocalDateTime> K3 = createField(DSL.name("k3"), SQLDataType.LOCALDATETIME(3).nullable(false), this, "");
        final TableField<TsKeysRecord, LocalDateTime> K6 = createField(DSL.name("k6"), SQLDataType.LOCALDATETIME(6).nullable(false), this, "");
        final TableField<TsKeysRecord, String> NOTE = createField(DSL.name("note"), SQLDataType.VARCHAR(20), this, "");

        private TsKeys() {
            super(DSL.name(NAME));
        }

        List<TableField<TsKeysRecord, LocalDateTime>> keys() {
            return List.of(K0, K3, K6);
        }

        @Override
        public Class<TsKeysRecord> getRecordType() {
            return TsKeysRecord.class;
        }

        @Override
        public UniqueKey<TsKeysRecord> getPrimaryKey() {
            return Internal.createUniqueKey(this, DSL.name(NAME + "_pkey"), K0, K3, K6);
        }
    }

    public static final class TsKeysRecord extends UpdatableRecordImpl<TsKeysRecord> {
        public TsKeysRecord() {
            super(TsKeys.T);
        }
    }
}
