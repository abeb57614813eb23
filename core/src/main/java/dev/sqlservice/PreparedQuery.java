package dev.sqlservice;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.jooq.DataType;
import org.jooq.Field;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.ResultQuery;
import org.jooq.Table;
import org.jooq.TableRecord;
import org.jooq.exception.DataAccessException;

/**
 * A query rendered once, run many times with new values: a jOOQ query whose values to change are named
 * parameters ({@link org.jooq.impl.DSL#param(String, Class)}), or SQL with {@code :named} parameters, prepared by
 * {@link Database#prepare(ResultQuery)} or {@link Database#prepare(String)}, and run by the verbs {@code all},
 * {@code first}, {@code one} and {@code oneOrNone} of {@link Session} and {@link AsyncSession}.
 *
 * <pre>{@code
 * // once, e.g. in a repository's constructor
 * Param<Long> id = DSL.param("id", Long.class);
 * PreparedQuery<UsersRecord> userById = db.prepare(selectFrom(USERS).where(USERS.ID.eq(id)));
 *
 * // per call: no rendering, the rows mapped into UsersRecord as by selectFrom(USERS)
 * CompletionStage<Optional<UsersRecord>> user = db.session().first(userById.bind(id, 42L));
 * }</pre>
 *
 * <p>{@code bind} never changes a prepared query: it returns a copy holding the value (arrays, lists and sets are
 * copied too, as are array and {@code java.util.Date} constants at {@code prepare}: changing yours later changes no
 * run), so one prepared query can
 * be shared by every thread and bound concurrently. Each run sends the SQL rendered at {@code prepare} time
 * (MariaDB's {@code SET STATEMENT} wrapping and the row limits of {@code first}, {@code one} and
 * {@code oneOrNone} are applied to it per call, as for any query) with every value bound, never spliced into
 * the SQL. A run has the semantics of the same verb on an unprepared query: statement timeout, cancellation,
 * transactions, row limits, exceptions; a typed query's records are of its own record type, attached like
 * those of any call (so {@code store()} and {@code refresh()} work on them).
 *
 * <p>A typed query runs directly on JDBC: its values set by jOOQ's bindings, its rows read by jOOQ's mapping, but
 * none of jOOQ's execution path (no rendering, no {@code ExecuteListener}s); failures are jOOQ's exceptions, as jOOQ
 * words them. jOOQ executes it instead for {@code :named} SQL, for plain SQL whose columns are only known from the
 * result, while jOOQ's execution log is at DEBUG, and under settings a direct run does not reproduce (the README
 * lists them).
 *
 * <p>Every named parameter needs a value in each run: {@code bind} all of them (an explicit {@code null} is a
 * value). A run with a parameter left unbound fails at once, on the calling thread, with
 * {@link IllegalArgumentException} naming it. Unnamed values of the query ({@code USERS.ID.eq(42L)}) are
 * constants, bound as they were at {@code prepare}; changing the original query afterwards changes nothing here.
 *
 * <p>Immutable and thread-safe. It belongs to the {@link Database} that prepared it (the SQL is that
 * database's dialect and settings): running it on another database's session fails with
 * {@link IllegalArgumentException}.
 *
 * @param <R> the record type of its rows
 */
public final class PreparedQuery<R extends Record> {

    private final PreparedSql<R> template;
    /** Per parameter name, in {@link PreparedSql#names} order; only the indexes in {@link #bound} are set. */
    private final Object[] values;
    private final long[] bound;

    PreparedQuery(PreparedSql<R> template) {
        this.template = template;
        this.values = new Object[template.names.size()];
        this.bound = new long[(template.names.size() + 63) / 64];
    }

    private PreparedQuery(PreparedQuery<R> from, int index, Object value) {
        this.template = from.template;
        this.values = from.values.clone();
        this.bound = from.bound.clone();
        this.values[index] = value;
        this.bound[index >>> 6] |= 1L << index;
    }

    /**
     * A copy of this query with {@code value} for the parameter {@code name}, replacing a value bound before.
     *
     * @param name a parameter's name, without {@code :}
     * @param value its value, or null for SQL {@code NULL}; for a typed query, an instance of the parameter's
     *     Java type ({@code Long} for {@code param("id", Long.class)}); for SQL, any value plain SQL accepts
     *     (a {@link java.util.Collection} becomes one bind per element, for {@code in (:ids)})
     * @return a new prepared query; this one is unchanged
     * @throws NullPointerException when {@code name} is null
     * @throws IllegalArgumentException when the query has no parameter of that name, or the value is not of the
     *     parameter's type; the message names the parameter (never the value)
     */
    public PreparedQuery<R> bind(String name, Object value) {
        Objects.requireNonNull(name, "name == null");
        int index = template.index(name);
        template.check(index, value);
        return new PreparedQuery<>(this, index, Preparing.copyOf(value));
    }

    /**
     * A copy of this query with {@code value} for the named parameter {@code param}: the typed form of
     * {@link #bind(String, Object)}.
     *
     * @param param a named parameter of the query, as passed to it ({@code DSL.param("id", Long.class)})
     * @param value its value, or null
     * @param <T> the parameter's type
     * @return a new prepared query; this one is unchanged
     * @throws NullPointerException when {@code param} is null
     * @throws IllegalArgumentException when {@code param} has no name or is not a parameter of the query
     */
    public <T> PreparedQuery<R> bind(Param<T> param, T value) {
        Objects.requireNonNull(param, "param == null");
        if (param.getParamName() == null) {
            throw new IllegalArgumentException("bind takes a named parameter, made with DSL.param(name, type); "
                    + "an unnamed value is a constant of the prepared query");
        }
        return bind(param.getParamName(), value);
    }

    /**
     * A copy of this query with a value for each entry of {@code values}, replacing values bound before.
     *
     * @param values parameter names (without {@code :}) and their values; empty returns this query
     * @return a new prepared query; this one is unchanged
     * @throws NullPointerException when {@code values} or one of its names is null
     * @throws IllegalArgumentException as {@link #bind(String, Object)}
     */
    public PreparedQuery<R> bind(Map<String, ?> values) {
        Objects.requireNonNull(values, "values == null");
        PreparedQuery<R> result = this;
        for (Map.Entry<String, ?> entry : values.entrySet()) {
            result = result.bind(Objects.requireNonNull(entry.getKey(), "a parameter name in values is null"),
                    entry.getValue());
        }
        return result;
    }

    /**
     * The names of the query's parameters, in the order they first appear.
     *
     * @return an unmodifiable set; empty when the query has none
     */
    public Set<String> parameterNames() {
        return template.nameSet;
    }

    /**
     * The SQL as rendered at {@code prepare}, with {@code ?} for every bind (for a {@code :named} SQL query, its
     * text with the parameters as written). A backend may wrap it when it is sent (MariaDB:
     * {@code SET STATEMENT time_zone = '+00:00' FOR ...}).
     *
     * @return the SQL text
     */
    public String sql() {
        return template.sql;
    }

    /**
     * One run of this query on {@code database}, checked on the calling thread.
     *
     * @throws IllegalArgumentException when a parameter has no value, or the query belongs to another database
     */
    Run<R> run(Database database) {
        if (database != template.database) {
            throw new IllegalArgumentException("this PreparedQuery was prepared by another Database; prepare it on the"
                    + " Database whose session runs it");
        }
        List<String> missing = null;
        for (int i = 0; i < values.length; i++) {
            if ((bound[i >>> 6] & 1L << i) == 0) {
                if (missing == null) {
                    missing = new ArrayList<>();
                }
                missing.add(template.names.get(i));
            }
        }
        if (missing != null) {
            throw new IllegalArgumentException((missing.size() == 1 ? "no value for parameter " : "no values for parameters ")
                    + missing.stream().map(n -> ":" + n).collect(Collectors.joining(", "))
                    + ": bind every parameter of a prepared query before running it");
        }
        return new Run<>(template, values);
    }

    @Override
    public String toString() {
        return "PreparedQuery[" + template.sql + "]";
    }

    /** How a run reads the rows of its cursor: all of them, the first, or at most one. */
    enum Rows { ALL, FIRST, AT_MOST_ONE }

    /**
     * One run of a prepared query, its values checked: either a jOOQ query ({@link #query()}), or, for a typed
     * query on a database that allows it ({@link #direct()}), a direct run on JDBC ({@link #fetch}).
     */
    static final class Run<R extends Record> {
        private final PreparedSql<R> template;
        private final Object[] values;

        Run(PreparedSql<R> template, Object[] values) {
            this.template = template;
            this.values = values;
        }

        /** The run as a jOOQ query, executed and mapped by jOOQ. */
        ResultQuery<R> query() {
            return template.query(values);
        }

        /**
         * Whether this run executes directly on JDBC: a typed query whose columns it can read
         * ({@code Preparing.directFields}), on a database whose settings allow it
         * ({@link Database#runsPreparedDirectly}), while jOOQ's execution log is not at DEBUG.
         */
        boolean direct() {
            return template instanceof TypedQuery<R> typed && typed.read != null && template.database.readsDirectly();
        }

        /** Whether a direct run reads its rows without jOOQ's cursor ({@link DirectRows}). */
        boolean readsRowsDirectly() {
            return direct() && ((TypedQuery<R>) template).directRows != null && DirectRows.enabled;
        }

        /** Whether a direct run sets its values without jOOQ's bind context ({@link DirectBinds}). */
        boolean bindsDirectly() {
            return direct() && ((TypedQuery<R>) template).directBinds != null && DirectBinds.enabled;
        }

        /**
         * Runs the query directly (only when {@link #direct()}), on the connection {@code dsl} hands out, as the
         * current call's statement: the SQL of prepare as the backend sends it, every value bound by jOOQ's
         * binding of its type, the rows read by jOOQ into records of the query's type.
         *
         * @param maxRows the JDBC row limit the call sets (0: none), for the backend's SQL
         * @throws org.jooq.exception.TooManyRowsException for {@link Rows#AT_MOST_ONE} and a second row
         * @throws DataAccessException when the database fails, as jOOQ reports it
         */
        Object fetch(org.jooq.DSLContext dsl, int maxRows, Rows rows) {
            return ((TypedQuery<R>) template).fetch(dsl, values, maxRows, rows);
        }
    }

    /**
     * What every run of a prepared query shares: its database, the SQL split around its binds, the parameter
     * names and how rows become records. Immutable.
     */
    abstract static class PreparedSql<R extends Record> {
        final Database database;
        final String sql;
        final List<String> names;
        final Set<String> nameSet;
        private final Map<String, Integer> indexes;

        PreparedSql(Database database, String sql, List<String> names) {
            this.database = database;
            this.sql = sql;
            this.names = List.copyOf(names);
            this.nameSet = Collections.unmodifiableSequencedSet(new LinkedHashSet<>(names));
            Map<String, Integer> indexes = new HashMap<>();
            for (int i = 0; i < names.size(); i++) {
                indexes.put(names.get(i), i);
            }
            this.indexes = indexes;
        }

        int index(String name) {
            Integer index = indexes.get(name);
            if (index == null) {
                String hint = name.startsWith(":") && indexes.containsKey(name.substring(1))
                        ? "; parameter names are given without ':'" : "";
                throw new IllegalArgumentException("parameter :" + (name.startsWith(":") ? name.substring(1) : name)
                        + " is not in the prepared query ("
                        + (names.isEmpty() ? "it has no parameters" : "its parameters are "
                                + names.stream().map(n -> ":" + n).collect(Collectors.joining(", ")))
                        + ")" + hint);
            }
            return index;
        }

        /** Checks a value for the parameter at {@code index}. */
        abstract void check(int index, Object value);

        /** The query of one run, every parameter bound. */
        abstract ResultQuery<R> query(Object[] values);
    }

    /** The prepared form of SQL with {@code :named} parameters: parsed once, expanded per run. */
    static final class NamedSqlQuery extends PreparedSql<Record> {
        private final NamedSql parsed;

        NamedSqlQuery(Database database, String sql, NamedSql parsed) {
            super(database, sql, List.copyOf(parsed.parameterNames()));
            this.parsed = parsed;
        }

        @Override
        void check(int index, Object value) {
            if (value instanceof java.util.Collection<?> c && c.isEmpty()) {
                throw new IllegalArgumentException("parameter :" + names.get(index)
                        + " is an empty collection; SQL \"in ()\" is invalid, so handle the empty case before querying");
            }
        }

        @Override
        ResultQuery<Record> query(Object[] values) {
            Map<String, Object> params = new LinkedHashMap<>(Math.max(4, values.length * 2));
            for (int i = 0; i < values.length; i++) {
                params.put(names.get(i), values[i]);
            }
            return PlainSql.resultQuery(parsed, params);
        }
    }

    /**
     * The prepared form of a typed jOOQ query: its SQL as rendered once, cut around each bind, and per bind either
     * a parameter name or a constant. A run emits the cut text and one new bind value per slot, and maps the rows
     * with the query's own fields or table, so jOOQ executes and maps it as usual without visiting the original
     * query again.
     */
    static final class TypedQuery<R extends Record> extends PreparedSql<R> {
        private final String[] texts;
        /** Per bind: the index of its parameter name, or -1 for a constant. */
        private final int[] slotNames;
        private final DataType<?>[] slotTypes;
        private final Object[] constants;
        private final Class<?>[] types;
        private final Table<R> table;
        private final Field<?>[] fields;

        /** Per bind: whether its text at prepare was a bare {@code ?} (no cast around it). */
        private final boolean[] bare;
        /** The fields a direct run reads (the table's, or the query's select list); null: it cannot run directly. */
        private final Field<?>[] read;
        /** A direct run's reader of rows without jOOQ's cursor; null: it reads through jOOQ's cursor. */
        private final DirectRows<R> directRows;
        /** A direct run's binder of values without jOOQ's bind context; null: it binds through jOOQ's. */
        private final DirectBinds directBinds;

        TypedQuery(Database database, String sql, List<String> names, String[] texts, boolean[] bare, int[] slotNames,
                DataType<?>[] slotTypes, Object[] constants, Class<?>[] types, Table<R> table, Field<?>[] fields,
                Field<?>[] read) {
            super(database, sql, names);
            this.texts = texts;
            this.bare = bare;
            this.slotNames = slotNames;
            this.slotTypes = slotTypes;
            this.constants = constants;
            this.types = types;
            this.table = table;
            this.fields = fields;
            this.read = read;
            this.directRows = read == null ? null : DirectRows.of(read, table);
            this.directBinds = read == null ? null : DirectBinds.of(database.callDsl().configuration(), slotTypes);
        }

        /** {@link Run#fetch}: returns a {@code Result<R>} (ALL) or the record or null (FIRST, AT_MOST_ONE). */
        Object fetch(org.jooq.DSLContext dsl, Object[] values, int maxRows, Rows rows) {
            String sent = database.backend().statementSql(sql, maxRows);
            Calls calls = database.calls();
            org.jooq.ConnectionProvider provider = dsl.configuration().connectionProvider();
            java.sql.Connection connection = provider.acquire();
            try (java.sql.PreparedStatement statement = connection.prepareStatement(sent)) {
                Object[] slots = new Object[slotNames.length];
                for (int i = 0; i < slots.length; i++) {
                    int name = slotNames[i];
                    slots[i] = name < 0 ? constants[i] : values[name];
                    // jOOQ's execution converts a value when it renders the query, so that a converter's exception
                    // reaches the caller unchanged; inside the bind context it would be wrapped in a
                    // DataAccessException. Converted once here for that, then bound as usual.
                    if (slots[i] != null) {
                        convert(slotTypes[i].getConverter(), slots[i]);
                    }
                }
                Runnable throughJooq = () -> {
                    org.jooq.BindContext bind = dsl.bindContext(statement);
                    for (int i = 0; i < slots.length; i++) {
                        bind.visit(org.jooq.impl.DSL.val(slots[i], slotTypes[i]));
                    }
                };
                if (directBinds != null) {
                    directBinds.bind(dsl, statement, slots, throughJooq);
                } else {
                    throughJooq.run();
                }
                java.sql.ResultSet resultSet;
                try {
                    calls.executing(statement, sent);
                    resultSet = statement.executeQuery();
                } catch (java.sql.SQLException | RuntimeException | Error e) {
                    Calls.failed();
                    throw e;
                }
                calls.executed(true);
                if (directRows != null && DirectRows.enabled) {
                    // straight through the fields' bindings; a failure to read is translated below, as jOOQ would
                    try (resultSet) {
                        return directRows.read(dsl, resultSet, rows);
                    }
                }
                return Calls.readingDirect(sent, () -> read(dsl, resultSet, rows));
            } catch (java.sql.SQLException e) {
                throw translate(sent, e);
            } finally {
                provider.release(connection);
            }
        }

        @SuppressWarnings("unchecked")
        private static <U> void convert(org.jooq.Converter<?, U> converter, Object value) {
            converter.to((U) value);
        }

        /** Reads the rows of a direct run's result set through jOOQ's cursor, into the query's records; closes it. */
        private Object read(org.jooq.DSLContext dsl, java.sql.ResultSet resultSet, Rows rows) {
            try (org.jooq.Cursor<Record> cursor = dsl.fetchLazy(resultSet, read)) {
                return switch (rows) {
                    case ALL -> table != null ? fetched(cursor.fetch().into(table)) : cursor.fetch();
                    case FIRST -> record(cursor.fetchNext());
                    case AT_MOST_ONE -> {
                        Record first = cursor.fetchNext();
                        if (first != null && cursor.hasNext()) {
                            // as jOOQ's fetchOne words it
                            throw new org.jooq.exception.TooManyRowsException("Cursor returned more than one result");
                        }
                        yield record(first);
                    }
                };
            }
        }

        /**
         * A failed execution as jOOQ reports it: its exception class by the SQLState's class (22: {@code
         * DataException}, 23: {@code IntegrityConstraintViolationException}), its message "SQL [...]; " and the
         * driver's, the driver's exception as its cause.
         */
        static DataAccessException translate(String sql, java.sql.SQLException e) {
            String message = "SQL [" + sql + "]; " + e.getMessage();
            return switch (DataAccessException.sqlStateClass(e)) {
                case C22_DATA_EXCEPTION -> new org.jooq.exception.DataException(message, e);
                case C23_INTEGRITY_CONSTRAINT_VIOLATION -> new org.jooq.exception.IntegrityConstraintViolationException(message, e);
                default -> new DataAccessException(message, e);
            };
        }

        /** A row as the query's record type, in the state jOOQ leaves a fetched record: nothing changed. */
        private Object record(Record row) {
            if (row == null || table == null) {
                return row;
            }
            R record = row.into(table);
            record.changed(false);
            return record;
        }

        private static <T extends Record> org.jooq.Result<T> fetched(org.jooq.Result<T> records) {
            for (T record : records) {
                record.changed(false);
            }
            return records;
        }

        @Override
        void check(int index, Object value) {
            Class<?> type = types[index];
            if (value != null && !type.isInstance(value)) {
                throw new IllegalArgumentException("parameter :" + names.get(index) + " takes " + type.getName()
                        + ", got a " + value.getClass().getName());
            }
        }

        @Override
        @SuppressWarnings("unchecked")
        ResultQuery<R> query(Object[] values) {
            Param<?>[] binds = new Param<?>[slotNames.length];
            for (int i = 0; i < binds.length; i++) {
                int name = slotNames[i];
                binds[i] = org.jooq.impl.DSL.val(name < 0 ? constants[i] : values[name], slotTypes[i]);
            }
            // On the database's own configuration: DSL.resultQuery would create a new configuration per run. A bind
            // whose text was a bare '?' at prepare is rendered without a cast again (jOOQ renders binds by their
            // context: none in a LIMIT or inside a CAST under Settings.paramCastMode ALWAYS); Preparing checks that
            // a run renders exactly the SQL of prepare, and refuses the query otherwise.
            ResultQuery<org.jooq.Record> run = database.callDsl().resultQuery("{0}",
                    org.jooq.impl.CustomQueryPart.of(ctx -> {
                        for (int i = 0; i < binds.length; i++) {
                            Param<?> bind = binds[i];
                            ctx.sql(texts[i]);
                            if (bare[i]) {
                                ctx.castMode(org.jooq.RenderContext.CastMode.NEVER, c -> c.visit(bind));
                            } else {
                                ctx.visit(bind);
                            }
                        }
                        ctx.sql(texts[binds.length]);
                    }));
            return table != null ? run.coerce(table) : (ResultQuery<R>) run.coerce(fields);
        }

        @Override
        public String toString() {
            return Arrays.toString(texts);
        }
    }
}
