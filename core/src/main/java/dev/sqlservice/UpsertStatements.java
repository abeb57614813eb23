package dev.sqlservice;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import org.jooq.ConnectionProvider;
import org.jooq.DSLContext;
import org.jooq.DataType;
import org.jooq.Field;
import org.jooq.Param;
import org.jooq.QueryPart;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.UpdatableRecord;
import org.jooq.impl.CustomQueryPart;
import org.jooq.impl.DSL;

/**
 * The SQL of one upsert statement: what every backend shares (the statement as jOOQ query parts, the columns a
 * statement writes, the catalog's generated columns read once); each backend renders its own statements
 * ({@link Backend#upserts}: {@link PostgresBackend.Statements}, {@link MariaDbBackend.Statements}).
 *
 * <p>Every table and column reference is a jOOQ {@link QueryPart} (the {@link Table}, the fields' names) rendered
 * by the executing context, never a name pasted into a string, so every {@code Settings} option applies as to
 * any jOOQ query: {@code RenderMapping} (another schema or table name), {@code RenderQuotedNames},
 * {@code RenderNameCase}, {@code StatementType}.
 *
 * <p>A record that leaves a NOT NULL column without default unset cannot be inserted, yet must still update an
 * existing row: PostgreSQL checks NOT NULL on the proposed row before it looks for a conflict. For those
 * statements the proposed row takes such columns from the stored row ({@code left join users e on e.id = v.id});
 * the update still sets only the changed columns, and a row that does not exist fails with the NOT NULL violation
 * it deserves.
 *
 * <p>Columns the database computes ({@code GENERATED ALWAYS AS (…)}) are never written: jOOQ's open-source code
 * generator does not mark them, so they are read from the catalog ({@link #computedColumnNames}), once per
 * {@link Database} and table.
 */
abstract class UpsertStatements {

    /** What one statement did: how many of the rows it was given it wrote, and the stored rows it reported back. */
    record Written(int rows, List<? extends Record> stored) {}

    /**
     * Writes a first part of {@code rows} (at least one row, as many as one statement may carry) and returns how
     * many, with the stored rows the statement reports back (possibly not all of them).
     */
    abstract <R extends UpdatableRecord<?>> Written upsert(DSLContext dsl, Upserts.Group<R> group, List<R> rows);

    /**
     * What the statements of one run of a plan share (they run in one transaction, on one thread): a backend's to
     * keep, empty at first.
     */
    static final class Run {
        final Map<Object, Object> state = new java.util.HashMap<>();
        /**
         * The call runs nested in a caller's transaction (a savepoint), not in a transaction of its own: the
         * statements must not rely on the transaction ending with the call.
         */
        final boolean nested;
        /** Work started for the next statement, while the server runs this one ({@link #workAhead}); or null. */
        private Ahead ahead;

        Run(boolean nested) {
            this.nested = nested;
        }

        /** What {@link #takeAhead} returns when no work was started for these rows. */
        static final Object NOT_AHEAD = new Object();

        private record Ahead(Object first, int size, Object shape, java.util.concurrent.FutureTask<Object> task) {}

        /**
         * Starts {@code work}, which reads the records {@code rows} and nothing the call changes, on a virtual thread
         * of its own, so that it runs while this thread waits for the server; the next statement takes its result
         * with {@link #takeAhead} (the same rows, by identity of the first record and count, and the same
         * {@code shape}). When no thread can be started, nothing is: the next statement does the work itself.
         */
        void workAhead(List<?> rows, Object shape, java.util.concurrent.Callable<Object> work) {
            awaitAhead();
            java.util.concurrent.FutureTask<Object> task = new java.util.concurrent.FutureTask<>(work);
            Ahead started = new Ahead(rows.getFirst(), rows.size(), shape, task);
            try {
                Thread.ofVirtual().name("sqlservice-upsert-ahead").start(task);
            } catch (RuntimeException | OutOfMemoryError e) {
                return;
            }
            ahead = started;
            AHEAD.increment();
        }

        /** How many texts (or other work) were started ahead (in this JVM): for tests. */
        static final java.util.concurrent.atomic.LongAdder AHEAD = new java.util.concurrent.atomic.LongAdder();

        /**
         * The result of the work started for exactly these rows and shape (waiting for it, uninterruptibly: it is
         * CPU work of one statement), rethrowing what the work threw; {@link #NOT_AHEAD} when none was (work
         * started for other rows is awaited and dropped).
         */
        Object takeAhead(List<?> rows, Object shape) {
            Ahead started = ahead;
            ahead = null;
            if (started == null) {
                return NOT_AHEAD;
            }
            if (started.first() != rows.getFirst() || started.size() != rows.size() || !started.shape().equals(shape)) {
                ahead = started;
                awaitAhead();
                return NOT_AHEAD;
            }
            try {
                return await(started.task());
            } catch (java.util.concurrent.ExecutionException e) {
                throw Run.<RuntimeException>unchanged(e.getCause());
            }
        }

        /**
         * Waits for work still running ahead and drops it: called when the run ends, however it ends, so that no
         * thread reads the caller's records after the call has returned.
         */
        void awaitAhead() {
            Ahead started = ahead;
            ahead = null;
            if (started != null) {
                try {
                    await(started.task());
                } catch (java.util.concurrent.ExecutionException e) {
                    // dropped: the statement it was for never ran
                }
            }
        }

        /** Rethrows what the work threw as it is, checked or not. */
        @SuppressWarnings("unchecked")
        private static <T extends Throwable> T unchanged(Throwable thrown) throws T {
            throw (T) thrown;
        }

        private static Object await(java.util.concurrent.FutureTask<Object> task)
                throws java.util.concurrent.ExecutionException {
            boolean interrupted = false;
            try {
                while (true) {
                    try {
                        return task.get();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** {@link #upsert(DSLContext, Upserts.Group, List)} as one of the statements of {@code run}. */
    <R extends UpdatableRecord<?>> Written upsert(DSLContext dsl, Upserts.Group<R> group, List<R> rows, Run run) {
        return upsert(dsl, group, rows);
    }


    /**
     * The stored rows whose primary key the database finds equal to these records' keys (its own comparison:
     * collations, padding, types): the table's fields, then the 1-based position in {@code records} of the record
     * the row matched.
     */
    abstract List<? extends Record> match(DSLContext dsl, Upserts.Group<?> group, List<? extends Record> records);

    /** The names of the columns of {@code table} that the database computes, read from its catalog. */
    abstract List<String> computedColumnNames(DSLContext dsl, Table<?> table);

    /** Columns the database computes, per {@link Database} (its connection provider) and table: read once. */
    private static final Map<ConnectionProvider, Map<Table<?>, BitSet>> COMPUTED =
            Collections.synchronizedMap(new WeakHashMap<>());

    /** The positions of the columns of {@code table} the database computes; never to be written. */
    final BitSet computedColumns(DSLContext dsl, Table<?> table) {
        Map<Table<?>, BitSet> known = COMPUTED.computeIfAbsent(dsl.configuration().connectionProvider(),
                p -> new ConcurrentHashMap<>());
        BitSet computed = known.get(table);
        if (computed == null) {
            computed = new BitSet();
            Field<?>[] fields = table.fields();
            List<String> names = computedColumnNames(dsl, table);
            for (int i = 0; i < fields.length; i++) {
                DataType<?> type = fields[i].getDataType();
                // computed() and readonly() are set by jOOQ's commercial code generators only
                if (type.computed() || type.readonly() || names.contains(fields[i].getName())) {
                    computed.set(i);
                }
            }
            known.put(table, computed);
        }
        return computed;
    }

    /** The columns a statement of this group writes: those its records set, less those the database computes. */
    final BitSet writable(DSLContext dsl, Upserts.Group<?> group) {
        BitSet computed = computedColumns(dsl, group.table());
        if (!computed.intersects(group.columns())) {
            return group.columns();
        }
        BitSet columns = (BitSet) group.columns().clone();
        columns.andNot(computed);
        return columns;
    }

    /**
     * NOT NULL columns without default that a statement does not set, and the database does not compute: the
     * proposed row takes them from the stored row.
     */
    static BitSet requiredButUnset(Field<?>[] fields, BitSet columns, BitSet computed) {
        BitSet required = new BitSet();
        for (int i = 0; i < fields.length; i++) {
            DataType<?> type = fields[i].getDataType();
            if (!columns.get(i) && !computed.get(i) && !type.nullable() && !type.defaulted() && !type.identity()) {
                required.set(i);
            }
        }
        return required;
    }

    /**
     * Whether {@code converter} is jOOQ's identity, the converter of a field or value that has none of its own. A
     * converter from a type to itself (seconds to milliseconds, lower-casing, truncating a timestamp) is a user's
     * and must run: the types alone cannot tell them apart. Should jOOQ change its identity converter's class, this
     * says false, and values go through jOOQ's own binding (slower, never wrong).
     */
    static boolean noConverter(org.jooq.Converter<?, ?> converter) {
        return converter instanceof org.jooq.impl.IdentityConverter;
    }

    /**
     * A statement as SQL text and jOOQ query parts (tables, names, binds), rendered by the executing context. The
     * text is SQL keywords and aliases only, never a value or a name.
     */
    static final class Sql {
        private final List<Object> pieces = new ArrayList<>();
        private final StringBuilder text = new StringBuilder(256);
        private boolean direct = true;
        private int binds;
        /** The fields bound so far, in their first order, whether each allows direct binds, and where each is. */
        private Field<?>[] checked = new Field<?>[8];
        private boolean[] checkedFits = new boolean[8];
        private int checkedCount;
        private final java.util.IdentityHashMap<Field<?>, Integer> checkedAt = new java.util.IdentityHashMap<>();
        /** Where the field after the last one asked is, when rows bind their fields in the same order. */
        private int next;

        Sql sql(String sql) {
            text.append(sql);
            return this;
        }

        Sql part(QueryPart part) {
            if (!text.isEmpty()) {
                pieces.add(text.toString());
                text.setLength(0);
            }
            pieces.add(part);
            return this;
        }

        /**
         * A value bound as {@code DSL.val(value, field)} binds it, or directly ({@link DirectBinds}) when every
         * value of the statement allows it.
         */
        Sql bind(Field<?> field, DataType<?> notNull, Object value) {
            if (!text.isEmpty()) {
                pieces.add(text.toString());
                text.setLength(0);
            }
            pieces.add(new Bind(field, notNull, value));
            direct = direct && fits(field) && (value == null || value.getClass() == field.getType());
            binds++;
            return this;
        }

        /**
         * {@link DirectBinds#fits(Field)}, asked once per field of the statement. Rows bind the same fields in the
         * same order, so the answer is usually the one after the last (or the first, after a row's last field);
         * otherwise it is looked up by identity, so that a wide statement costs no more per bind than a narrow one.
         */
        private boolean fits(Field<?> field) {
            int at = next < checkedCount ? next : 0;
            if (checkedCount == 0 || checked[at] != field) {
                Integer known = checkedAt.get(field);
                if (known == null) {
                    if (checkedCount == checked.length) {
                        checked = java.util.Arrays.copyOf(checked, checkedCount * 2);
                        checkedFits = java.util.Arrays.copyOf(checkedFits, checkedCount * 2);
                    }
                    checked[checkedCount] = field;
                    checkedFits[checkedCount] = DirectBinds.fits(field);
                    checkedAt.put(field, checkedCount);
                    known = checkedCount++;
                }
                at = known;
            }
            next = at + 1;
            return checkedFits[at];
        }

        /** A column's name, unqualified. */
        Sql name(Field<?> field) {
            return part(field.getUnqualifiedName());
        }

        /** A column of the table declared as {@code alias} ({@code t."name"}). */
        Sql name(String alias, Field<?> field) {
            return sql(alias).sql(".").name(field);
        }

        /** A column of the table itself ({@code "schema"."table"."name"}, the table as mapped). */
        Sql name(Table<?> table, Field<?> field) {
            return part(table).sql(".").name(field);
        }

        QueryPart build() {
            if (!text.isEmpty()) {
                pieces.add(text.toString());
                text.setLength(0);
            }
            Object[] all = pieces.toArray();
            boolean directly = direct && binds > 0;
            int count = binds;
            return CustomQueryPart.of(ctx -> {
                org.jooq.ExecuteContext execution = ctx.executeContext();
                // Values are set directly only in the statement jOOQ executes (rendered with indexed parameters,
                // in an execution); any other rendering (inlined: logging, static statements) binds as jOOQ does.
                DirectBinds values = directly && execution != null && !(ctx instanceof org.jooq.BindContext)
                        && (ctx.paramType() == org.jooq.conf.ParamType.INDEXED
                                || ctx.paramType() == org.jooq.conf.ParamType.FORCE_INDEXED)
                        && DirectBinds.DIALECTS.contains(ctx.family()) ? new DirectBinds(count) : null;
                for (Object piece : all) {
                    if (piece instanceof String sql) {
                        ctx.sql(sql);
                    } else if (piece instanceof Bind bind) {
                        if (values != null) {
                            values.add(ctx.nextIndex(), bind.value(), bind.field());
                            ctx.sql('?');
                        } else {
                            ctx.visit(bind.param());
                        }
                    } else {
                        ctx.visit((QueryPart) piece);
                    }
                }
                if (execution != null) {
                    execution.data(DirectBinds.KEY, values);
                }
            });
        }
    }

    /** A value of a statement and the field it is written to. */
    record Bind(Field<?> field, DataType<?> notNull, Object value) {
        /** As jOOQ binds it: {@code DSL.val(value, field)}, typed NOT NULL when the value is not null. */
        @SuppressWarnings("unchecked")
        Param<?> param() {
            return value == null ? DSL.val(null, (Field<Object>) field) : DSL.val(value, (DataType<Object>) notNull);
        }
    }

    /**
     * The values of one statement, set on the JDBC statement directly ({@link Calls#executeStart}) rather than as
     * jOOQ {@code Param}s. A multi-row statement is mostly values: as {@code Param}s each costs an object, a visit
     * per rendering and per binding (visit listeners included) and jOOQ's binding machinery, together about a
     * third of the client CPU of a {@code saveAll} on MariaDB. Used only when every value of the statement is of a
     * plain type written by jOOQ's own binding of its field (no converter, no custom binding), so the JDBC call is
     * the one jOOQ's binding makes: {@code setLong}, {@code setInt}, {@code setShort}, {@code setString},
     * {@code setBigDecimal}, {@code setNull}; an {@code OffsetDateTime} as the same instant in
     * UTC, {@code setObject(LocalDateTime)}, as {@link MariaDbBackend.Timestamps} binds it.
     */
    static final class DirectBinds {
        /** The key of an execution's data holding the values of its statement (or null). */
        static final Object KEY = new Object() {
            @Override
            public String toString() {
                return "sqlservice.directBinds";
            }
        };
        static final Set<SQLDialect> DIALECTS = Set.of(SQLDialect.MARIADB, SQLDialect.MYSQL);
        private static final Map<Class<?>, Integer> NULL_TYPES = Map.of(Long.class, java.sql.Types.BIGINT,
                Integer.class, java.sql.Types.INTEGER, Short.class, java.sql.Types.SMALLINT,
                String.class, java.sql.Types.VARCHAR, java.math.BigDecimal.class, java.sql.Types.DECIMAL,
                java.time.OffsetDateTime.class, java.sql.Types.TIMESTAMP);

        private final int[] indexes;
        private final Object[] values;
        /** Per null value, its field's Java type (for its SQL type). */
        private final Class<?>[] nullTypes;
        private int size;

        DirectBinds(int capacity) {
            indexes = new int[capacity];
            values = new Object[capacity];
            nullTypes = new Class<?>[capacity];
        }

        /**
         * Whether values of {@code field} can be set directly: a plain type, no converter, jOOQ's own binding (then
         * a value can, when it is null or of exactly that type).
         */
        static boolean fits(Field<?> field) {
            if (!NULL_TYPES.containsKey(field.getType())) {
                return false;
            }
            return noConverter(field.getConverter())
                    && field.getBinding().getClass().getName().startsWith("org.jooq.impl.DefaultBinding$Default");
        }

        void add(int index, Object value, Field<?> field) {
            indexes[size] = index;
            nullTypes[size] = value == null ? field.getType() : null;
            values[size++] = value;
        }

        /** Sets every value on {@code statement}; a null value as {@code setNull} with its field's SQL type. */
        void set(java.sql.PreparedStatement statement) throws java.sql.SQLException {
            for (int i = 0; i < size; i++) {
                int index = indexes[i];
                switch (values[i]) {
                    case Long v -> statement.setLong(index, v);
                    case Integer v -> statement.setInt(index, v);
                    case String v -> statement.setString(index, v);
                    case java.math.BigDecimal v -> statement.setBigDecimal(index, v);
                    case java.time.OffsetDateTime v -> statement.setObject(index,
                            v.withOffsetSameInstant(java.time.ZoneOffset.UTC).toLocalDateTime());
                    case Short v -> statement.setShort(index, v);
                    case null -> statement.setNull(index, NULL_TYPES.get(nullTypes[i]));
                    default -> throw new IllegalStateException(values[i].getClass().getName());
                }
            }
        }
    }

    /** The table's fields followed by the column holding a matched record's position. */
    static Field<?>[] withPosition(Field<?>[] fields, Field<?> position) {
        Field<?>[] all = java.util.Arrays.copyOf(fields, fields.length + 1);
        all[fields.length] = position;
        return all;
    }
}
