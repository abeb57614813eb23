package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.testing.TestDatabase;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.OffsetTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.jooq.DSLContext;
import org.jooq.DataType;
import org.jooq.JSON;
import org.jooq.JSONB;
import org.jooq.SQLDialect;
import org.jooq.TableField;
import org.jooq.UniqueKey;
import org.jooq.impl.DSL;
import org.jooq.impl.Internal;
import org.jooq.impl.SQLDataType;
import org.jooq.impl.TableImpl;
import org.jooq.impl.UpdatableRecordImpl;
import org.jooq.types.DayToSecond;
import org.jooq.types.YearToMonth;
import org.jooq.types.YearToSecond;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Review of saveAll's COPY path on PostgreSQL (branch {@code copy}): each test is named after a defect, where the
 * COPY path differs from the JSON path or breaks one of saveAll's promises. Every statement takes the COPY path
 * here ({@code copyRows} lowered to 1) unless a test says otherwise; the JSON path is reached by raising it to
 * {@code Integer.MAX_VALUE}. See docs/reviews/copy-upsert.md.
 */
@ExampleDatabase
class CopyUpsertReviewTest {

    private int copyRows;

    @BeforeEach
    void setUp(TestDatabase test, DSLContext dsl) {
        assumeTrue(test.dialect().family() == SQLDialect.POSTGRES, "COPY is PostgreSQL's");
        copyRows = PostgresBackend.Statements.copyRows;
        PostgresBackend.Statements.copyRows = 1;
    }

    @AfterEach
    void tearDown(TestDatabase test, DSLContext dsl) {
        if (test.dialect().family() == SQLDialect.POSTGRES) {
            PostgresBackend.Statements.copyRows = copyRows;
            for (String table : List.of(Kv.NAME_SHADOW, Kv.NAME_ORD, Kv.NAME_PLAIN, Wide.NAME, "copy_review_slow")) {
                dsl.execute("drop table if exists " + table);
            }
            dsl.execute("drop domain if exists copy_review_slow_text");
        }
    }

    private static void viaJson() {
        PostgresBackend.Statements.copyRows = Integer.MAX_VALUE;
    }

    private static void viaCopy() {
        PostgresBackend.Statements.copyRows = 1;
    }

    // ---------------------------------------------------------------------------------------------------------
    // The temporary table and its names
    // ---------------------------------------------------------------------------------------------------------

    /**
     * The user's table {@code sqlservice_upsert_rows_0} (a legal, unqualified name): the COPY path creates
     * {@code pg_temp.sqlservice_upsert_rows_0}, and since {@code pg_temp} comes first on the search path, the
     * {@code insert into sqlservice_upsert_rows_0} that follows targets the temporary table, not the user's.
     */
    @Test
    void copy_saveAll__into_a_user_table_named_like_the_temporary_table_targets_the_temporary_table(Database db,
            DSLContext dsl) {
        dsl.execute("create table " + Kv.NAME_SHADOW + " (id bigint primary key, note text)");
        viaJson();
        db.blockingSession().saveAll(Kv.rows(Kv.SHADOW, 1, 3));
        assertThat(dsl.fetchCount(DSL.table(DSL.name(Kv.NAME_SHADOW)))).as("JSON path").isEqualTo(3);

        viaCopy();
        Throwable failure = catchThrowable(() -> db.blockingSession().saveAll(Kv.rows(Kv.SHADOW, 4, 6)));
        assertThat(failure).as("COPY path").isNull();
        assertThat(dsl.fetchCount(DSL.table(DSL.name(Kv.NAME_SHADOW)))).as("COPY path").isEqualTo(6);
    }

    /** A user column named {@code sqlservice_upsert_ord}: the temporary table gets that column twice. */
    @Test
    void copy_saveAll__of_a_table_with_a_column_named_sqlservice_upsert_ord_fails(Database db, DSLContext dsl) {
        dsl.execute("create table " + Kv.NAME_ORD + " (id bigint primary key, sqlservice_upsert_ord text)");
        viaJson();
        db.blockingSession().saveAll(Kv.rows(Kv.ORD, 1, 3));
        viaCopy();
        Throwable failure = catchThrowable(() -> db.blockingSession().saveAll(Kv.rows(Kv.ORD, 4, 6)));
        assertThat(failure).as("COPY path").isNull();
        assertThat(dsl.fetchCount(DSL.table(DSL.name(Kv.NAME_ORD)))).isEqualTo(6);
    }

    /**
     * Every COPY saveAll creates (and drops) a temporary table; PostgreSQL keeps the locks of a dropped table
     * until the transaction ends, so a transaction that saves batch after batch (an import loop) runs out of the
     * shared lock table ({@code max_locks_per_transaction}, SQLState 53200) after a few thousand saveAll calls,
     * where the JSON path takes no lock beyond the target table's. Forced COPY and one-row batches only make the
     * test fast: with the default threshold the same happens to batches of 5,000 rows.
     */
    @Test
    @org.junit.jupiter.api.Tag("slow")
    void copy_saveAll__many_calls_in_one_transaction_run_out_of_shared_lock_memory(Database db, DSLContext dsl) {
        dsl.execute("create table " + Kv.NAME_PLAIN + " (id bigint primary key, note text)");
        long capacity = dsl.fetchValue(DSL.field("current_setting('max_locks_per_transaction')::bigint"
                + " * (current_setting('max_connections')::bigint"
                + " + current_setting('max_prepared_transactions')::bigint)", Long.class));
        long calls = capacity + 500;
        long[] done = {0};
        Throwable failure = catchThrowable(() -> db.blockingSession().transaction(tx -> {
            for (long i = 1; i <= calls; i++) {
                tx.saveAll(Kv.rows(Kv.PLAIN, i, i));
                done[0] = i;
            }
            return null;
        }));
        assertThat(failure).as("after %s of %s saveAll calls in one transaction (lock table of about %s)",
                done[0], calls, capacity).isNull();
    }

    /** A failed COPY on a pool of one: the next saveAll on the same connection and plain queries still work. */
    @Test
    void copy_saveAll__after_a_timeout_during_the_COPY_leaves_its_connection_clean(TestDatabase test, DSLContext dsl)
            throws Exception {
        dsl.execute("create or replace function copy_review_slow_ok(text) returns boolean language plpgsql as"
                + " $$ begin perform pg_sleep(0.01); return true; end $$");
        dsl.execute("create domain copy_review_slow_text as text check (copy_review_slow_ok(value))");
        dsl.execute("create table copy_review_slow (id bigint primary key, note copy_review_slow_text)");
        try (Database one = test.builder().poolSize(1).build()) {
            List<Kv.KvRecord> slow = Kv.rows(Kv.SLOW, 1, 300);
            CompletionStage<?> stage = one.session().withStatementTimeout(Duration.ofMillis(300)).saveAll(slow);
            Throwable failure = catchThrowable(() -> stage.toCompletableFuture().get(10, TimeUnit.SECONDS));
            assertThat(failure).hasStackTraceContaining("timed out after 300 ms");
            assertThat(slow.get(0).changed()).as("records left as they were").isTrue();
            // the same (only) connection: another COPY saveAll, then no temporary table left
            List<Kv.KvRecord> next = Kv.rows(Kv.SLOW, 1, 3);
            one.blockingSession().saveAll(next);
            List<String> left = one.blockingSession().transaction(tx -> CopyUpsertTest.copyTables(tx.dsl()));
            assertThat(left).as("temporary tables left").isEmpty();
            assertThat(one.activeConnections()).isZero();
        }
        assertThat(dsl.fetchCount(DSL.table(DSL.name("copy_review_slow")))).isEqualTo(3);
    }

    /** Two saveAll calls nested in savepoints of one transaction, the second failing and caught: no leftovers. */
    @Test
    void copy_saveAll__failed_inside_a_transaction_and_caught_leaves_no_temporary_table_behind(Database db,
            DSLContext dsl) {
        dsl.execute("create table " + Kv.NAME_PLAIN + " (id bigint primary key, note text check (note <> 'bad'))");
        db.blockingSession().transaction(tx -> {
            tx.saveAll(Kv.rows(Kv.PLAIN, 1, 3));
            List<Kv.KvRecord> bad = Kv.rows(Kv.PLAIN, 4, 6);
            bad.get(2).set(Kv.PLAIN.NOTE, "bad");
            Throwable failure = catchThrowable(() -> tx.saveAll(bad));
            assertThat(failure).isInstanceOf(org.jooq.exception.DataAccessException.class);
            assertThat(((org.jooq.exception.DataAccessException) failure).sqlState()).isEqualTo("23514");
            assertThat(bad.get(0).changed()).isTrue();
            tx.saveAll(Kv.rows(Kv.PLAIN, 7, 9));
            return null;
        });
        assertThat(dsl.fetchCount(DSL.table(DSL.name(Kv.NAME_PLAIN)))).isEqualTo(6);
    }

    /** saveAll by COPY while a stream (a server-side cursor) of the same transaction is open. */
    @Test
    void copy_saveAll__while_a_stream_of_the_same_transaction_is_open(Database db, DSLContext dsl) {
        dsl.execute("create table " + Kv.NAME_PLAIN + " (id bigint primary key, note text)");
        db.blockingSession().transaction(tx -> {
            try (var rows = tx.stream("select i from generate_series(1, 500) as i")) {
                rows.forEach(r -> {
                    long i = r.get("i", Long.class);
                    if (i % 100 == 0) {
                        tx.saveAll(Kv.rows(Kv.PLAIN, i, i + 2));
                    }
                });
            }
            return null;
        });
        assertThat(dsl.fetchCount(DSL.table(DSL.name(Kv.NAME_PLAIN)))).isEqualTo(15);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Values
    // ---------------------------------------------------------------------------------------------------------

    private static void createWide(DSLContext dsl) {
        dsl.execute("drop type if exists copy_review_mood");
        dsl.execute("create type copy_review_mood as enum ('happy', 'sad\"\\')");
        dsl.execute("create table " + Wide.NAME + " (id bigint primary key, note text, tags text[], grid int[],"
                + " data bytea, j json, jb jsonb, jbs jsonb[], jstr jsonb, n numeric, d float8, f float4,"
                + " ts timestamp, tstz timestamptz, dt date, t time, ttz timetz, iv interval, u uuid,"
                + " mood copy_review_mood)");
    }

    /** Rows to save, with the same values at ids {@code base + 1 …}. */
    private static List<WideRecord> wideRows(long base) {
        List<WideRecord> rows = new ArrayList<>();
        Wide w = Wide.WIDE;
        String hostile = "tab\there\nnl\rcr \\ back \\N \\. \"q\" {b} NULL ünï 😀 \u0001 , ;";
        // row 1: hostile text everywhere
        WideRecord r = new WideRecord();
        r.set(w.ID, base + 1);
        r.set(w.NOTE, hostile);
        r.set(w.TAGS, new String[] {hostile, "a\"b", "c,d", "e\\f", null, "", "NULL", " sp ", "\\N", "{x}"});
        r.set(w.GRID, new Integer[] {1, null, -3});
        r.set(w.DATA, new byte[] {0, '\\', '\t', '\n', (byte) 0xff, 'N'});
        r.set(w.J, JSON.valueOf("{\"k\" : [1, 2],  \"s\":\"\\u0001\\\\N\\t\\\"\", \"u\": \"\\u0000\"}"));
        r.set(w.JB, JSONB.valueOf("{\"a\":\"tab\\there \\\\ \\\"q\\\" \\u00e9 \\n\"}"));
        r.set(w.JBS, new JSONB[] {JSONB.valueOf("{\"a\":1}"), JSONB.valueOf("\"s\\\\\""), JSONB.valueOf("[1,\"x\"]")});
        r.set(w.JSTR, "{\"a\": \"b\"}");
        r.set(w.N, new BigDecimal("-12345678901234567890.000000000000000001"));
        r.set(w.D, 0.1 + 0.2);
        r.set(w.F, 1.1f);
        r.set(w.TS, LocalDateTime.of(-44, 3, 15, 12, 30, 45, 123_456_000));
        r.set(w.TSTZ, OffsetDateTime.of(10000, 1, 1, 0, 0, 0, 1_000, ZoneOffset.ofHours(-5)));
        r.set(w.DT, LocalDate.of(0, 3, 1));
        r.set(w.T, LocalTime.of(23, 59, 59, 999_999_000));
        r.set(w.TTZ, OffsetTime.of(1, 2, 3, 456_000, ZoneOffset.ofHoursMinutes(5, 30)));
        r.set(w.IV, new YearToSecond(new YearToMonth(1, 2), new DayToSecond(3, 4, 5, 6, 7_000)));
        r.set(w.U, UUID.fromString("123e4567-e89b-12d3-a456-426614174000"));
        r.set(w.MOOD, "sad\"\\");
        rows.add(r);
        // row 2: special numbers, empties
        r = new WideRecord();
        r.set(w.ID, base + 2);
        r.set(w.NOTE, "");
        r.set(w.TAGS, new String[0]);
        r.set(w.GRID, new Integer[0]);
        r.set(w.DATA, new byte[0]);
        r.set(w.J, JSON.valueOf("null"));
        r.set(w.JB, JSONB.valueOf("\"\""));
        r.set(w.JBS, new JSONB[] {null});
        r.set(w.JSTR, "[1, 2]");
        r.set(w.N, new BigDecimal("1E+30"));
        r.set(w.D, Double.NaN);
        r.set(w.F, Float.NEGATIVE_INFINITY);
        r.set(w.TS, LocalDateTime.of(9999, 12, 31, 23, 59, 59, 999_999_000));
        r.set(w.TSTZ, OffsetDateTime.of(1, 1, 1, 0, 0, 0, 0, ZoneOffset.ofHours(14)));
        r.set(w.DT, LocalDate.of(10000, 1, 1));
        r.set(w.T, LocalTime.MIDNIGHT);
        r.set(w.TTZ, OffsetTime.of(0, 0, 0, 0, ZoneOffset.ofHours(-12)));
        r.set(w.IV, new YearToSecond(new YearToMonth(1, 2), new DayToSecond(3, 4, 5, 6, 7_000)).neg());
        r.set(w.U, new UUID(0, 0));
        r.set(w.MOOD, "happy");
        rows.add(r);
        // row 3: more numbers, nulls
        r = new WideRecord();
        r.set(w.ID, base + 3);
        r.set(w.D, -0.0);
        r.set(w.F, Float.MIN_VALUE);
        r.set(w.N, new BigDecimal("-0.000001"));
        rows.add(r);
        r.set(w.NOTE, null);
        r.set(w.TAGS, null);
        r.set(w.DATA, null);
        r.set(w.J, null);
        r.set(w.JB, null);
        // row 4: more floats
        r = new WideRecord();
        r.set(w.ID, base + 4);
        r.set(w.D, Double.MIN_VALUE);
        r.set(w.F, Float.MAX_VALUE);
        r.set(w.N, BigDecimal.ZERO.setScale(5));
        rows.add(r);
        r = new WideRecord();
        r.set(w.ID, base + 5);
        r.set(w.D, Double.NEGATIVE_INFINITY);
        r.set(w.F, Float.NaN);
        r.set(w.N, new BigDecimal("123.4500"));
        rows.add(r);
        return rows;
    }

    /** The stored value of every column of the row {@code id}, as PostgreSQL's text. */
    private static Map<String, String> storedText(DSLContext dsl, long id) {
        Map<String, String> values = new LinkedHashMap<>();
        for (var field : Wide.WIDE.fields()) {
            if (field.getName().equals("id")) {
                continue;
            }
            values.put(field.getName(), dsl.fetchValue(DSL.field("(select " + field.getName() + "::text from "
                    + Wide.NAME + " where id = {0})", String.class, DSL.val(id))));
        }
        return values;
    }

    /** The differences between the rows the two paths stored for the same records. */
    private static Map<String, String> differences(DSLContext dsl, String column) {
        Map<String, String> differences = new LinkedHashMap<>();
        for (long id = 1; id <= 5; id++) {
            Map<String, String> copy = storedText(dsl, id);
            Map<String, String> json = storedText(dsl, 100 + id);
            for (String name : copy.keySet()) {
                if ((column == null || column.equals(name)) && !java.util.Objects.equals(copy.get(name), json.get(name))) {
                    differences.put(name + " of row " + id, "COPY " + copy.get(name) + " | JSON " + json.get(name));
                }
            }
        }
        return differences;
    }

    private void saveWideBothWays(Database db, DSLContext dsl) {
        createWide(dsl);
        viaCopy();
        long copies = PostgresBackend.Statements.COPIES.sum();
        db.blockingSession().saveAll(wideRows(0));
        assertThat(PostgresBackend.Statements.COPIES.sum()).as("rows sent by COPY").isGreaterThan(copies);
        viaJson();
        copies = PostgresBackend.Statements.COPIES.sum();
        db.blockingSession().saveAll(wideRows(100));
        assertThat(PostgresBackend.Statements.COPIES.sum()).as("rows sent as JSON").isEqualTo(copies);
    }

    /** Every value of every column but the jsonb ones this review reports separately: stored alike. */
    @Test
    void copy_and_json_paths_store_the_same_values(Database db, DSLContext dsl) {
        saveWideBothWays(db, dsl);
        Map<String, String> differences = differences(dsl, null);
        differences.keySet().removeIf(k -> k.startsWith("jbs ") || k.startsWith("jstr "));
        assertThat(differences).isEmpty();
    }

    /**
     * A {@code jsonb[]} column ({@code JSONB[]} in Java): the JSON path stores each element as a JSON string
     * holding the element's text (its scalar cast is not applied to array elements), the COPY path the JSON value
     * itself; which one a record gets depends on how many rows its statement has.
     */
    @Test
    void jsonb_array_elements_are_stored_as_json_strings_by_the_json_path_and_as_values_by_copy(Database db,
            DSLContext dsl) {
        saveWideBothWays(db, dsl);
        assertThat(differences(dsl, "jbs")).isEmpty();
    }

    /**
     * A {@code jsonb} column mapped to {@code String}: the JSON path stores a JSON string scalar (the text
     * quoted), the COPY path parses the text as JSON.
     */
    @Test
    void jsonb_column_mapped_to_String_is_stored_as_a_json_string_by_the_json_path_and_parsed_by_copy(Database db,
            DSLContext dsl) {
        saveWideBothWays(db, dsl);
        assertThat(differences(dsl, "jstr")).isEmpty();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Tables
    // ---------------------------------------------------------------------------------------------------------

    static final class Kv extends TableImpl<Kv.KvRecord> {
        static final String NAME_SHADOW = "sqlservice_upsert_rows_0";
        static final String NAME_ORD = "copy_review_ord";
        static final String NAME_PLAIN = "copy_review_kv";
        static final Kv SHADOW = new Kv(NAME_SHADOW, "note", ShadowRecord.class);
        static final Kv ORD = new Kv(NAME_ORD, "sqlservice_upsert_ord", OrdRecord.class);
        static final Kv PLAIN = new Kv(NAME_PLAIN, "note", PlainRecord.class);
        static final Kv SLOW = new Kv("copy_review_slow", "note", SlowRecord.class);

        final TableField<KvRecord, Long> ID = createField(DSL.name("id"), SQLDataType.BIGINT.nullable(false), this, "");
        final TableField<KvRecord, String> NOTE;

        private final Class<? extends KvRecord> type;

        @SuppressWarnings("unchecked")
        private Kv(String name, String note, Class<? extends KvRecord> type) {
            super(DSL.name(name));
            NOTE = createField(DSL.name(note), SQLDataType.CLOB, this, "");
            this.type = type;
        }

        static List<KvRecord> rows(Kv table, long from, long to) {
            List<KvRecord> rows = new ArrayList<>();
            for (long i = from; i <= to; i++) {
                KvRecord r = table.fresh();
                r.set(table.ID, i);
                r.set(table.NOTE, "row " + i);
                rows.add(r);
            }
            return rows;
        }

        @Override
        @SuppressWarnings("unchecked")
        public Class<KvRecord> getRecordType() {
            return (Class<KvRecord>) (Class<?>) type;
        }

        KvRecord fresh() {
            return type == ShadowRecord.class ? new ShadowRecord() : type == OrdRecord.class ? new OrdRecord()
                    : type == PlainRecord.class ? new PlainRecord() : new SlowRecord();
        }

        @Override
        public UniqueKey<KvRecord> getPrimaryKey() {
            return Internal.createUniqueKey(this, DSL.name(getName() + "_pkey"), ID);
        }

        abstract static class KvRecord extends UpdatableRecordImpl<KvRecord> {
            KvRecord(Kv table) {
                super(table);
            }
        }

        public static final class ShadowRecord extends KvRecord {
            public ShadowRecord() {
                super(SHADOW);
            }
        }

        public static final class OrdRecord extends KvRecord {
            public OrdRecord() {
                super(ORD);
            }
        }

        public static final class PlainRecord extends KvRecord {
            public PlainRecord() {
                super(PLAIN);
            }
        }

        public static final class SlowRecord extends KvRecord {
            public SlowRecord() {
                super(SLOW);
            }
        }
    }

    static final class Wide extends TableImpl<WideRecord> {
        static final String NAME = "copy_review_wide";
        static final Wide WIDE = new Wide();

        final TableField<WideRecord, Long> ID = createField(DSL.name("id"), SQLDataType.BIGINT.nullable(false), this, "");
        final TableField<WideRecord, String> NOTE = createField(DSL.name("note"), SQLDataType.CLOB, this, "");
        final TableField<WideRecord, String[]> TAGS = createField(DSL.name("tags"), SQLDataType.CLOB.array(), this, "");
        final TableField<WideRecord, Integer[]> GRID = createField(DSL.name("grid"), SQLDataType.INTEGER.array(), this, "");
        final TableField<WideRecord, byte[]> DATA = createField(DSL.name("data"), SQLDataType.BLOB, this, "");
        final TableField<WideRecord, JSON> J = createField(DSL.name("j"), SQLDataType.JSON, this, "");
        final TableField<WideRecord, JSONB> JB = createField(DSL.name("jb"), SQLDataType.JSONB, this, "");
        final TableField<WideRecord, JSONB[]> JBS = createField(DSL.name("jbs"), SQLDataType.JSONB.array(), this, "");
        final TableField<WideRecord, String> JSTR = createField(DSL.name("jstr"), SQLDataType.CLOB, this, "");
        final TableField<WideRecord, BigDecimal> N = createField(DSL.name("n"), SQLDataType.NUMERIC, this, "");
        final TableField<WideRecord, Double> D = createField(DSL.name("d"), SQLDataType.DOUBLE, this, "");
        final TableField<WideRecord, Float> F = createField(DSL.name("f"), SQLDataType.REAL, this, "");
        final TableField<WideRecord, LocalDateTime> TS = createField(DSL.name("ts"), SQLDataType.LOCALDATETIME(6), this, "");
        final TableField<WideRecord, OffsetDateTime> TSTZ =
                createField(DSL.name("tstz"), SQLDataType.OFFSETDATETIME(6), this, "");
        final TableField<WideRecord, LocalDate> DT = createField(DSL.name("dt"), SQLDataType.LOCALDATE, this, "");
        final TableField<WideRecord, LocalTime> T = createField(DSL.name("t"), SQLDataType.LOCALTIME(6), this, "");
        final TableField<WideRecord, OffsetTime> TTZ = createField(DSL.name("ttz"), SQLDataType.OFFSETTIME(6), this, "");
        final TableField<WideRecord, YearToSecond> IV = createField(DSL.name("iv"), SQLDataType.INTERVAL, this, "");
        final TableField<WideRecord, UUID> U = createField(DSL.name("u"), SQLDataType.UUID, this, "");
        final TableField<WideRecord, String> MOOD = createField(DSL.name("mood"),
                SQLDataType.VARCHAR.asConvertedDataType(org.jooq.Converter.ofNullable(String.class, String.class,
                        s -> s, s -> s)), this, "");

        private Wide() {
            super(DSL.name(NAME));
        }

        @Override
        public Class<WideRecord> getRecordType() {
            return WideRecord.class;
        }

        @Override
        public UniqueKey<WideRecord> getPrimaryKey() {
            return Internal.createUniqueKey(this, DSL.name(NAME + "_pkey"), ID);
        }
    }

    public static final class WideRecord extends UpdatableRecordImpl<WideRecord> {
        public WideRecord() {
            super(Wide.WIDE);
        }
    }

    @SuppressWarnings("unused")
    private static DataType<?> unused;
}
