package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.jooq.Binding;
import org.jooq.Converter;
import org.jooq.DSLContext;
import org.jooq.DataType;
import org.jooq.Field;
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
 * Review of commit 79ed798: {@code UpsertStatements.Sql.bind} asks {@code DirectBinds.fits(field)} once per
 * field of a statement (a cache by field identity) and checks per value only its class.
 *
 * <ol>
 *   <li>The choice (direct binds or jOOQ's binding) is the one the per-value rule before the commit made, for
 *       any sequence of fields and values (passes).</li>
 *   <li>A wide statement (more fields than the cache's first 8 slots) stores what jOOQ's binding stores, on
 *       insert, update and the key match (passes).</li>
 *   <li>DEFECT (introduced): the cache is a linear scan, so binding a statement costs O(binds x columns):
 *       wide tables pay many times what they paid before.</li>
 *   <li>DEFECT (pre-existing, not introduced: same rule before and after): a field whose converter maps a type to
 *       itself passes {@code fits}, and direct binds skip the converter: saveAll stores another value than jOOQ's
 *       binding (an insert) stores; {@code MariaDbBackend.Timestamps} skips such a converter of an
 *       {@code OffsetDateTime} in every statement, an insert included.</li>
 * </ol>
 */
@ExampleDatabase
class DirectBindCacheReviewTest {

    private static void assumeMariaDb(Database db) {
        Assumptions.assumeTrue(db.dialect().family() == SQLDialect.MARIADB, "MariaDB direct binds under review");
    }

    // ---------------------------------------------------------------------------------------------------------
    // 1. The choice equals the rule before the commit.

    /**
     * {@code DirectBinds.fits(field, value)} as it was before 79ed798, with the fix of finding 4: the converter
     * must be jOOQ's identity, not merely one from a type to itself (written here independently of the core).
     */
    private static boolean fitsBefore(Field<?> field, Object value) {
        Class<?> type = field.getType();
        if (!java.util.Set.of(Long.class, Integer.class, Short.class, String.class, BigDecimal.class,
                OffsetDateTime.class).contains(type) || value != null && value.getClass() != type) {
            return false;
        }
        Converter<?, ?> converter = field.getConverter();
        return converter.getClass().getName().equals("org.jooq.impl.IdentityConverter")
                && field.getBinding().getClass().getName().startsWith("org.jooq.impl.DefaultBinding$Default");
    }

    private static boolean direct(UpsertStatements.Sql sql) throws ReflectiveOperationException {
        java.lang.reflect.Field direct = UpsertStatements.Sql.class.getDeclaredField("direct");
        direct.setAccessible(true);
        return direct.getBoolean(sql);
    }

    /** A BigDecimal of a subclass: not of exactly the field's type. */
    static final class Money extends BigDecimal {
        Money(String value) {
            super(value);
        }
    }

    @Test
    void the_direct_choice_is_the_per_value_rule_of_before_for_any_sequence() throws Exception {
        List<Field<?>> fields = new ArrayList<>();
        // equal but not identical fields, with and without a converter or a binding of their own
        Field<Long> plain = DSL.field(DSL.name("a"), SQLDataType.BIGINT);
        Field<Long> plainAgain = DSL.field(DSL.name("a"), SQLDataType.BIGINT);
        Field<Long> converted = DSL.field(DSL.name("a"), SQLDataType.BIGINT.asConvertedDataType(
                Converter.ofNullable(Long.class, Long.class, v -> v, v -> v)));
        Field<Long> bound = DSL.field(DSL.name("a"), SQLDataType.BIGINT.asConvertedDataType(Binding.of(
                Converter.ofNullable(Long.class, Long.class, v -> v, v -> v), s -> s.render().sql(s.variable()),
                g -> {}, s -> {})));
        Field<String> text = DSL.field(DSL.name("a"), SQLDataType.INTEGER.asConvertedDataType(
                Converter.ofNullable(Integer.class, String.class, String::valueOf, Integer::valueOf)));
        assertThat(plain).isEqualTo(plainAgain).isEqualTo(converted).isEqualTo(bound);
        fields.addAll(List.of(plain, plainAgain, converted, bound, text));
        fields.add(DSL.field(DSL.name("b"), SQLDataType.NUMERIC(20, 4)));
        fields.add(DSL.field(DSL.name("c"), SQLDataType.OFFSETDATETIME(6)));
        fields.add(DSL.field(DSL.name("d"), SQLDataType.LOCALDATETIME(6)));
        fields.add(DSL.field(DSL.name("e"), SQLDataType.SMALLINT));
        fields.add(DSL.field(DSL.name("f"), SQLDataType.INTEGER));
        fields.add(DSL.field(DSL.name("g"), SQLDataType.OTHER));
        for (int i = 0; i < 40; i++) {
            // many fields: the cache grows past its first 8 slots
            fields.add(i % 2 == 0 ? DSL.field(DSL.name("w" + i), SQLDataType.BIGINT)
                    : DSL.field(DSL.name("w" + i), SQLDataType.VARCHAR));
        }
        Object[] values = {null, 1L, 1, (short) 1, "x", new BigDecimal("1.50"), new Money("1.50"),
            OffsetDateTime.of(2026, 1, 1, 0, 0, 0, 0, ZoneOffset.ofHours(2)), LocalDateTime.of(2026, 1, 1, 0, 0),
            new Object()};
        Random random = new Random(79_798L);
        int directs = 0;
        for (int sequence = 0; sequence < 20_000; sequence++) {
            UpsertStatements.Sql sql = new UpsertStatements.Sql();
            boolean expected = true;
            int length = 1 + random.nextInt(sequence % 10 == 0 ? 400 : 12);
            // mostly one field after another (as rows are), sometimes anything
            List<Field<?>> shape = new ArrayList<>();
            for (int k = 0; k < 1 + random.nextInt(12); k++) {
                shape.add(fields.get(random.nextInt(fields.size())));
            }
            for (int b = 0; b < length; b++) {
                Field<?> field = random.nextInt(4) == 0 ? fields.get(random.nextInt(fields.size()))
                        : shape.get(b % shape.size());
                // mostly a value of the field's own type or null, sometimes any
                Object value = random.nextInt(3) == 0 ? values[random.nextInt(values.length)]
                        : random.nextInt(4) == 0 ? null : ownValue(field);
                sql.bind(field, field.getDataType().notNull(), value);
                expected &= fitsBefore(field, value);
                assertThat(direct(sql)).as("sequence %s bind %s: %s = %s", sequence, b, field, value)
                        .isEqualTo(expected);
            }
            directs += expected ? 1 : 0;
        }
        assertThat(directs).as("sequences bound directly").isGreaterThan(1_000);
    }

    private static Object ownValue(Field<?> field) {
        Class<?> type = field.getType();
        return type == Long.class ? (Object) 7L : type == Integer.class ? (Object) 7 : type == Short.class
                ? (Object) (short) 7 : type == String.class ? "s" : type == BigDecimal.class ? new BigDecimal("7.0")
                : type == OffsetDateTime.class ? OffsetDateTime.of(2026, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC)
                : type == LocalDateTime.class ? LocalDateTime.of(2026, 1, 1, 0, 0) : null;
    }

    // ---------------------------------------------------------------------------------------------------------
    // 2. A wide statement through saveAll stores what an insert stores.

    @Test
    void a_wide_table_is_stored_by_saveAll_as_by_an_insert(Database db, DSLContext dsl) {
        assumeMariaDb(db);
        StringBuilder ddl = new StringBuilder("create table " + Wide.NAME + " (id bigint, d decimal(20,4),");
        for (int i = 0; i < Wide.COLUMNS; i++) {
            ddl.append(" c").append(i).append(' ').append(switch (i % 6) {
                case 0 -> "bigint";
                case 1 -> "int";
                case 2 -> "smallint";
                case 3 -> "varchar(40)";
                case 4 -> "decimal(20,4)";
                default -> "timestamp(6) null";
            }).append(',');
        }
        dsl.execute(ddl.append(" primary key (id, d))").toString());
        try {
            List<WideRecord> saved = new ArrayList<>();
            for (int r = 0; r < 30; r++) {
                saved.add(wide(r));
                db.blockingSession().execute(DSL.insertInto(Wide.T).set(wide(r + 1000)));
            }
            db.blockingSession().saveAll(saved);
            // again: an update, its rows matched by key (the decimal key made canonical: scale 4)
            List<WideRecord> again = new ArrayList<>();
            for (int r = 0; r < 30; r++) {
                again.add(wide(r));
            }
            db.blockingSession().saveAll(again);
            StringBuilder all = new StringBuilder("select concat_ws('|', cast(d as char)");
            for (int i = 0; i < Wide.COLUMNS; i++) {
                all.append(", ifnull(cast(").append(i % 6 == 5 ? "unix_timestamp(c" + i + ")" : "c" + i)
                        .append(" as char), 'NULL')");
            }
            all.append(") from ").append(Wide.NAME).append(" where id ");
            List<String> bySaveAll = dsl.resultQuery(all + "< 1000 order by id").fetch(0, String.class);
            List<String> byInsert = dsl.resultQuery(all + ">= 1000 order by id").fetch(0, String.class);
            assertThat(bySaveAll).hasSize(30).containsExactlyElementsOf(byInsert);
            assertThat(again.get(7).get(Wide.T.C.get(4))).as("refreshed").isEqualTo(new BigDecimal("0.7004"));
        } finally {
            dsl.execute("drop table " + Wide.NAME);
        }
    }

    private static WideRecord wide(int r) {
        WideRecord record = new WideRecord();
        int row = r % 1000;
        record.set(Wide.T.ID, (long) r);
        record.set(Wide.T.D, new BigDecimal("1.00005"));
        for (int i = 0; i < Wide.COLUMNS; i++) {
            @SuppressWarnings("unchecked")
            Field<Object> field = (Field<Object>) Wide.T.C.get(i);
            Object value = (row + i) % 7 == 0 ? null : switch (i % 6) {
                case 0 -> (long) row * 1_000_003L - i;
                case 1 -> row * 31 + i;
                case 2 -> (short) (row - i);
                case 3 -> "r" + row + "c" + i + " \u00e9\uD83D\uDE00";
                // scale 0 to 5 (5: more than the column's 4)
                case 4 -> BigDecimal.valueOf(row * 1000L + i, i % 6);
                default -> OffsetDateTime.of(2026, 3, 29, 2, 30, 0, row * 1_000, ZoneOffset.ofHours(i % 5))
                        .plusSeconds(i);
            };
            record.set(field, value);
        }
        return record;
    }

    static final class Wide extends TableImpl<WideRecord> {
        static final String NAME = "review_cache_wide";
        static final int COLUMNS = 36;
        static final Wide T = new Wide();

        final TableField<WideRecord, Long> ID = createField(DSL.name("id"), SQLDataType.BIGINT.nullable(false), this, "");
        final TableField<WideRecord, BigDecimal> D = createField(DSL.name("d"), SQLDataType.DECIMAL(20, 4).nullable(false), this, "");
        final List<TableField<WideRecord, ?>> C = new ArrayList<>();

        private Wide() {
            super(DSL.name(NAME));
            for (int i = 0; i < COLUMNS; i++) {
                DataType<?> type = switch (i % 6) {
                    case 0 -> SQLDataType.BIGINT;
                    case 1 -> SQLDataType.INTEGER;
                    case 2 -> SQLDataType.SMALLINT;
                    case 3 -> SQLDataType.VARCHAR(40);
                    case 4 -> SQLDataType.DECIMAL(20, 4);
                    default -> SQLDataType.OFFSETDATETIME(6);
                };
                C.add(createField(DSL.name("c" + i), type, this, ""));
            }
        }

        @Override
        public Class<WideRecord> getRecordType() {
            return WideRecord.class;
        }

        @Override
        public UniqueKey<WideRecord> getPrimaryKey() {
            return Internal.createUniqueKey(this, DSL.name(NAME + "_pkey"), ID, D);
        }
    }

    public static final class WideRecord extends UpdatableRecordImpl<WideRecord> {
        public WideRecord() {
            super(Wide.T);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // 3. DEFECT (introduced): binding a statement costs O(binds x columns).

    /**
     * Before the commit a bind cost the same whatever the number of columns (about 11 ns, {@code fits} per
     * value); now each bind scans the fields seen so far, so a statement of 28,000 binds over 4,000 columns (MariaDB
     * allows 4,096) makes about 56 million comparisons. Measured on the same JVM: the cost of a bind in a statement
     * of 4,000 columns against one of 8 columns, the same number of binds.
     */
    @Test
    @org.junit.jupiter.api.Tag("bench") // a timing: run on demand (-Dsurefire.excludedGroups=), not in the suites
    void a_bind_costs_no_more_in_a_wide_statement_than_in_a_narrow_one(Database db) {
        assumeMariaDb(db);
        long narrow = Long.MAX_VALUE;
        long wide = Long.MAX_VALUE;
        for (int round = 0; round < 30; round++) {
            long n = bindTime(8, 28_000);
            long w = bindTime(4_000, 28_000);
            if (round >= 10) {
                narrow = Math.min(narrow, n);
                wide = Math.min(wide, w);
            }
        }
        System.out.printf("REVIEW cache: 28,000 binds over 8 columns %.2f ms, over 4,000 columns %.2f ms%n",
                narrow / 1e6, wide / 1e6);
        assertThat(wide).as("ns for 28,000 binds over 4,000 columns (over 8 columns: %s ns)", narrow)
                .isLessThan(4 * narrow);
    }

    private static long bindTime(int columns, int binds) {
        Field<?>[] fields = new Field<?>[columns];
        DataType<?>[] types = new DataType<?>[columns];
        for (int i = 0; i < columns; i++) {
            fields[i] = DSL.field(DSL.name("c" + i), SQLDataType.BIGINT);
            types[i] = fields[i].getDataType().notNull();
        }
        Long value = 42L;
        long start = System.nanoTime();
        UpsertStatements.Sql sql = new UpsertStatements.Sql();
        for (int b = 0; b < binds; b++) {
            sql.bind(fields[b % columns], types[b % columns], value);
        }
        long time = System.nanoTime() - start;
        assertThat(sql).isNotNull();
        return time;
    }

    // ---------------------------------------------------------------------------------------------------------
    // 4. DEFECT (pre-existing): a converter from a type to itself is skipped by direct binds.

    @Test
    void a_converter_from_a_type_to_itself_is_applied_by_saveAll_as_by_an_insert(Database db, DSLContext dsl) {
        assumeMariaDb(db);
        dsl.execute("create table " + Conv.NAME + " (id bigint primary key, millis bigint, email varchar(40),"
                + " cents decimal(20,0), at datetime(6))");
        try {
            ConvRecord saved = conv(1L);
            db.blockingSession().saveAll(List.of(saved));
            db.blockingSession().execute(DSL.insertInto(Conv.T).set(conv(2L)));
            List<String> stored = dsl.resultQuery("select concat_ws('|', millis, email, cents) from " + Conv.NAME
                    + " order by id").fetch(0, String.class);
            System.out.println("REVIEW converter: saveAll stored " + stored.get(0) + ", an insert " + stored.get(1)
                    + "; the record saveAll refreshed: " + saved.get(Conv.T.SECONDS) + "|" + saved.get(Conv.T.EMAIL)
                    + "|" + saved.get(Conv.T.EUROS));
            assertThat(stored).as("saveAll, then an insert").containsExactly("5000|ann@example.com|1250",
                    "5000|ann@example.com|1250");
            ConvRecord read = dsl.selectFrom(Conv.T).where(Conv.T.ID.eq(1L)).fetchOne();
            assertThat(List.of(saved.get(Conv.T.SECONDS), saved.get(Conv.T.EMAIL), saved.get(Conv.T.EUROS)))
                    .as("the record saveAll refreshed, against the row read back")
                    .isEqualTo(List.of(read.get(Conv.T.SECONDS), read.get(Conv.T.EMAIL), read.get(Conv.T.EUROS)));
        } finally {
            dsl.execute("drop table " + Conv.NAME);
        }
    }

    /**
     * The same flaw in {@code MariaDbBackend.Timestamps} (every query, not only saveAll): an {@code OffsetDateTime}
     * bind whose converter maps the type to itself is replaced by the raw value in UTC, the converter skipped.
     */
    @Test
    void an_offset_date_time_converter_to_itself_is_applied_by_an_insert_and_by_saveAll(Database db, DSLContext dsl) {
        assumeMariaDb(db);
        dsl.execute("create table " + Conv.NAME + " (id bigint primary key, millis bigint, email varchar(40),"
                + " cents decimal(20,0), at datetime(6))");
        try {
            ConvRecord saved = conv(1L);
            db.blockingSession().saveAll(List.of(saved));
            db.blockingSession().execute(DSL.insertInto(Conv.T).set(conv(2L)));
            List<String> stored = dsl.resultQuery("select cast(at as char) from " + Conv.NAME + " order by id")
                    .fetch(0, String.class);
            assertThat(saved.get(Conv.T.AT)).as("the timestamp saveAll refreshed: the instant stored")
                    .isEqualTo(OffsetDateTime.of(2026, 1, 1, 12, 0, 0, 0, ZoneOffset.UTC));
            System.out.println("REVIEW timestamp converter: saveAll stored " + stored.get(0) + ", an insert "
                    + stored.get(1));
            // the converter writes whole seconds
            assertThat(stored).as("saveAll, then an insert").containsExactly("2026-01-01 12:00:00.000000",
                    "2026-01-01 12:00:00.000000");
        } finally {
            dsl.execute("drop table " + Conv.NAME);
        }
    }

    private static ConvRecord conv(long id) {
        ConvRecord record = new ConvRecord();
        record.set(Conv.T.ID, id);
        record.set(Conv.T.SECONDS, 5L);
        record.set(Conv.T.EMAIL, "Ann@Example.COM");
        record.set(Conv.T.EUROS, new BigDecimal("12.50"));
        record.set(Conv.T.AT, OffsetDateTime.of(2026, 1, 1, 12, 0, 0, 123_456_000, ZoneOffset.UTC));
        return record;
    }

    static final class Conv extends TableImpl<ConvRecord> {
        static final String NAME = "review_cache_conv";
        static final Conv T = new Conv();

        final TableField<ConvRecord, Long> ID = createField(DSL.name("id"), SQLDataType.BIGINT.nullable(false), this, "");
        /** Seconds in Java, milliseconds in the column. */
        final TableField<ConvRecord, Long> SECONDS = createField(DSL.name("millis"), SQLDataType.BIGINT
                .asConvertedDataType(Converter.ofNullable(Long.class, Long.class, ms -> ms / 1000, s -> s * 1000)),
                this, "");
        /** Written in lower case. */
        final TableField<ConvRecord, String> EMAIL = createField(DSL.name("email"), SQLDataType.VARCHAR(40)
                .asConvertedDataType(Converter.ofNullable(String.class, String.class, s -> s,
                        s -> s.toLowerCase(java.util.Locale.ROOT))), this, "");
        /** Euros in Java, cents in the column. */
        final TableField<ConvRecord, BigDecimal> EUROS = createField(DSL.name("cents"), SQLDataType.DECIMAL(20, 0)
                .asConvertedDataType(Converter.ofNullable(BigDecimal.class, BigDecimal.class, c -> c.movePointLeft(2),
                        e -> e.movePointRight(2))), this, "");
        /** Written in whole seconds. */
        final TableField<ConvRecord, OffsetDateTime> AT = createField(DSL.name("at"), SQLDataType.OFFSETDATETIME(6)
                .asConvertedDataType(Converter.ofNullable(OffsetDateTime.class, OffsetDateTime.class, t -> t,
                        t -> t.truncatedTo(java.time.temporal.ChronoUnit.SECONDS))), this, "");

        private Conv() {
            super(DSL.name(NAME));
        }

        @Override
        public Class<ConvRecord> getRecordType() {
            return ConvRecord.class;
        }

        @Override
        public UniqueKey<ConvRecord> getPrimaryKey() {
            return Internal.createUniqueKey(this, DSL.name(NAME + "_pkey"), ID);
        }
    }

    public static final class ConvRecord extends UpdatableRecordImpl<ConvRecord> {
        public ConvRecord() {
            super(Conv.T);
        }
    }
}
