package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.TimeZone;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jooq.Converter;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.TableField;
import org.jooq.UniqueKey;
import org.jooq.impl.DSL;
import org.jooq.impl.Internal;
import org.jooq.impl.SQLDataType;
import org.jooq.impl.TableImpl;
import org.jooq.impl.UpdatableRecordImpl;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Third review of the MariaDB saveAll speed-up (issue 17): values set directly on the JDBC statement
 * ({@code UpsertStatements.DirectBinds}) and {@code OffsetDateTime} bound as a UTC {@code LocalDateTime} via
 * {@code setObject} for every query ({@code MariaDbBackend.Timestamps}, {@code LocalDateTimeAsObject}).
 * Each test states what it expects of stored values, read back as the server's own text.
 */
@ExampleDatabase
class DirectBindReviewTest {

    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
    private static final DateTimeFormatter DATETIME6 = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");

    private static void assumeMariaDb(Database db) {
        Assumptions.assumeTrue(db.dialect().family() == SQLDialect.MARIADB, "MariaDB binds under review");
    }

    // ---------------------------------------------------------------------------------------------------------
    // 1. Every plain type through both paths (saveAll: direct binds; insertInto: jOOQ binding + visit listener),
    //    with nulls interleaved (index alignment), extremes, scales, non-BMP text, offsets, DST gap/overlap.

    @Test
    void plain_values_are_stored_exactly_by_saveAll_and_by_an_insert(Database db, DSLContext dsl) {
        assumeMariaDb(db);
        dsl.execute("create table " + Plain.NAME + " (id bigint primary key, s smallint, i int, l bigint,"
                + " d decimal(30,10), txt varchar(100) character set utf8mb4, ts timestamp(6) null,"
                + " dt datetime(6))");
        TimeZone previous = TimeZone.getDefault();
        TimeZone.setDefault(TimeZone.getTimeZone(BERLIN));
        try {
            List<Object[]> rows = List.of(
                    new Object[] {null, null, null, null, null, null, null},
                    new Object[] {Short.MAX_VALUE, Integer.MIN_VALUE, Long.MIN_VALUE,
                        new BigDecimal("-12345678901234567890.1234567890"), "\uD83D\uDE00 \uD834\uDD1E \u00e9 '\\\"",
                        OffsetDateTime.of(2026, 3, 29, 4, 30, 0, 500_000_000, ZoneOffset.ofHours(2)),
                        OffsetDateTime.of(1969, 12, 31, 23, 59, 59, 999_999_000, ZoneOffset.ofHours(-5))},
                    new Object[] {Short.MIN_VALUE, Integer.MAX_VALUE, Long.MAX_VALUE, new BigDecimal("1E+3"), "",
                        OffsetDateTime.of(2038, 1, 19, 3, 14, 7, 0, ZoneOffset.UTC),
                        OffsetDateTime.of(2100, 1, 1, 0, 30, 0, 0, ZoneOffset.ofHours(14))},
                    new Object[] {(short) 0, 0, 0L, new BigDecimal("0.000000001"), "x",
                        // 02:30 CEST (first), 02:30 CET (second) in Berlin: the autumn overlap
                        OffsetDateTime.of(2026, 10, 25, 0, 30, 0, 1_000, ZoneOffset.UTC),
                        OffsetDateTime.of(2026, 10, 25, 1, 30, 0, 999_999_999, ZoneOffset.UTC)},
                    new Object[] {null, 42, null, new BigDecimal("7.50"), null,
                        OffsetDateTime.of(1970, 1, 1, 0, 0, 1, 0, ZoneOffset.UTC), null},
                    new Object[] {(short) -1, null, 9_007_199_254_740_993L, null, "\u0000nul", null,
                        OffsetDateTime.of(2026, 3, 29, 2, 30, 0, 0, ZoneOffset.UTC)});
            List<PlainRecord> records = new ArrayList<>();
            for (int r = 0; r < rows.size(); r++) {
                records.add(record(r + 1L, rows.get(r)));
            }
            db.blockingSession().saveAll(records);
            for (int r = 0; r < rows.size(); r++) {
                db.blockingSession().execute(DSL.insertInto(Plain.T).set(record(r + 101L, rows.get(r))));
            }
            // saveAll again: the rows exist now (update path, and match() reads them back by key)
            List<PlainRecord> again = new ArrayList<>();
            for (int r = 0; r < rows.size(); r++) {
                again.add(record(r + 1L, rows.get(r)));
            }
            db.blockingSession().saveAll(again);

            List<String> expected = new ArrayList<>();
            for (Object[] row : rows) {
                expected.add(expected(row));
            }
            String select = "select concat_ws('|', ifnull(cast(s as char), 'NULL'), ifnull(cast(i as char), 'NULL'),"
                    + " ifnull(cast(l as char), 'NULL'), ifnull(cast(d as char), 'NULL'), ifnull(hex(txt), 'NULL'),"
                    + " ifnull(cast(unix_timestamp(ts) as char), 'NULL'), ifnull(cast(dt as char), 'NULL')) from "
                    + Plain.NAME + " where id ";
            assertThat(dsl.resultQuery(select + "< 100 order by id").fetch(0, String.class))
                    .as("saveAll (direct binds)").containsExactlyElementsOf(expected);
            assertThat(dsl.resultQuery(select + "> 100 order by id").fetch(0, String.class))
                    .as("insertInto (jOOQ binding)").containsExactlyElementsOf(expected);
        } finally {
            TimeZone.setDefault(previous);
            dsl.execute("drop table " + Plain.NAME);
        }
    }

    private static PlainRecord record(long id, Object[] row) {
        PlainRecord record = new PlainRecord();
        record.set(Plain.T.ID, id);
        record.set(Plain.T.S, (Short) row[0]);
        record.set(Plain.T.I, (Integer) row[1]);
        record.set(Plain.T.L, (Long) row[2]);
        record.set(Plain.T.D, (BigDecimal) row[3]);
        record.set(Plain.T.TXT, (String) row[4]);
        record.set(Plain.T.TS, (OffsetDateTime) row[5]);
        record.set(Plain.T.DT, (OffsetDateTime) row[6]);
        return record;
    }

    /** What MariaDB shows for a row: decimals at scale 10, text as hex of UTF-8, TIMESTAMP as epoch seconds. */
    private static String expected(Object[] row) {
        List<String> out = new ArrayList<>();
        out.add(row[0] == null ? "NULL" : row[0].toString());
        out.add(row[1] == null ? "NULL" : row[1].toString());
        out.add(row[2] == null ? "NULL" : row[2].toString());
        out.add(row[3] == null ? "NULL" : ((BigDecimal) row[3]).setScale(10, RoundingMode.DOWN).toPlainString());
        out.add(row[4] == null ? "NULL" : java.util.HexFormat.of().withUpperCase()
                .formatHex(((String) row[4]).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        if (row[5] == null) {
            out.add("NULL");
        } else {
            java.time.Instant at = ((OffsetDateTime) row[5]).toInstant();
            out.add(at.getEpochSecond() + "." + String.format("%06d", at.getNano() / 1000));
        }
        out.add(row[6] == null ? "NULL" : ((OffsetDateTime) row[6]).withOffsetSameInstant(ZoneOffset.UTC)
                .toLocalDateTime().withNano(((OffsetDateTime) row[6]).getNano() / 1000 * 1000).format(DATETIME6));
        return String.join("|", out);
    }

    // ---------------------------------------------------------------------------------------------------------
    // 2. Many threads, one Database, saveAll of the same statement shape: each statement's values stay its own.

    @Test
    void concurrent_saveAll_calls_of_one_shape_keep_their_own_values(Database db, DSLContext dsl) throws Exception {
        assumeMariaDb(db);
        dsl.execute("create table " + Plain.NAME + " (id bigint primary key, s smallint, i int, l bigint,"
                + " d decimal(30,10), txt varchar(100) character set utf8mb4, ts timestamp(6) null,"
                + " dt datetime(6))");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int batch = 0; batch < 15; batch++) {
                        List<PlainRecord> records = new ArrayList<>();
                        for (int k = 0; k < 40; k++) {
                            long id = thread * 100_000L + batch * 1_000L + k + 1;
                            records.add(record(id, derived(id)));
                        }
                        db.blockingSession().saveAll(records);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            int checked = 0;
            for (org.jooq.Record r : dsl.resultQuery("select id, i, l, txt, unix_timestamp(ts) from " + Plain.NAME)) {
                long id = r.get(0, Long.class);
                Object[] want = derived(id);
                assertThat(r.get(1, Integer.class)).as("i of %s", id).isEqualTo(want[1]);
                assertThat(r.get(2, Long.class)).as("l of %s", id).isEqualTo(want[2]);
                assertThat(r.get(3, String.class)).as("txt of %s", id).isEqualTo(want[4]);
                assertThat(r.get(4, BigDecimal.class).longValue()).as("ts of %s", id)
                        .isEqualTo(((OffsetDateTime) want[5]).toEpochSecond());
                checked++;
            }
            assertThat(checked).isEqualTo(8 * 15 * 40);
        } finally {
            pool.shutdownNow();
            dsl.execute("drop table " + Plain.NAME);
        }
    }

    private static Object[] derived(long id) {
        return new Object[] {(short) (id % 1000), (int) (id * 7), id * 1_000_003L, BigDecimal.valueOf(id, 2),
            "v" + id, OffsetDateTime.of(2020, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC).plusSeconds(id),
            id % 3 == 0 ? null : OffsetDateTime.of(2000, 1, 1, 0, 0, 0, 0, ZoneOffset.ofHours(3)).plusSeconds(id)};
    }

    // ---------------------------------------------------------------------------------------------------------
    // 2b. Reading: instants whose UTC wall clock falls in the JVM zone's DST gap or overlap read back as stored.

    @org.junit.jupiter.api.Disabled("KNOWN, NOT FIXED (pre-existing, documented in README Backends): on MariaDB jOOQ reads TIMESTAMP/DATETIME through java.sql.Timestamp in the JVM default zone, so an instant whose UTC wall clock falls in that zone's spring-forward gap reads back an hour late; writes are right since the LocalDateTimeAsObject binding. Run the JVM in UTC (or a zone without DST) on MariaDB.")
    @Test
    void instants_in_the_jvm_zones_dst_gap_and_overlap_read_back_as_stored(Database db, DSLContext dsl) {
        assumeMariaDb(db);
        dsl.execute("create table " + Plain.NAME + " (id bigint primary key, s smallint, i int, l bigint,"
                + " d decimal(30,10), txt varchar(100) character set utf8mb4, ts timestamp(6) null,"
                + " dt datetime(6))");
        List<OffsetDateTime> instants = List.of(OffsetDateTime.of(2026, 3, 29, 2, 30, 0, 0, ZoneOffset.UTC),
                OffsetDateTime.of(2026, 10, 25, 0, 30, 0, 0, ZoneOffset.UTC),
                OffsetDateTime.of(2026, 10, 25, 1, 30, 0, 0, ZoneOffset.UTC));
        TimeZone previous = TimeZone.getDefault();
        TimeZone.setDefault(TimeZone.getTimeZone(BERLIN));
        try {
            for (int k = 0; k < instants.size(); k++) {
                OffsetDateTime at = instants.get(k);
                dsl.execute("insert into " + Plain.NAME + " (id, ts, dt) values (" + (k + 1) + ", from_unixtime("
                        + at.toEpochSecond() + "), '" + at.toLocalDateTime().format(DATETIME6) + "')");
            }
            List<String> read = db.blockingSession().all(DSL.selectFrom(Plain.T).orderBy(Plain.T.ID))
                    .map(r -> r.get(Plain.T.TS).toInstant() + "|" + r.get(Plain.T.DT).toInstant());
            assertThat(read).containsExactly("2026-03-29T02:30:00Z|2026-03-29T02:30:00Z",
                    "2026-10-25T00:30:00Z|2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z|2026-10-25T01:30:00Z");
        } finally {
            TimeZone.setDefault(previous);
            dsl.execute("drop table " + Plain.NAME);
        }
    }

    /** Fixed with the read-back's own binding ({@code MariaDbBackend.OffsetDateTimeFromUtc}); queries still read as above. */
    @Test
    void saveAll_refreshes_a_record_in_the_jvm_zones_dst_gap_with_the_instant_it_stored(Database db, DSLContext dsl) {
        assumeMariaDb(db);
        dsl.execute("create table " + Plain.NAME + " (id bigint primary key, s smallint, i int, l bigint,"
                + " d decimal(30,10), txt varchar(100) character set utf8mb4, ts timestamp(6) null,"
                + " dt datetime(6))");
        OffsetDateTime inGap = OffsetDateTime.of(2026, 3, 29, 2, 30, 0, 0, ZoneOffset.UTC);
        TimeZone previous = TimeZone.getDefault();
        TimeZone.setDefault(TimeZone.getTimeZone(BERLIN));
        try {
            PlainRecord saved = record(1L, new Object[] {null, null, null, null, null, inGap, inGap});
            db.blockingSession().saveAll(List.of(saved));
            assertThat(dsl.resultQuery("select cast(dt as char) from " + Plain.NAME).fetchOne(0, String.class))
                    .as("stored").isEqualTo("2026-03-29 02:30:00.000000");
            assertThat(saved.get(Plain.T.TS).toInstant() + "|" + saved.get(Plain.T.DT).toInstant())
                    .as("the record saveAll refreshed").isEqualTo("2026-03-29T02:30:00Z|2026-03-29T02:30:00Z");
        } finally {
            TimeZone.setDefault(previous);
            dsl.execute("drop table " + Plain.NAME);
        }
    }

    /**
     * saveAll's read-back reads a TIMESTAMP/DATETIME column its own way; a column of another type behind an
     * {@code OffsetDateTime} field (text) and a zero date are read as jOOQ reads them in a query (a zero date
     * fails, and the call with it).
     */
    @Test
    void saveAll_refreshes_text_and_zero_date_columns_as_a_query_reads_them(Database db, DSLContext dsl) {
        assumeMariaDb(db);
        dsl.execute("create table " + Plain.NAME + " (id bigint primary key, s smallint, i int, l bigint,"
                + " d decimal(30,10), txt varchar(100) character set utf8mb4, ts varchar(40),"
                + " dt datetime(6) null)");
        try {
            OffsetDateTime at = OffsetDateTime.of(2026, 3, 1, 12, 30, 15, 123_456_000, ZoneOffset.ofHours(2));
            PlainRecord saved = new PlainRecord();
            saved.set(Plain.T.ID, 1L);
            saved.set(Plain.T.TS, at);
            db.blockingSession().saveAll(List.of(saved));
            PlainRecord read = dsl.select(Plain.T.TS).from(Plain.T).fetchOne().into(PlainRecord.class);
            assertThat(saved.get(Plain.T.TS)).as("text").isEqualTo(read.get(Plain.T.TS));
            assertThat(saved.get(Plain.T.TS).toInstant()).isEqualTo(at.toInstant());

            // jOOQ fails to read a zero date (month 0); so does saveAll's read-back, and the call writes nothing
            assertThat(saved.get(Plain.T.DT)).as("NULL").isNull();
            dsl.execute("insert into " + Plain.NAME + " (id, dt) values (2, '0000-00-00 00:00:00')");
            assertThatThrownBy(() -> dsl.selectFrom(Plain.T).where(Plain.T.ID.eq(2L)).fetchOne())
                    .hasRootCauseInstanceOf(java.time.DateTimeException.class);
            PlainRecord zero = new PlainRecord();
            zero.set(Plain.T.ID, 2L);
            zero.set(Plain.T.TXT, "changed");
            assertThatThrownBy(() -> db.blockingSession().saveAll(List.of(zero)))
                    .hasRootCauseInstanceOf(java.time.DateTimeException.class);
            assertThat(dsl.resultQuery("select txt from " + Plain.NAME + " where id = 2").fetchOne(0, String.class))
                    .as("nothing written").isNull();
        } finally {
            dsl.execute("drop table " + Plain.NAME);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // 3. A user's own Converter on an OffsetDateTime column: the value written is the converter's, not UTC text.

    @Test
    void an_offset_date_time_column_with_the_users_datetime_converter_is_written_through_that_converter(Database db,
            DSLContext dsl) {
        assumeMariaDb(db);
        dsl.execute("create table " + Conv.NAME + " (id bigint primary key, local_at datetime(6), txt_at varchar(64))");
        OffsetDateTime noon = OffsetDateTime.of(2026, 7, 1, 12, 0, 0, 0, ZoneOffset.UTC);
        try {
            ConvRecord saved = new ConvRecord();
            saved.set(Conv.T.ID, 1L);
            saved.set(Conv.T.LOCAL_AT, noon);
            db.blockingSession().saveAll(List.of(saved));
            db.blockingSession().execute(DSL.insertInto(Conv.T).set(Conv.T.ID, 2L).set(Conv.T.LOCAL_AT, noon));

            List<String> stored = dsl.resultQuery("select cast(local_at as char) from " + Conv.NAME + " order by id")
                    .fetch(0, String.class);
            // the user's converter writes Berlin wall-clock time: 14:00 CEST
            assertThat(stored).as("saveAll, then an insert").containsExactly(
                    "2026-07-01 14:00:00.000000", "2026-07-01 14:00:00.000000");
            assertThat(db.blockingSession().one(DSL.selectFrom(Conv.T).where(Conv.T.ID.eq(2L))).get(Conv.T.LOCAL_AT)
                    .toInstant()).as("read back through the converter").isEqualTo(noon.toInstant());
        } finally {
            dsl.execute("drop table " + Conv.NAME);
        }
    }

    @Test
    void an_offset_date_time_column_with_the_users_text_converter_is_written_through_that_converter(Database db,
            DSLContext dsl) {
        assumeMariaDb(db);
        dsl.execute("create table " + Conv.NAME + " (id bigint primary key, local_at datetime(6), txt_at varchar(64))");
        OffsetDateTime noon = OffsetDateTime.of(2026, 7, 1, 12, 0, 0, 0, ZoneOffset.UTC);
        try {
            db.blockingSession().execute(DSL.insertInto(Conv.T).set(Conv.T.ID, 2L).set(Conv.T.TXT_AT, noon));
            // the user's converter writes ISO-8601 text
            assertThat(dsl.resultQuery("select txt_at from " + Conv.NAME).fetchOne(0, String.class))
                    .isEqualTo("2026-07-01T12:00Z");
        } finally {
            dsl.execute("drop table " + Conv.NAME);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // 4. LocalDateTime (DATETIME) in the JVM zone's DST gap: the OffsetDateTime fix does not cover it.

    @Test
    void a_local_date_time_in_the_jvm_zones_dst_gap_is_stored_as_written(Database db, DSLContext dsl) {
        assumeMariaDb(db);
        dsl.execute("create table " + Local.NAME + " (id bigint primary key, at datetime(6))");
        TimeZone previous = TimeZone.getDefault();
        TimeZone.setDefault(TimeZone.getTimeZone(BERLIN));
        LocalDateTime inGap = LocalDateTime.of(2026, 3, 29, 2, 30, 0, 123_456_000);
        try {
            LocalRecord saved = new LocalRecord();
            saved.set(Local.T.ID, 1L);
            saved.set(Local.T.AT, inGap);
            db.blockingSession().saveAll(List.of(saved));
            db.blockingSession().execute(DSL.insertInto(Local.T).set(Local.T.ID, 2L).set(Local.T.AT, inGap));
            List<String> stored = dsl.resultQuery("select cast(at as char) from " + Local.NAME + " order by id")
                    .fetch(0, String.class);
            assertThat(stored).as("saveAll, then an insert").containsExactly(
                    "2026-03-29 02:30:00.123456", "2026-03-29 02:30:00.123456");
        } finally {
            TimeZone.setDefault(previous);
            dsl.execute("drop table " + Local.NAME);
        }
    }

    // ---------------------------------------------------------------------------------------------------------

    static final class Plain extends TableImpl<PlainRecord> {
        static final String NAME = "review3_plain";
        static final Plain T = new Plain();

        final TableField<PlainRecord, Long> ID = createField(DSL.name("id"), SQLDataType.BIGINT.nullable(false), this, "");
        final TableField<PlainRecord, Short> S = createField(DSL.name("s"), SQLDataType.SMALLINT, this, "");
        final TableField<PlainRecord, Integer> I = createField(DSL.name("i"), SQLDataType.INTEGER, this, "");
        final TableField<PlainRecord, Long> L = createField(DSL.name("l"), SQLDataType.BIGINT, this, "");
        final TableField<PlainRecord, BigDecimal> D = createField(DSL.name("d"), SQLDataType.NUMERIC(30, 10), this, "");
        final TableField<PlainRecord, String> TXT = createField(DSL.name("txt"), SQLDataType.VARCHAR(100), this, "");
        final TableField<PlainRecord, OffsetDateTime> TS = createField(DSL.name("ts"), SQLDataType.TIMESTAMPWITHTIMEZONE(6), this, "");
        final TableField<PlainRecord, OffsetDateTime> DT = createField(DSL.name("dt"), SQLDataType.TIMESTAMPWITHTIMEZONE(6), this, "");

        private Plain() {
            super(DSL.name(NAME));
        }

        @Override
        public Class<PlainRecord> getRecordType() {
            return PlainRecord.class;
        }

        @Override
        public UniqueKey<PlainRecord> getPrimaryKey() {
            return Internal.createUniqueKey(this, DSL.name("review3_plain_pkey"), ID);
        }
    }

    public static final class PlainRecord extends UpdatableRecordImpl<PlainRecord> {
        public PlainRecord() {
            super(Plain.T);
        }
    }

    static final class Conv extends TableImpl<ConvRecord> {
        static final String NAME = "review3_conv";
        static final Conv T = new Conv();

        final TableField<ConvRecord, Long> ID = createField(DSL.name("id"), SQLDataType.BIGINT.nullable(false), this, "");
        final TableField<ConvRecord, OffsetDateTime> LOCAL_AT = createField(DSL.name("local_at"),
                SQLDataType.LOCALDATETIME(6).asConvertedDataType(Converter.ofNullable(LocalDateTime.class,
                        OffsetDateTime.class, l -> l.atZone(BERLIN).toOffsetDateTime(),
                        o -> o.atZoneSameInstant(BERLIN).toLocalDateTime())), this, "");
        final TableField<ConvRecord, OffsetDateTime> TXT_AT = createField(DSL.name("txt_at"),
                SQLDataType.VARCHAR(64).asConvertedDataType(Converter.ofNullable(String.class, OffsetDateTime.class,
                        OffsetDateTime::parse, OffsetDateTime::toString)), this, "");

        private Conv() {
            super(DSL.name(NAME));
        }

        @Override
        public Class<ConvRecord> getRecordType() {
            return ConvRecord.class;
        }

        @Override
        public UniqueKey<ConvRecord> getPrimaryKey() {
            return Internal.createUniqueKey(this, DSL.name("review3_conv_pkey"), ID);
        }
    }

    public static final class ConvRecord extends UpdatableRecordImpl<ConvRecord> {
        public ConvRecord() {
            super(Conv.T);
        }
    }

    static final class Local extends TableImpl<LocalRecord> {
        static final String NAME = "review3_local";
        static final Local T = new Local();

        final TableField<LocalRecord, Long> ID = createField(DSL.name("id"), SQLDataType.BIGINT.nullable(false), this, "");
        final TableField<LocalRecord, LocalDateTime> AT = createField(DSL.name("at"), SQLDataType.LOCALDATETIME(6), this, "");

        private Local() {
            super(DSL.name(NAME));
        }

        @Override
        public Class<LocalRecord> getRecordType() {
            return LocalRecord.class;
        }

        @Override
        public UniqueKey<LocalRecord> getPrimaryKey() {
            return Internal.createUniqueKey(this, DSL.name("review3_local_pkey"), ID);
        }
    }

    public static final class LocalRecord extends UpdatableRecordImpl<LocalRecord> {
        public LocalRecord() {
            super(Local.T);
        }
    }
}
