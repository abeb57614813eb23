package dev.sqlservice;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.jooq.Converter;
import org.jooq.DSLContext;
import org.jooq.EnumType;
import org.jooq.Field;
import org.jooq.JSON;
import org.jooq.JSONB;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.TableField;
import org.jooq.UpdatableRecord;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/**
 * PostgreSQL through pgjdbc ({@code jdbc:postgresql:}): every rule of the core that is PostgreSQL's. A cancel is
 * confirmed by SQLState {@code 57014}; pgjdbc streams a result only inside a transaction and its
 * {@code Statement.cancel()} does nothing while an open result is read; {@code DO} blocks, like procedures, may
 * commit part of their work; parameter values in the URL are URL-decoded; {@code ?} is an operator in plain SQL
 * (jsonb), {@code $$} quotes and {@code /* … *}{@code /} comments nest; timestamps are stored at microseconds,
 * rounded half up around PostgreSQL's epoch; upserts are {@code ON CONFLICT} statements carrying their rows as
 * one JSON bind ({@link Statements}).
 */
final class PostgresBackend extends Backend {
    static final PostgresBackend INSTANCE = new PostgresBackend();
    /** 2000-01-01T00:00:00Z, PostgreSQL's epoch, around which it rounds timestamps to fewer digits. */
    private static final long POSTGRES_EPOCH = 946_684_800L;

    private PostgresBackend() {}

    @Override
    SQLDialect dialect() {
        return SQLDialect.POSTGRES;
    }

    @Override
    String urlPrefix() {
        return "jdbc:postgresql:";
    }

    @Override
    String vendor() {
        return "postgresql";
    }

    /** pgjdbc URL-decodes parameter values. */
    @Override
    String urlParameterValue(String name, String value) {
        try {
            return URLDecoder.decode(value, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("url parameter " + name + " is not URL-encoded correctly"
                    + " (pgjdbc URL-decodes parameter values: write % as %25)");
        }
    }

    @Override
    NamedSql.Dialect namedParameters() {
        return NamedSql.Dialect.POSTGRES;
    }

    @Override
    UpsertStatements upserts() {
        return Statements.INSTANCE;
    }

    /**
     * Rounded to microseconds, half up, as {@link Times} and pgjdbc send them.
     *
     * @throws IllegalArgumentException for an instant before year 1 (UTC): see {@link #refuseBeforeYearOne}
     */
    @Override
    OffsetDateTime sentTimestamp(OffsetDateTime value) {
        refuseBeforeYearOne(value.withOffsetSameInstant(java.time.ZoneOffset.UTC).getYear(), value);
        return Times.toMicros(value);
    }

    /**
     * Rounded to microseconds, half up, as {@link Times} and pgjdbc send them.
     *
     * @throws IllegalArgumentException for a value before year 1: see {@link #refuseBeforeYearOne}
     */
    @Override
    LocalDateTime sentTimestamp(LocalDateTime value) {
        refuseBeforeYearOne(value.getYear(), value);
        return Times.toMicros(value);
    }

    /**
     * PostgreSQL stores timestamps before year 1 (1 BC and earlier) correctly, but jOOQ reads them back as the
     * same year AD, so a key refreshed by {@code save} would name another row, and the next save would insert a
     * second one. Such keys are refused before any SQL is sent.
     */
    private static void refuseBeforeYearOne(int year, Object value) {
        if (year < 1) {
            throw new IllegalArgumentException("a timestamp primary key before year 1 (" + value + ") is not supported"
                    + " on PostgreSQL: jOOQ reads such values back as years AD, so the saved record would be keyed by"
                    + " another instant");
        }
    }

    /**
     * PostgreSQL rounds half away from zero around its epoch (after the microseconds {@link Times} rounded before
     * sending).
     */
    @Override
    Instant storedTimestamp(Instant value, int digits) {
        if (digits >= 6) {
            return value;
        }
        long unit = (long) Math.pow(10, 9 - digits);
        int nano = value.getNano();
        long scale = unit / 1000;
        try {
            long micros = Math.addExact(Math.multiplyExact(value.getEpochSecond() - POSTGRES_EPOCH, 1_000_000L), nano / 1000);
            long rounded = micros >= 0 ? (micros + scale / 2) / scale * scale : -((-micros + scale / 2) / scale * scale);
            return Instant.ofEpochSecond(POSTGRES_EPOCH + Math.floorDiv(rounded, 1_000_000L),
                    Math.floorMod(rounded, 1_000_000L) * 1000);
        } catch (ArithmeticException beyondPostgresRange) {
            return value;
        }
    }

    @Override
    boolean isCancelConfirmation(DataAccessException e) {
        return "57014".equals(e.sqlState());
    }

    /** 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now. */
    @Override
    boolean isServerShutdown(String sqlState, int errorCode) {
        return sqlState.startsWith("57P0");
    }

    @Override
    boolean endsInterruptedQueriesNormally() {
        return false;
    }

    @Override
    boolean isAtomic(String sql) {
        return super.isAtomic(sql) && !startsWithKeyword(sql, "do");
    }

    @Override
    boolean streamsOnlyInTransactions() {
        return true;
    }

    @Override
    boolean readsRestOfResultOnClose() {
        return false;
    }

    /**
     * pgjdbc's {@code Statement.cancel()} does nothing once {@code executeQuery} has returned, even while a
     * fetch of the open result runs: the connection's {@code cancelQuery()} sends the cancel regardless.
     */
    @Override
    void cancelReading(Statement statement) throws SQLException {
        Connection physical = statement.getConnection().unwrap(Connection.class);
        try {
            physical.getClass().getMethod("cancelQuery").invoke(physical);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause() instanceof SQLException s ? s : new SQLException(e.getCause());
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new SQLException("cannot cancel on " + physical.getClass().getName(), e);
        }
    }

    @Override
    Properties driverDefaults(Duration connect) {
        Properties p = new Properties();
        p.setProperty("connectTimeout", seconds(connect));
        // pgjdbc's default 0 waits forever for a server that accepted the TCP connection but never answers.
        p.setProperty("loginTimeout", seconds(connect));
        p.setProperty("cancelSignalTimeout", seconds(CANCEL_GRACE));
        p.setProperty("tcpKeepAlive", "true");
        return p;
    }

    @Override
    Properties probeSettings(Duration bound) {
        Properties p = driverDefaults(bound);
        p.setProperty("socketTimeout", seconds(bound));
        p.setProperty("ApplicationName", "sqlservice liveness probe");
        return p;
    }

    @Override
    long sessionId(Connection connection) throws SQLException {
        return driverLong(connection, "getBackendPID");
    }

    @Override
    String sessionAliveSql() {
        return "select 1 from pg_stat_activity where pid = ? and state in ('active', 'fastpath function call')";
    }

    /**
     * {@code INSERT … ON CONFLICT} on the primary key, {@code RETURNING} the stored rows; generated columns read
     * from {@code pg_attribute}.
     *
     * <p>The rows of a statement are one bind value, a JSON array, turned back into typed rows by
     * {@code json_populate_recordset(null::table, ?)}, so the table's own column types parse every value (enums,
     * jsonb, timestamps) and the statement has one bind whatever its size:
     *
     * <pre>
     * insert into users as t (id, name, email)
     * select v.id, v.name, v.email from json_populate_recordset(cast(null as users), cast(? as json)) with ordinality as v
     * order by v.ordinality
     * on conflict (id) do update set name = excluded.name, email = excluded.email
     * returning t.id, t.name, t.email, t.created_at
     * </pre>
     *
     * <p>The database takes the rows in the order they were sent ({@code order by v.ordinality}): the plan's order,
     * the same within a statement as across statements, so overlapping calls lock shared rows in one order.
     *
     * <p>Identity values given explicitly are written with {@code OVERRIDING SYSTEM VALUE}, which
     * {@code GENERATED ALWAYS} identities require (and {@code BY DEFAULT} ones ignore).
     */
    static final class Statements extends UpsertStatements {
        static final Statements INSTANCE = new Statements();
        /** At most this many rows a statement. */
        static final int ROWS_PER_STATEMENT = 10_000;
        /**
         * At most this much JSON (UTF-8 bytes) a statement, unless one row alone is larger: far below PostgreSQL's
         * 1 GB limit on one value, and what a call holds in memory beyond the records.
         */
        static final long JSON_BYTES_PER_STATEMENT = 16L << 20;

        private static final Field<Long> ORDINALITY = DSL.field(DSL.name("ordinality"), SQLDataType.BIGINT);

        /**
         * Statements of at least this many rows carry them by {@code COPY} into a temporary table rather than as
         * JSON ({@link #copyUpsert}). Measured (ProfileMain upsertAB, embedded PostgreSQL 18, bench_items, half
         * the keys present, wall time of saveAll COPY/JSON, median of 28 interleaved rounds on 2 shared cores):
         * 1,000 rows ×1.12 to ×1.40, 3,000 ×1.00 to ×1.23, 5,000 ×0.93 to ×0.97, 7,000 ×0.90, 10,000 ×0.87,
         * 100,000 ×0.87. A COPY statement costs a few milliseconds more (two or three more round trips, the
         * temporary table created once per call) and saves per row (COPY's text is cheaper for the server to
         * parse than JSON). Not final: tests set it to 1 to send every statement's rows by COPY (also
         * {@code -Dsqlservice.postgres.copyRows=1}), or to {@code Integer.MAX_VALUE} to never use COPY (then
         * json[]/jsonb[] columns, which otherwise always go by COPY, take the JSON path too).
         */
        static int copyRows = Integer.getInteger("sqlservice.postgres.copyRows", 5_000);

        /** At most this many rows a COPY statement (within {@link #JSON_BYTES_PER_STATEMENT}). Not final: measured. */
        static int copyRowsPerStatement = ROWS_PER_STATEMENT;

        /**
         * Whether the COPY text of a call's next statement is written on a thread of its own while the server runs
         * the current statement ({@link Run#workAhead}). Not final: benchmarks compare with the text written in
         * turn.
         */
        static boolean copyTextAhead = !Boolean.getBoolean("sqlservice.postgres.copyTextInTurn");

        /**
         * Whether pgjdbc is on the class path (an optional dependency of the core); {@link PostgresCopy}, which
         * refers to it, is loaded only when it is.
         */
        private static final boolean PGJDBC = pgjdbcPresent();

        private static boolean pgjdbcPresent() {
            try {
                Class.forName("org.postgresql.PGConnection", false, Statements.class.getClassLoader());
                return true;
            } catch (ClassNotFoundException | LinkageError e) {
                return false;
            }
        }

        /** How many statements took their rows by COPY (in this JVM): for tests. */
        static final java.util.concurrent.atomic.LongAdder COPIES = new java.util.concurrent.atomic.LongAdder();

        /** The most characters of COPY text one statement sent (in this JVM): for the memory benchmark. */
        static final java.util.concurrent.atomic.LongAccumulator LARGEST_COPY_TEXT =
                new java.util.concurrent.atomic.LongAccumulator(Math::max, 0);

        /**
         * The temporary tables COPY fills are named this, then a hash of their shape (the target table and the
         * columns), in the session's own temporary schema: no user table is named that, so none is hidden.
         */
        private static final String COPY_TABLE = "sqlservice_upsert_";
        /** The key of a {@link Run}'s state holding its COPY tables: by the SQL of their shape. */
        private static final Object COPY_TABLES = new Object();
        /** The column of a COPY table holding each row's position (underscores added while a column has the name). */
        private static final String COPY_ORDER = "sqlservice_upsert_ord";

        /** A temporary table COPY fills: its qualified name, and its position column. */
        private record CopyTable(String name, String order) {}

        @Override
        <R extends UpdatableRecord<?>> Written upsert(DSLContext dsl, Upserts.Group<R> group, List<R> rows) {
            return upsert(dsl, group, rows, new Run(true));
        }

        @Override
        <R extends UpdatableRecord<?>> Written upsert(DSLContext dsl, Upserts.Group<R> group, List<R> rows, Run run) {
            Table<?> table = group.table();
            Field<?>[] fields = table.fields();
            BitSet columns = writable(dsl, group);
            BitSet borrowed = group.generatedKey() ? new BitSet()
                    : requiredButUnset(fields, columns, computedColumns(dsl, table));
            String[] json = jsonColumns(dsl, table);
            boolean jsonArrays = columns.stream().anyMatch(i -> json[i] != null && json[i].endsWith("[]"));
            // json[] and jsonb[] columns go by COPY whatever the size: its text carries their elements as values
            // Only in a transaction of the call's own: the COPY table is emptied by TRUNCATE, whose cost grows with
            // every earlier one inside savepoints of the same transaction (quadratic in a caller's import loop),
            // and by the commit that ends the call.
            if ((rows.size() >= copyRows || jsonArrays && copyRows < Integer.MAX_VALUE) && !run.nested && PGJDBC
                    && mayCreateTemporaryTables(dsl)) {
                Written written = copyUpsert(dsl, group, rows, columns, borrowed, run);
                if (written != null) {
                    return written;
                }
            }
            if (jsonArrays) {
                refuseNestedJsonArrays(rows, fields, columns, json);
            }
            Json rowsJson = Json.of(rows, fields, columns, ROWS_PER_STATEMENT, JSON_BYTES_PER_STATEMENT);
            Sql source = new Sql().sql("json_populate_recordset(cast(null as ").part(table).sql("), cast(")
                    .part(DSL.val(rowsJson.text())).sql(" as json)) with ordinality as v");
            return new Written(rowsJson.rows(), insert(dsl, group, columns, borrowed, source.build(), "v.ordinality", json));
        }

        /**
         * The JSON path carries a json[]/jsonb[] column's elements as JSON strings and parses them one by one
         * ({@link #selectExpression}), which flattens a multi-dimensional array: refused, before any SQL, when COPY
         * (which writes them as they are) cannot be used.
         */
        private static void refuseNestedJsonArrays(List<? extends Record> rows, Field<?>[] fields, BitSet columns,
                String[] json) {
            for (int i = columns.nextSetBit(0); i >= 0; i = columns.nextSetBit(i + 1)) {
                if (json[i] == null || !json[i].endsWith("[]")) {
                    continue;
                }
                for (Record row : rows) {
                    if (row.get(i) instanceof Object[] array && Arrays.stream(array).anyMatch(e -> e instanceof Object[])) {
                        throw new IllegalArgumentException("column " + fields[i].getName() + " holds a multi-dimensional "
                                + json[i] + " array, which saveAll writes only by COPY, and COPY cannot be used here:"
                                + " saveAll runs inside transaction work (nested), the connection does not unwrap to"
                                + " pgjdbc's, or the user may not create temporary tables");
                    }
                }
            }
        }

        /** Per {@link Database} (its connection provider) and table: the json kinds of its columns (see below). */
        private static final Map<org.jooq.ConnectionProvider, Map<Table<?>, String[]>> JSON_COLUMNS =
                java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

        /**
         * Per field of {@code table}: {@code json}, {@code jsonb}, {@code json[]} or {@code jsonb[]} when its column
         * is of that type in the database (domains followed to their base type), else null; read from the
         * catalog once per {@link Database} and table, like the generated columns
         * ({@link UpsertStatements#computedColumns}): a column changed to or from json while the application runs
         * is seen by a new {@code Database} (README, saveAll). The JSON path decides how a value is parsed by the
         * column's type, not the field's Java type: a jsonb column behind a {@code String} field is parsed as
         * JSON, as COPY does.
         */
        private static String[] jsonColumns(DSLContext dsl, Table<?> table) {
            Map<Table<?>, String[]> known = JSON_COLUMNS.computeIfAbsent(dsl.configuration().connectionProvider(),
                    p -> new java.util.concurrent.ConcurrentHashMap<>());
            String[] kinds = known.get(table);
            if (kinds == null) {
                Map<String, String> byName = new java.util.HashMap<>();
                for (Record r : dsl.resultQuery("select a.attname, format_type(coalesce(nullif(t.typbasetype, 0), a.atttypid), null)"
                        + " from pg_catalog.pg_attribute a join pg_catalog.pg_type t on t.oid = a.atttypid"
                        + " where a.attrelid = cast({0} as regclass) and a.attnum > 0 and not a.attisdropped"
                        + " and coalesce(nullif(t.typbasetype, 0), a.atttypid) in (cast('json' as regtype),"
                        + " cast('jsonb' as regtype), cast('json[]' as regtype), cast('jsonb[]' as regtype))",
                        DSL.val(dsl.render(table))).fetch()) {
                    byName.put(r.get(0, String.class), r.get(1, String.class));
                }
                Field<?>[] fields = table.fields();
                kinds = new String[fields.length];
                for (int i = 0; i < fields.length; i++) {
                    kinds[i] = byName.get(fields[i].getName());
                }
                known.put(table, kinds);
            }
            return kinds;
        }

        /** Per {@link Database} (its connection provider): whether its user may create temporary tables. */
        private static final java.util.Map<org.jooq.ConnectionProvider, Boolean> TEMPORARY =
                java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

        /**
         * Whether the database's user may create temporary tables (PostgreSQL grants it to PUBLIC by default; a
         * user without it keeps the JSON path): asked once per {@link Database}.
         */
        private static boolean mayCreateTemporaryTables(DSLContext dsl) {
            org.jooq.ConnectionProvider provider = dsl.configuration().connectionProvider();
            Boolean may = TEMPORARY.get(provider);
            if (may == null) {
                may = Boolean.TRUE.equals(dsl.fetchValue(DSL.field(
                        "has_database_privilege(current_database(), 'TEMPORARY')", Boolean.class)));
                TEMPORARY.put(provider, may);
            }
            return may;
        }

        /**
         * The upsert of the first rows (within the same bounds as a JSON statement) by {@code COPY}: a temporary
         * table with the written columns' types ({@link #copyTable}: no constraint, default, identity or NOT NULL
         * is copied, domains and collations are) and a position column, filled by {@code COPY … FROM STDIN} in
         * text format ({@link CopyText}), then the same {@code insert … select … order by position on conflict …}
         * as the JSON path. Runs on the calling thread, inside the call's transaction; every step runs under the
         * call's statement timeout and cancel ({@link Calls#cancellable} for the COPY, whose cancel is pgjdbc's
         * {@code cancelQuery()}). Fails as a statement does: the server's error, its SQLState kept.
         *
         * @return null, having sent nothing, when the connection does not unwrap to pgjdbc's, or a value cannot be
         *     written in COPY's text (a NUL character: the JSON path then fails with PostgreSQL's own error)
         */
        private <R extends UpdatableRecord<?>> Written copyUpsert(DSLContext dsl, Upserts.Group<R> group, List<R> rows,
                BitSet columns, BitSet borrowed, Run run) {
            Table<?> table = group.table();
            Field<?>[] fields = table.fields();
            Object ahead = run.takeAhead(rows, columns);
            // The text is held only until the server has it: while it runs the INSERT, the next statement's text
            // may be written ahead, and a call holds one chunk's text at a time.
            CopyText[] held = {ahead == Run.NOT_AHEAD
                    ? CopyText.of(rows, fields, columns, copyRowsPerStatement, JSON_BYTES_PER_STATEMENT)
                    : (CopyText) ahead};
            ahead = null;
            if (held[0] == null) {
                return null;
            }
            return dsl.connectionResult(connection -> {
                Object pg = PostgresCopy.unwrap(connection);
                if (pg == null) {
                    return null;
                }
                CopyTable copyTable = copyTable(dsl, run, table, fields, columns);
                int written = held[0].rows();
                LARGEST_COPY_TEXT.accumulate(held[0].text().length());
                Calls.cancellable(() -> PostgresCopy.cancel(pg), () -> {
                    try {
                        return PostgresCopy.copyIn(pg, "copy " + copyTable.name() + " from stdin", held[0].text());
                    } catch (java.sql.SQLException e) {
                        throw new DataAccessException("COPY of the rows of " + table.getName() + " failed: "
                                + e.getMessage(), e);
                    } finally {
                        held[0] = null;
                    }
                });
                // The next statement's rows go by COPY too: their text is written while the server runs this one,
                // when writing it runs no code but this class's (no user code on another thread: README).
                if (copyTextAhead && rows.size() - written >= copyRows && writesAhead(fields, columns)) {
                    List<R> next = rows.subList(written, rows.size());
                    run.workAhead(next, columns, () -> {
                        Runnable hook = beforeTextAhead;
                        if (hook != null) {
                            hook.run();
                        }
                        return CopyText.of(next, fields, columns, copyRowsPerStatement, JSON_BYTES_PER_STATEMENT);
                    });
                }
                Sql source = new Sql().sql(copyTable.name() + " as v");
                List<? extends Record> stored = insert(dsl, group, columns, borrowed, source.build(),
                        "v." + copyTable.order(), null);
                COPIES.increment();
                return new Written(written, stored);
            });
        }

        /** For tests: runs on the thread that writes a COPY text ahead, before it writes it. */
        static volatile Runnable beforeTextAhead;

        /**
         * Whether the COPY text of these columns may be written on another thread: when writing it runs no code of
         * the application, that is when no column has a {@link org.jooq.Converter} (jOOQ's identity aside) and
         * every value is of a type whose text {@link CopyText} writes itself (or a JDK {@code UUID}, a generated
         * enum, an array of those). A converter may hold a lock its caller holds, read the caller's thread-locals
         * (a tenant, a transaction) or throw with a stack the caller expects: its values are written in turn.
         */
        static boolean writesAhead(Field<?>[] fields, BitSet columns) {
            for (int i = columns.nextSetBit(0); i >= 0; i = columns.nextSetBit(i + 1)) {
                if (!UpsertStatements.noConverter(fields[i].getConverter()) || !textOfItsOwn(fields[i].getType())) {
                    return false;
                }
            }
            return true;
        }

        private static boolean textOfItsOwn(Class<?> type) {
            if (type.isArray() && type != byte[].class) {
                return textOfItsOwn(type.getComponentType());
            }
            return type == String.class || type == Long.class || type == Integer.class || type == Short.class
                    || type == Byte.class || type == java.math.BigDecimal.class || type == java.math.BigInteger.class
                    || type == Double.class || type == Float.class || type == Boolean.class
                    || type == java.time.OffsetDateTime.class || type == java.time.LocalDateTime.class
                    || type == java.time.LocalDate.class || type == JSON.class || type == JSONB.class
                    || type == byte[].class || type == java.util.UUID.class
                    || type.isEnum() && EnumType.class.isAssignableFrom(type);
        }

        /**
         * An empty temporary table for the rows of {@code table}'s {@code columns}, for the call's own transaction
         * (COPY runs only in one): {@code create temporary table … on commit drop as select … with no data} the
         * first time the call needs one of this shape, {@code truncate} when it reuses it. Created afresh by every
         * call, so its columns have the target's types of the moment (a table a session kept had stale types
         * after an {@code ALTER}, and held on to the domains it used); one per shape and call, never per
         * statement (every table created holds a lock until the transaction ends).
         */
        @SuppressWarnings("unchecked")
        private static CopyTable copyTable(DSLContext dsl, Run run, Table<?> table, Field<?>[] fields, BitSet columns) {
            Map<String, CopyTable> tables = (Map<String, CopyTable>) run.state.computeIfAbsent(COPY_TABLES,
                    k -> new java.util.LinkedHashMap<String, CopyTable>());
            String order = COPY_ORDER;
            for (int i = columns.nextSetBit(0); i >= 0; i = columns.nextSetBit(i + 1)) {
                if (fields[i].getName().equals(order)) {
                    order += "_";
                    i = -1; // look again: the new name may be taken too
                }
            }
            Sql select = new Sql().sql("select ");
            for (int i = columns.nextSetBit(0); i >= 0; i = columns.nextSetBit(i + 1)) {
                select.name(fields[i]).sql(", ");
            }
            select.sql("cast(null as bigint) as ").part(DSL.name(order)).sql(" from ").part(table).sql(" with no data");
            String shape = dsl.render(select.build());
            CopyTable known = tables.get(shape);
            if (known != null) {
                dsl.execute("truncate table " + known.name());
                return known;
            }
            String name = COPY_TABLE + shapeHash(shape);
            dsl.execute("{0}", new Sql().sql("create temporary table " + name
                    + " on commit drop as ").part(select.build()).build());
            CopyTable created = new CopyTable("pg_temp." + name, dsl.render(DSL.name(order)));
            tables.put(shape, created);
            return created;
        }

        /** 20 hex digits of the SHA-256 of a shape's SQL: a table name part no two shapes share in practice. */
        private static String shapeHash(String shape) {
            try {
                byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
                        .digest(shape.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                return HexFormat.of().formatHex(digest, 0, 10);
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        /**
         * {@code insert into table … select … from source order by position on conflict … returning …}: the rows
         * of {@code source} (aliased {@code v}), executed through jOOQ.
         *
         * @param json for the JSON path, the json kinds of the columns ({@link #jsonColumns}), whose values are
         *     JSON strings to parse ({@link #selectExpression}); null for the COPY path
         */
        private static List<? extends Record> insert(DSLContext dsl, Upserts.Group<?> group, BitSet columns,
                BitSet borrowed, org.jooq.QueryPart source, String position, String[] json) {
            Table<?> table = group.table();
            Field<?>[] fields = table.fields();
            List<TableField<?, ?>> key = group.keys().fields();
            Sql sql = new Sql().sql("insert into ").part(table).sql(" as t (");
            Sql select = new Sql();
            Sql update = new Sql();
            boolean first = true;
            boolean identity = false;
            boolean updates = false;
            for (int i = 0; i < fields.length; i++) {
                if (!columns.get(i) && !borrowed.get(i)) {
                    continue;
                }
                sql.sql(first ? "" : ", ").name(fields[i]);
                identity |= fields[i].getDataType().identity();
                if (borrowed.get(i) || json == null) {
                    select.sql(first ? "" : ", ").name(borrowed.get(i) ? "e" : "v", fields[i]);
                } else {
                    selectExpression(select.sql(first ? "" : ", "), fields[i], "v", json[i]);
                }
                if (columns.get(i) && !key.contains(fields[i])) {
                    update.sql(updates ? ", " : "").name(fields[i]).sql(" = ").name("excluded", fields[i]);
                    updates = true;
                }
                first = false;
            }
            sql.sql(identity ? ") overriding system value select " : ") select ").part(select.build())
                    .sql(" from ").part(source);
            if (!borrowed.isEmpty()) {
                sql.sql(" left join ").part(table).sql(" as e on ");
                for (int k = 0; k < key.size(); k++) {
                    sql.sql(k == 0 ? "" : " and ").name("e", key.get(k)).sql(" = ").name("v", key.get(k));
                }
            }
            sql.sql(" order by " + position);
            if (!group.generatedKey()) {
                sql.sql(" on conflict (");
                for (int k = 0; k < key.size(); k++) {
                    sql.sql(k == 0 ? "" : ", ").name(key.get(k));
                }
                sql.sql(") do ");
                if (updates) {
                    sql.sql("update set ").part(update.build());
                } else {
                    sql.sql("nothing");
                }
            }
            sql.sql(" returning ");
            for (int i = 0; i < fields.length; i++) {
                sql.sql(i == 0 ? "" : ", ").name("t", fields[i]);
            }
            return DirectRows.fetch(dsl, sql.build(), table);
        }

        @Override
        List<? extends Record> match(DSLContext dsl, Upserts.Group<?> group, List<? extends Record> records) {
            Table<?> table = group.table();
            Field<?>[] fields = table.fields();
            List<TableField<?, ?>> key = group.keys().fields();
            BitSet keyColumns = new BitSet();
            for (int index : group.keys().indexes()) {
                keyColumns.set(index);
            }
            Json json = Json.of(records, fields, keyColumns, Integer.MAX_VALUE, Long.MAX_VALUE);
            Sql sql = new Sql().sql("select ");
            for (Field<?> field : fields) {
                sql.name("t", field).sql(", ");
            }
            sql.sql("v.ordinality from json_populate_recordset(cast(null as ").part(table).sql("), cast(")
                    .part(DSL.val(json.text())).sql(" as json)) with ordinality as v join ").part(table).sql(" as t on ");
            for (int k = 0; k < key.size(); k++) {
                sql.sql(k == 0 ? "" : " and ").name("t", key.get(k)).sql(" = ");
                selectExpression(sql, key.get(k), "v");
            }
            return dsl.resultQuery("{0}", sql.build()).coerce(withPosition(fields, ORDINALITY)).fetch();
        }

        @Override
        List<String> computedColumnNames(DSLContext dsl, Table<?> table) {
            return dsl.resultQuery("select attname from pg_catalog.pg_attribute where attrelid = cast({0} as regclass)"
                    + " and attnum > 0 and not attisdropped and attgenerated <> ''", DSL.val(dsl.render(table)))
                    .fetch(0, String.class);
        }

        /** A column of the row source {@code alias}; JSON values travel as JSON strings and are parsed here. */
        private static void selectExpression(Sql sql, Field<?> field, String alias) {
            Class<?> type = field.getDataType().getType();
            selectExpression(sql, field, alias, type == JSONB.class ? "jsonb" : type == JSON.class ? "json" : null);
        }

        /**
         * A column of the JSON row source {@code alias}, parsed by the type of its column ({@code kind}, see
         * {@link #jsonColumns}): a json or jsonb value travels as a JSON string and is parsed here, so that a
         * malformed value fails instead of smuggling keys into the row object; a json[] or jsonb[] array's elements
         * likewise, one by one, in order (NULL and NULL elements kept).
         */
        private static void selectExpression(Sql sql, Field<?> field, String alias, String kind) {
            if (kind == null) {
                sql.name(alias, field);
            } else if (!kind.endsWith("[]")) {
                sql.sql("cast(").name(alias, field).sql(" #>> '{}' as " + kind + ")");
            } else {
                String element = kind.substring(0, kind.length() - 2);
                sql.sql("case when ").name(alias, field).sql(" is null then null else cast(array(select cast(e #>> '{}' as "
                        + element + ") from unnest(").name(alias, field).sql(") with ordinality as u(e, o) order by o) as "
                        + kind + ") end");
            }
        }
    }

    /**
     * Rows as one JSON array for {@code json_populate_recordset}: as many as fit within a number of rows and of
     * bytes (the first row always), and the size of the array in UTF-8.
     */
    static final class Json {
        private final StringBuilder text;
        /** UTF-8 bytes beyond one per character. */
        private long extraBytes;
        private int rows;

        private Json(int capacity) {
            this.text = new StringBuilder(capacity);
        }

        @SuppressWarnings("unchecked")
        static Json of(List<? extends Record> rows, Field<?>[] fields, BitSet columns, int maxRows, long maxBytes) {
            int[] written = columns.stream().toArray();
            String[] keys = new String[written.length];
            List<Converter<Object, Object>> converters = new ArrayList<>(written.length);
            Json names = new Json(64);
            for (int c = 0; c < written.length; c++) {
                Field<?> field = fields[written[c]];
                names.text.setLength(0);
                names.quote(field.getName());
                keys[c] = names.text.append(':').toString();
                converters.add((Converter<Object, Object>) field.getConverter());
            }
            long keyExtraBytes = names.extraBytes;
            int count = Math.min(rows.size(), maxRows);
            Json json = new Json((int) Math.min(Math.min(maxBytes, 1 << 24), (long) count * 24 * Math.max(1, written.length)));
            json.text.append('[');
            for (int r = 0; r < count; r++) {
                int mark = json.text.length();
                long markExtra = json.extraBytes;
                Record row = rows.get(r);
                json.text.append(r == 0 ? "{" : ",{");
                for (int c = 0; c < written.length; c++) {
                    if (c > 0) {
                        json.text.append(',');
                    }
                    json.text.append(keys[c]);
                    Object value = row.get(written[c]);
                    json.value(value == null ? null : converters.get(c).to(value));
                }
                json.text.append('}');
                json.extraBytes += keyExtraBytes;
                if (r > 0 && json.text.length() + json.extraBytes + 1 > maxBytes) {
                    json.text.setLength(mark);
                    json.extraBytes = markExtra;
                    break;
                }
                json.rows++;
            }
            json.text.append(']');
            return json;
        }

        String text() {
            return text.toString();
        }

        int rows() {
            return rows;
        }

        private void value(Object value) {
            // The most common types first: a type switch tests its cases in order. Primitives are appended
            // unboxed (append(Object) would make a String of each).
            switch (value) {
                case null -> text.append("null");
                case String s -> quote(s);
                case Long n -> text.append(n.longValue());
                case Integer n -> text.append(n.intValue());
                case java.math.BigDecimal n -> text.append(n.toPlainString());
                case java.time.OffsetDateTime t -> quote(Times.format(t));
                case Boolean b -> text.append(b.booleanValue());
                case Short n -> text.append(n.intValue());
                case Byte n -> text.append(n.intValue());
                case java.math.BigInteger n -> text.append(n);
                case Double d when Double.isFinite(d) -> text.append(d);
                case Float f when Float.isFinite(f) -> text.append(f);
                case JSONB j -> quote(j.data());
                case JSON j -> quote(j.data());
                case EnumType e -> quote(e.getLiteral());
                case byte[] bytes -> quote("\\x" + HexFormat.of().formatHex(bytes));
                case java.time.LocalDateTime t -> quote(Times.format(t));
                case java.time.LocalDate d -> quote(Times.format(d));
                case Object[] array -> {
                    text.append('[');
                    for (int i = 0; i < array.length; i++) {
                        if (i > 0) {
                            text.append(',');
                        }
                        value(array[i]);
                    }
                    text.append(']');
                }
                default -> quote(value.toString());
            }
        }

        private void quote(String s) {
            StringBuilder json = text;
            json.append('"');
            int plain = 0;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c >= 0x80) {
                    // UTF-8: 2 bytes below U+0800, 3 above, 4 for a surrogate pair (2 characters)
                    extraBytes += c < 0x800 || Character.isSurrogate(c) ? 1 : 2;
                    continue;
                }
                if (c >= 0x20 && c != '"' && c != '\\') {
                    continue;
                }
                json.append(s, plain, i);
                plain = i + 1;
                switch (c) {
                    case '"' -> json.append("\\\"");
                    case '\\' -> json.append("\\\\");
                    case '\n' -> json.append("\\n");
                    case '\r' -> json.append("\\r");
                    case '\t' -> json.append("\\t");
                    default -> json.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xf]);
                }
            }
            json.append(s, plain, s.length()).append('"');
        }

        private static final char[] HEX = "0123456789abcdef".toCharArray();
    }

    /**
     * Rows in {@code COPY}'s text format: per row the written columns, then the row's 1-based position, separated
     * by tabs; values in the same text forms as {@link Json} sends them (PostgreSQL's input functions parse both),
     * {@code \N} for null, backslash, tab, newline and carriage return escaped. Bounded like {@link Json#of}: as many
     * rows as fit within a number of rows and of UTF-8 bytes of this text (the first row always).
     */
    static final class CopyText {
        private final StringBuilder text;
        private int rows;
        /** An element of an array literal is being written (quoted, {@code "} and {@code \} escaped). */
        private boolean element;
        private boolean nul;

        private CopyText(int capacity) {
            this.text = new StringBuilder(capacity);
        }

        /** The text of the first rows, or null when a value holds a NUL character (PostgreSQL text cannot). */
        @SuppressWarnings("unchecked")
        static CopyText of(List<? extends Record> rows, Field<?>[] fields, BitSet columns, int maxRows, long maxBytes) {
            int[] written = columns.stream().toArray();
            List<Converter<Object, Object>> converters = new ArrayList<>(written.length);
            for (int c = 0; c < written.length; c++) {
                converters.add((Converter<Object, Object>) fields[written[c]].getConverter());
            }
            int count = Math.min(rows.size(), maxRows);
            CopyText copy = new CopyText((int) Math.min(Math.min(maxBytes, 1 << 24), (long) count * 16 * Math.max(1, written.length)));
            long bytes = 0;
            for (int r = 0; r < count; r++) {
                int mark = copy.text.length();
                Record row = rows.get(r);
                for (int c = 0; c < written.length; c++) {
                    Object value = row.get(written[c]);
                    copy.value(value == null ? null : converters.get(c).to(value));
                    copy.text.append('\t');
                }
                copy.text.append(r + 1).append('\n');
                if (copy.nul) {
                    return null;
                }
                bytes += utf8Length(copy.text, mark);
                if (r > 0 && bytes > maxBytes) {
                    copy.text.setLength(mark);
                    break;
                }
                copy.rows++;
            }
            return copy;
        }

        private static long utf8Length(CharSequence s, int from) {
            long extra = 0;
            for (int i = from; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c >= 0x80) {
                    extra += c < 0x800 || Character.isSurrogate(c) ? 1 : 2;
                }
            }
            return s.length() - from + extra;
        }

        CharSequence text() {
            return text;
        }

        int rows() {
            return rows;
        }

        private void value(Object value) {
            switch (value) {
                case null -> text.append(element ? "NULL" : "\\N");
                case String s -> string(s);
                case Long n -> text.append(n.longValue());
                case Integer n -> text.append(n.intValue());
                case java.math.BigDecimal n -> text.append(n.toPlainString());
                case java.time.OffsetDateTime t -> string(Times.format(t));
                case Boolean b -> text.append(b ? 't' : 'f');
                case Short n -> text.append(n.intValue());
                case Byte n -> text.append(n.intValue());
                case java.math.BigInteger n -> text.append(n);
                case Double d -> text.append(d.doubleValue());
                case Float f -> text.append(f.floatValue());
                case JSONB j -> string(j.data());
                case JSON j -> string(j.data());
                case EnumType e -> string(e.getLiteral());
                case byte[] bytes -> string("\\x" + HexFormat.of().formatHex(bytes));
                case java.time.LocalDateTime t -> string(Times.format(t));
                case java.time.LocalDate d -> string(Times.format(d));
                case Object[] array -> {
                    boolean outer = !element;
                    element = true;
                    text.append('{');
                    for (int i = 0; i < array.length; i++) {
                        if (i > 0) {
                            text.append(',');
                        }
                        value(array[i]);
                    }
                    text.append('}');
                    element = !outer;
                }
                default -> string(value.toString());
            }
        }

        /**
         * A text value, escaped for COPY (and, inside an array, quoted and escaped for the array literal first:
         * {@code "} and {@code \} behind a backslash, which COPY then doubles).
         */
        private void string(String s) {
            StringBuilder copy = text;
            if (element) {
                copy.append('"');
            }
            int plain = 0;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c > '\\' || c >= ' ' && c != '\\' && c != '"') {
                    continue;
                }
                if (c == '"' && !element) {
                    continue;
                }
                copy.append(s, plain, i);
                plain = i + 1;
                switch (c) {
                    case '\\' -> copy.append(element ? "\\\\\\\\" : "\\\\");
                    case '"' -> copy.append("\\\\\"");
                    case '\n' -> copy.append("\\n");
                    case '\r' -> copy.append("\\r");
                    case '\t' -> copy.append("\\t");
                    case 0 -> nul = true;
                    default -> copy.append(c);
                }
            }
            copy.append(s, plain, s.length());
            if (element) {
                copy.append('"');
            }
        }
    }

    /**
     * Dates and times as PostgreSQL's input functions read them, for every year jOOQ can store: ISO-8601 for years
     * 1 to 9999, else PostgreSQL's own form ({@code 10000-01-01 00:00:00+00:00}, {@code 0001-06-01 12:00:00 BC}),
     * since Java's ISO form of those years ({@code +10000-…}, {@code 0000-…}) is not PostgreSQL input.
     *
     * <p>Times are sent rounded to microseconds, PostgreSQL's resolution, half up (as pgjdbc sends jOOQ's own
     * binds), so the value stored is the value {@link #toMicros} computes in Java: primary keys can then be matched
     * to the rows stored for them.
     */
    static final class Times {

        static String format(OffsetDateTime value) {
            value = toMicros(value);
            if (inIsoRange(value.getYear())) {
                return value.toString();
            }
            OffsetDateTime utc = value.withOffsetSameInstant(ZoneOffset.UTC);
            return date(utc.getYear(), utc.getMonthValue(), utc.getDayOfMonth(), " " + utc.toLocalTime() + "+00:00");
        }

        static String format(LocalDateTime value) {
            value = toMicros(value);
            return inIsoRange(value.getYear()) ? value.toString()
                    : date(value.getYear(), value.getMonthValue(), value.getDayOfMonth(), " " + value.toLocalTime());
        }

        static String format(LocalDate value) {
            return inIsoRange(value.getYear()) ? value.toString()
                    : date(value.getYear(), value.getMonthValue(), value.getDayOfMonth(), "");
        }

        /** The value PostgreSQL stores for this one (at the default precision, 6): rounded to microseconds, half up. */
        static OffsetDateTime toMicros(OffsetDateTime value) {
            int belowMicros = value.getNano() % 1000;
            return belowMicros == 0 ? value : value.plusNanos(belowMicros >= 500 ? 1000 - belowMicros : -belowMicros);
        }

        /** The value PostgreSQL stores for this one (at the default precision, 6): rounded to microseconds, half up. */
        static LocalDateTime toMicros(LocalDateTime value) {
            int belowMicros = value.getNano() % 1000;
            return belowMicros == 0 ? value : value.plusNanos(belowMicros >= 500 ? 1000 - belowMicros : -belowMicros);
        }

        private static boolean inIsoRange(int year) {
            return year >= 1 && year <= 9999;
        }

        /** Proleptic year 0 is 1 BC, -1 is 2 BC, ... */
        private static String date(int year, int month, int day, String time) {
            boolean bc = year <= 0;
            // Locale.ROOT: a default locale with digits of its own (Thai, say) would write dates PostgreSQL refuses
            return String.format(java.util.Locale.ROOT, "%04d-%02d-%02d%s%s", bc ? 1 - year : year, month, day, time,
                    bc ? " BC" : "");
        }

        private Times() {}
    }
}
