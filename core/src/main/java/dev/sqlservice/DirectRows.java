package dev.sqlservice;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.jooq.Binding;
import org.jooq.BindingGetResultSetContext;
import org.jooq.Converter;
import org.jooq.DSLContext;
import org.jooq.ExecuteContext;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.Result;
import org.jooq.Table;

/**
 * Reads the rows of a prepared query's direct run ({@link PreparedQuery.TypedQuery#fetch}) into records without
 * jOOQ's cursor: no execute context, no intermediate record, no copy into the table's record type.
 *
 * <p>What stays jOOQ's: every value is read by its field's own {@link Binding#get}, with the JDBC getter, conversion
 * and settings jOOQ's cursor would apply ({@code fetchTrimmedCharValues}, {@code bindOffsetDateTimeType}, ...); the
 * record is jOOQ's, created by the {@link DSLContext} as jOOQ creates records (the record type of the table or of
 * the select list, attached to the database's configuration) and left in the state of a fetched record: every value
 * its original, nothing changed or touched, and jOOQ's own {@code fetched} mark set, on which {@code store()},
 * {@code key()} and {@code into(Table)} of the record depend.
 *
 * <p>Only for columns whose reading needs nothing of an execution: fields whose binding is one of jOOQ's built-in
 * bindings of the types in {@link #BINDINGS} with no converter of their own (a converter is application code that
 * may ask its context for what only jOOQ's execution has). Other queries read through jOOQ's cursor, as before. The
 * {@code timestamptz} columns that pgjdbc received in binary format skip the text jOOQ's binding would make and
 * parse ({@link PostgresTimestamps}: the same values, in the session's time zone). The
 * {@code fetched} mark is jOOQ's internal state, reached through a {@link VarHandle}; where it cannot be reached
 * (jOOQ on the module path, or a jOOQ without it), every query reads through jOOQ's cursor.
 */
final class DirectRows<R extends Record> {

    /**
     * jOOQ's built-in bindings whose {@code get} reads one JDBC value and needs only the result set, the index and
     * the configuration's settings and dialect (checked against their code in jOOQ 3.21; the tests compare every
     * one with jOOQ's own reading on both backends).
     */
    private static final Set<String> BINDINGS = Set.of("DefaultLongBinding", "DefaultIntegerBinding",
            "DefaultShortBinding", "DefaultByteBinding", "DefaultBigIntegerBinding", "DefaultBigDecimalBinding",
            "DefaultBooleanBinding", "DefaultDoubleBinding", "DefaultFloatBinding", "DefaultStringBinding",
            "DefaultOffsetDateTimeBinding", "DefaultUUIDBinding", "DefaultBytesBinding");

    /** jOOQ's binding of {@link LocalDate} and {@link LocalDateTime}: the date or timestamp binding, converted. */
    private static final String DELEGATING = "DelegatingBinding";

    /** jOOQ's mark of a record read from the database ({@code AbstractRecord.fetched}); null: not reachable. */
    private static final VarHandle FETCHED = fetchedHandle();

    /** Off: every direct run reads through jOOQ's cursor (for benchmarks and comparisons). */
    static volatile boolean enabled = !Boolean.getBoolean("sqlservice.prepared.readThroughCursor");

    /**
     * Off: unprepared queries read through jOOQ's cursor ({@link #ofQuery}), for benchmarks and comparisons; or
     * with {@code -Dsqlservice.unprepared.readThroughCursor=true}.
     */
    static volatile boolean unpreparedEnabled = !Boolean.getBoolean("sqlservice.unprepared.readThroughCursor");

    /**
     * Per generated record class: the reader of its table's rows, or {@link #NONE} (the record has no table, or a
     * column needs jOOQ's cursor). Computed once per class.
     */
    private static final ClassValue<DirectRows<?>> OF_RECORD_TYPE = new ClassValue<>() {
        @Override
        protected DirectRows<?> computeValue(Class<?> type) {
            try {
                Table<?> table = ((org.jooq.TableRecord<?>) type.getDeclaredConstructor().newInstance()).getTable();
                DirectRows<?> rows = table == null ? null : of(table.fields(), table);
                return rows == null ? NONE : rows;
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                return NONE;
            }
        }
    };

    /** Result sets read without jOOQ's cursor for an unprepared {@code all()} or the library's own statements. */
    static final java.util.concurrent.atomic.LongAdder UNPREPARED_READS = new java.util.concurrent.atomic.LongAdder();

    /** No reader: the query reads through jOOQ's cursor. */
    private static final DirectRows<?> NONE = new DirectRows<>(new Field<?>[0], null);

    /**
     * The non-public {@code getFields()} of jOOQ's select classes ({@code SelectImpl}, {@code SelectQueryImpl}):
     * the fields jOOQ's cursor reads a select's rows with (see {@link Preparing#readFields}); null when not
     * reachable (then no unprepared query reads directly).
     */
    private static final java.lang.invoke.MethodHandle SELECT_IMPL_FIELDS = selectFields("org.jooq.impl.SelectImpl");
    private static final java.lang.invoke.MethodHandle SELECT_QUERY_FIELDS = selectFields("org.jooq.impl.SelectQueryImpl");

    /**
     * jOOQ's {@code AbstractResultQuery.result}, what {@code ResultQuery.getResult()} returns after a fetch, and the
     * delegate of {@code SelectImpl} that holds it: a direct {@code all()} leaves its result there as jOOQ's
     * {@code fetch} does. Null when not reachable (then no unprepared query reads directly).
     */
    private static final VarHandle QUERY_RESULT = queryResultHandle();
    private static final java.lang.invoke.MethodHandle SELECT_IMPL_DELEGATE = selectDelegate();

    private final Field<?>[] fields;
    private final Table<R> table;
    /** Per field: read by jOOQ's default {@code OffsetDateTime} binding (see {@link PostgresTimestamps}). */
    private final boolean[] offsetDateTimes;
    /** False once {@link PostgresTimestamps} could not be linked (no pgjdbc on the class path). */
    private static volatile boolean pgjdbcLinks = true;
    /** Whether any field is one of {@link #offsetDateTimes}. */
    private final boolean anyOffsetDateTime;

    private DirectRows(Field<?>[] fields, Table<R> table) {
        this.fields = fields;
        this.table = table;
        this.offsetDateTimes = new boolean[fields.length];
        boolean any = false;
        for (int i = 0; i < fields.length; i++) {
            offsetDateTimes[i] = fields[i].getBinding().getClass().getSimpleName().equals("DefaultOffsetDateTimeBinding");
            any |= offsetDateTimes[i];
        }
        this.anyOffsetDateTime = any;
    }

    /**
     * The reader of rows of {@code fields} (a table's, when {@code table} is not null), or null when one of them
     * needs jOOQ's cursor: a binding outside {@link #BINDINGS}, a converter, two fields of one name (a record sets
     * a value by its field, which would then be ambiguous), or jOOQ's {@code fetched} mark not reachable.
     */
    static <R extends Record> DirectRows<R> of(Field<?>[] fields, Table<R> table) {
        if (FETCHED == null || fields == null || fields.length == 0) {
            return null;
        }
        Set<String> names = new HashSet<>();
        for (Field<?> field : fields) {
            if (!builtIn(field) || !names.add(field.getName())) {
                return null;
            }
        }
        return new DirectRows<>(fields.clone(), table);
    }

    private static boolean builtIn(Field<?> field) {
        Binding<?, ?> binding = field.getBinding();
        if (!(binding.converter() instanceof org.jooq.impl.IdentityConverter<?>)
                || field.getConverter() != null && !(field.getConverter() instanceof org.jooq.impl.IdentityConverter<?>)) {
            return false;
        }
        Class<?> type = binding.getClass();
        if (type.getEnclosingClass() != org.jooq.impl.DefaultBinding.class) {
            return false;
        }
        String name = type.getSimpleName();
        return BINDINGS.contains(name) || DELEGATING.equals(name)
                && (field.getType() == LocalDate.class || field.getType() == LocalDateTime.class);
    }

    /**
     * The reader of an unprepared query's rows, when jOOQ's cursor would read them exactly so, or null. Only a
     * select of one generated table's records in the table's own column order ({@code selectFrom(USERS)} and its
     * {@code where}, {@code orderBy}, {@code limit}, joins, ... as long as it selects that table's records): a
     * jOOQ select class whose fields ({@code getFields()}, the fields jOOQ's cursor reads with) are the very
     * fields of the record type's own table, every one of which this class reads ({@link #of}). Anything else (an
     * aliased table, a select list of expressions, plain SQL, DML with {@code RETURNING}, a column needing jOOQ's
     * cursor) returns null and keeps jOOQ's reading. Runs on the calling thread; cheap: a class lookup, one
     * {@code getFields()} and an identity comparison per field.
     */
    @SuppressWarnings("unchecked")
    static <R extends Record> DirectRows<R> ofQuery(org.jooq.ResultQuery<R> query) {
        if (!unpreparedEnabled || FETCHED == null || QUERY_RESULT == null || SELECT_IMPL_DELEGATE == null) {
            return null;
        }
        String impl = query.getClass().getName();
        boolean select = impl.equals("org.jooq.impl.SelectImpl") ? SELECT_IMPL_FIELDS != null
                : impl.equals("org.jooq.impl.SelectQueryImpl") && SELECT_QUERY_FIELDS != null;
        Class<? extends R> type;
        if (!select || !org.jooq.TableRecord.class.isAssignableFrom(type = query.getRecordType())) {
            return null;
        }
        DirectRows<?> rows = OF_RECORD_TYPE.get(type);
        if (rows == NONE) {
            return null;
        }
        Field<?>[] read;
        try {
            // constant method handles, each invoked where it is named (so the JIT inlines the call)
            read = impl.length() == "org.jooq.impl.SelectImpl".length()
                    ? (Field<?>[]) SELECT_IMPL_FIELDS.invoke(query) : (Field<?>[]) SELECT_QUERY_FIELDS.invoke(query);
        } catch (Throwable e) {
            return null;
        }
        if (read == null || read.length != rows.fields.length) {
            return null;
        }
        for (int i = 0; i < read.length; i++) {
            if (read[i] != rows.fields[i]) {
                return null;
            }
        }
        return (DirectRows<R>) rows;
    }

    /**
     * Every row of the library's own statement {@code sql} (such as an upsert's {@code RETURNING}) coerced to
     * {@code table}, executed by jOOQ as {@code dsl.resultQuery("{0}", sql).coerce(table).fetch()} executes it; its rows read by the reader of the
     * table's records when every column has one and the settings allow it (as for {@link #ofQuery}), otherwise by
     * jOOQ's cursor. A failure to read is reported as jOOQ's cursor reports it. Runs on the calling thread.
     */
    @SuppressWarnings("unchecked")
    static <R extends Record> Result<R> fetch(DSLContext dsl, org.jooq.QueryPart sql, Table<R> table) {
        org.jooq.ResultQuery<R> query = dsl.resultQuery("{0}", sql).coerce(table);
        DirectRows<?> rows = unpreparedEnabled && FETCHED != null && table.getRecordType() != null
                && org.jooq.TableRecord.class.isAssignableFrom(table.getRecordType())
                && Database.readsDirectly(dsl.configuration())
                ? OF_RECORD_TYPE.get(table.getRecordType()) : NONE;
        if (rows == NONE || ((DirectRows<R>) rows).table != table && !table.equals(((DirectRows<R>) rows).table)) {
            return query.fetch();
        }
        try (org.jooq.Cursor<R> cursor = query.fetchLazy()) {
            UNPREPARED_READS.increment();
            return (Result<R>) ((DirectRows<R>) rows).read(dsl, cursor.resultSet(), PreparedQuery.Rows.ALL);
        } catch (SQLException e) {
            throw PreparedQuery.TypedQuery.translate(Calls.sentSql(), e);
        }
    }

    /**
     * Leaves {@code result} as what {@code query.getResult()} returns, as jOOQ's {@code fetch} leaves it: a query
     * {@link #ofQuery} accepted, read directly.
     */
    static void rememberResult(org.jooq.ResultQuery<?> query, Result<?> result) {
        try {
            Object holder = query.getClass().getName().equals("org.jooq.impl.SelectImpl")
                    ? (Object) SELECT_IMPL_DELEGATE.invoke(query) : query;
            QUERY_RESULT.set(holder, result);
        } catch (Throwable e) {
            throw new IllegalStateException("jOOQ's query result is not reachable", e);
        }
    }

    /**
     * jOOQ's {@code AbstractRecord.set(int, Object)}, the setter generated records call: stores a value by position,
     * as {@code record.set(record.field(i), value)} does after looking the field up by equality (a measurable share
     * of reading many rows). Null when not reachable: then by field.
     */
    private static final java.lang.invoke.MethodHandle RECORD_SET = recordSetHandle();

    private static java.lang.invoke.MethodHandle recordSetHandle() {
        if (Boolean.getBoolean("sqlservice.rows.setByField")) {
            return null; // for benchmarks: the A/B of storing by position
        }
        try {
            Class<?> type = Class.forName("org.jooq.impl.AbstractRecord");
            return MethodHandles.privateLookupIn(type, MethodHandles.lookup())
                    .findVirtual(type, "set", java.lang.invoke.MethodType.methodType(void.class, int.class, Object.class))
                    .asType(java.lang.invoke.MethodType.methodType(void.class, Record.class, int.class, Object.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    private static VarHandle queryResultHandle() {
        try {
            Class<?> type = Class.forName("org.jooq.impl.AbstractResultQuery");
            return MethodHandles.privateLookupIn(type, MethodHandles.lookup()).findVarHandle(type, "result", Result.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    private static java.lang.invoke.MethodHandle selectDelegate() {
        try {
            Class<?> type = Class.forName("org.jooq.impl.AbstractDelegatingQuery");
            return MethodHandles.privateLookupIn(type, MethodHandles.lookup()).findVirtual(type, "getDelegate",
                    java.lang.invoke.MethodType.methodType(org.jooq.CloseableQuery.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    private static java.lang.invoke.MethodHandle selectFields(String className) {
        try {
            Class<?> type = Class.forName(className);
            return MethodHandles.privateLookupIn(type, MethodHandles.lookup())
                    .findVirtual(type, "getFields", java.lang.invoke.MethodType.methodType(Field[].class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** jOOQ's "fetched" mark of {@code record}; false where it cannot be reached. */
    static boolean isFetched(Record record) {
        return FETCHED != null && (boolean) FETCHED.get(record);
    }

    /**
     * Sets jOOQ's "fetched" mark of {@code record} (true: as jOOQ's {@code store()} does after its insert, so that a
     * later {@code store()} updates the row); nothing where it cannot be reached (see the class comment).
     */
    static void setFetched(Record record, boolean fetched) {
        if (FETCHED != null) {
            FETCHED.set(record, fetched);
        }
    }

    /** jOOQ's array of original values of records ({@code AbstractRecord.originals}); null: not reachable. */
    private static final VarHandle ORIGINALS = originalsHandle();

    private static VarHandle originalsHandle() {
        try {
            Class<?> record = Class.forName("org.jooq.impl.AbstractRecord");
            return MethodHandles.privateLookupIn(record, MethodHandles.lookup())
                    .findVarHandle(record, "originals", Object[].class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** A copy of {@code record}'s original values (what {@code original(i)} returns), by field index. */
    static Object[] originalsOf(Record record) {
        Object[] originals = new Object[record.size()];
        for (int i = 0; i < originals.length; i++) {
            originals[i] = record.original(i);
        }
        return originals;
    }

    /**
     * Puts back original values taken by {@link #originalsOf} (null: every original null); where jOOQ's array cannot
     * be reached the originals are left as they are.
     */
    static void restoreOriginals(Record record, Object[] originals) {
        if (ORIGINALS == null || !(ORIGINALS.get(record) instanceof Object[] target)) {
            return;
        }
        if (originals == null) {
            Arrays.fill(target, null);
        } else if (target.length == originals.length) {
            System.arraycopy(originals, 0, target, 0, originals.length);
        }
    }

    private static VarHandle fetchedHandle() {
        try {
            Class<?> record = Class.forName("org.jooq.impl.AbstractRecord");
            return MethodHandles.privateLookupIn(record, MethodHandles.lookup())
                    .findVarHandle(record, "fetched", boolean.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Reads what {@code rows} asks for from {@code resultSet} (positioned before its first row), with the values of
     * {@code dsl}'s configuration: a {@code Result} (ALL, empty when there is no row), or the first record or null.
     *
     * @throws org.jooq.exception.TooManyRowsException for {@link PreparedQuery.Rows#AT_MOST_ONE} and a second row
     * @throws SQLException when the driver fails to read
     */
    Object read(DSLContext dsl, ResultSet resultSet, PreparedQuery.Rows rows) throws SQLException {
        Values values = new Values(dsl, resultSet);
        values.timestamps = binaryTimestamps(dsl, resultSet);
        return switch (rows) {
            case ALL -> {
                Result<R> result = newResult(dsl);
                while (resultSet.next()) {
                    result.add(next(dsl, values));
                }
                yield result;
            }
            case FIRST -> resultSet.next() ? next(dsl, values) : null;
            case AT_MOST_ONE -> {
                R first = resultSet.next() ? next(dsl, values) : null;
                if (first != null && resultSet.next()) {
                    // as jOOQ's fetchOne words it
                    throw new org.jooq.exception.TooManyRowsException("Cursor returned more than one result");
                }
                yield first;
            }
        };
    }

    /**
     * Per field, whether it is a {@code timestamptz} that {@link PostgresTimestamps} reads without text: only for
     * jOOQ's default {@code OffsetDateTime} binding where it reads text ({@code bindOffsetDateTimeType} false, as
     * jOOQ's binding asks it), on pgjdbc, binary columns; null when none is.
     */
    private PostgresTimestamps[] binaryTimestamps(DSLContext dsl, ResultSet resultSet) {
        // the dialect first: PostgresTimestamps refers to pgjdbc, which a MariaDB application need not have
        if (!anyOffsetDateTime || dsl.configuration().family() != org.jooq.SQLDialect.POSTGRES
                || !Boolean.FALSE.equals(dsl.configuration().settings().isBindOffsetDateTimeType())) {
            return null;
        }
        if (!pgjdbcLinks) {
            return null;
        }
        PostgresTimestamps reader;
        try {
            reader = PostgresTimestamps.enabled ? PostgresTimestamps.of(resultSet) : null;
        } catch (LinkageError e) {
            // pgjdbc is not on the class path (another driver): jOOQ's binding reads them, from now on without trying
            pgjdbcLinks = false;
            return null;
        }
        if (reader == null) {
            return null;
        }
        PostgresTimestamps[] readers = null;
        for (int i = 0; i < fields.length; i++) {
            if (offsetDateTimes[i] && reader.binaryTimestamptz(i + 1)) {
                if (readers == null) {
                    readers = new PostgresTimestamps[fields.length];
                }
                readers[i] = reader;
            }
        }
        return readers;
    }

    @SuppressWarnings("unchecked")
    private Result<R> newResult(DSLContext dsl) {
        return table != null ? dsl.newResult(table) : (Result<R>) dsl.newResult(fields);
    }

    @SuppressWarnings("unchecked")
    private R next(DSLContext dsl, Values values) throws SQLException {
        R record = table != null ? dsl.newRecord(table) : (R) dsl.newRecord(fields);
        for (int i = 0; i < fields.length; i++) {
            // read by the query's field (its binding), stored by position: jOOQ fills a record of a table by
            // position, whatever the query's column names (a table alias may rename every column)
            Field<Object> field = (Field<Object>) fields[i];
            values.at(i + 1, field);
            try {
                Object value = PostgresTimestamps.THROUGH_JOOQ;
                if (values.timestamps != null && values.timestamps[i] != null) {
                    try {
                        value = values.timestamps[i].read(i + 1);
                    } catch (SQLException | RuntimeException e) {
                        // read again by jOOQ's binding below, which fails as jOOQ fails
                    }
                }
                if (value == PostgresTimestamps.THROUGH_JOOQ) {
                    field.getBinding().get(values);
                } else {
                    values.value = value;
                }
            } catch (Exception e) {
                // as jOOQ's cursor reports a value it cannot read (an SQLException without SQLState)
                throw new SQLException("Error while reading field: " + field + ", at JDBC index: " + (i + 1), e);
            }
            if (RECORD_SET != null) {
                try {
                    RECORD_SET.invokeExact((Record) record, i, values.value);
                } catch (RuntimeException | Error e) {
                    throw e;
                } catch (Throwable e) {
                    throw new IllegalStateException(e);
                }
            } else {
                record.set((Field<Object>) record.field(i), values.value);
            }
        }
        record.changed(false);
        FETCHED.set(record, true);
        return record;
    }

    /**
     * The context a binding reads one value in: the result set and index, the configuration's settings and
     * dialect. A built-in binding of {@link #BINDINGS} asks for nothing else; there is no {@link ExecuteContext}.
     */
    private static final class Values extends DirectScope implements BindingGetResultSetContext<Object> {
        private final ResultSet resultSet;
        /** Per field, its reader of binary {@code timestamptz} values, or null (see {@link #binaryTimestamps}). */
        private PostgresTimestamps[] timestamps;
        private int index;
        private Field<Object> field;
        private Object value;

        Values(DSLContext dsl, ResultSet resultSet) {
            super(dsl);
            this.resultSet = resultSet;
        }

        void at(int index, Field<Object> field) {
            this.index = index;
            this.field = field;
            this.value = null;
        }

        @Override
        public ResultSet resultSet() {
            return resultSet;
        }

        @Override
        public int index() {
            return index;
        }

        @Override
        public Field<Object> field() {
            return field;
        }

        @Override
        public void value(Object value) {
            this.value = value;
        }

        @Override
        public <T> BindingGetResultSetContext<T> convert(Converter<? super T, ?> converter) {
            throw new UnsupportedOperationException("a direct read of a prepared query converts no value");
        }
    }
}
