package dev.sqlservice;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import org.jooq.Configuration;
import org.jooq.DataType;
import org.jooq.Field;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.ResultQuery;
import org.jooq.Select;
import org.jooq.Table;
import org.jooq.TableRecord;
import org.jooq.VisitContext;
import org.jooq.VisitListener;
import org.jooq.VisitListenerProvider;
import org.jooq.impl.CustomQueryPart;
import org.jooq.impl.DSL;

/**
 * Prepares queries for {@link PreparedQuery}: renders a jOOQ query once with the database's configuration and
 * cuts the SQL around each bind, found by markers a {@link VisitListener} puts around each parameter's text.
 */
final class Preparing {

    /** SQL with {@code :named} parameters: parsed once. */
    static PreparedQuery<Record> sql(Database database, String sql) {
        Objects.requireNonNull(sql, "sql == null");
        return new PreparedQuery<>(new PreparedQuery.NamedSqlQuery(database, sql, NamedSql.parse(sql, database.backend().namedParameters())));
    }

    /**
     * A typed query: rendered once, with every parameter's text between two comment markers unique to this
     * preparation, so that the SQL can be cut around the binds wherever jOOQ puts their text (an implicit join
     * path, for example, is inserted into the {@code FROM} clause after the {@code WHERE} clause's binds were
     * rendered). Without the markers the SQL must be exactly what jOOQ renders for the query; it is refused
     * otherwise.
     */
    static <R extends Record> PreparedQuery<R> typed(Database database, ResultQuery<R> query) {
        Objects.requireNonNull(query, "query == null");
        Table<R> table = tableOf(query);
        Field<?>[] read = readFields(query);
        if (table != null && returnsRows(query)) {
            // A run maps the columns to the table's record by position (coerce(table)), as jOOQ does for a select
            // of a table; RETURNING maps them by name. Only the table's own order reads the same both ways (review
            // of DirectRows: returning(ID, EMAIL, NAME, ...) swapped the name and the email, also when coerced to
            // the table, whose fields() then answer the table's order whatever the statement returns).
            Field<?>[] returned = returned(query, table);
            if (returned == null || !inTableOrder(returned, table) || !inTableOrder(query.fields(), table)) {
                throw new IllegalArgumentException("cannot prepare this query: it returns "
                        + (returned == null ? "columns it does not list" : names(returned)) + ", not every column of "
                        + table.getName() + " in the table's order " + names(table.fields())
                        + "; use returning() for all of them, returningResult(...) for some, or run it unprepared");
            }
        }
        Field<?>[] fields = table != null ? null : read != null ? read : query.fields();
        if (fields != null && database.dialect().family() != org.jooq.SQLDialect.POSTGRES && nestedRecord(fields)) {
            // MariaDB/MySQL get a nested record as flattened columns, which only jOOQ's execution of the original
            // query reads back: a prepared run read it as a record of nulls (review of issue 17).
            throw new IllegalArgumentException("cannot prepare this query: it selects a nested record (row(...) or a"
                    + " table as a field), which " + database.dialect().family() + " receives as flattened columns"
                    + " that only the unprepared query reads back; run it unprepared");
        }
        Configuration base = database.callDsl().configuration();
        String sql = DSL.using(base).render(query);
        Marking marking = new Marking("sqlservice" + Long.toHexString(ThreadLocalRandom.current().nextLong() | 1L << 63));
        VisitListenerProvider[] listeners = Arrays.copyOf(base.visitListenerProviders(), base.visitListenerProviders().length + 1);
        listeners[listeners.length - 1] = () -> marking;
        String marked = DSL.using(base.derive(listeners)).render(query);

        Map<String, Class<?>> types = new LinkedHashMap<>();
        List<String> texts = new ArrayList<>();
        List<Integer> slotNames = new ArrayList<>();
        List<DataType<?>> slotTypes = new ArrayList<>();
        List<Object> constants = new ArrayList<>();
        List<Boolean> bare = new ArrayList<>();
        Map<String, Object> sample = new java.util.HashMap<>();
        StringBuilder text = new StringBuilder();
        int at = 0;
        while (true) {
            int open = marked.indexOf(marking.prefix, at);
            if (open < 0) {
                break;
            }
            int idEnd = marked.indexOf(Marking.OPEN_END, open);
            int n = Integer.parseInt(marked.substring(open + marking.prefix.length(), idEnd));
            String close = marking.close(n);
            int closeAt = marked.indexOf(close, idEnd);
            if (closeAt < 0) {
                throw new IllegalArgumentException("cannot prepare this query: a parameter's text was cut by the"
                        + " renderer; run it unprepared");
            }
            text.append(marked, at, open);
            at = closeAt + close.length();
            String inner = marked.substring(idEnd + Marking.OPEN_END.length(), closeAt);
            Param<?> param = marking.params.get(n);
            if (!marking.bound.get(n)) {
                if (param.getParamName() != null && !param.isInline()) {
                    throw new IllegalArgumentException("parameter :" + param.getParamName() + " is rendered inline"
                            + " (DSL.inline, or Settings.statementType STATIC_STATEMENT): a prepared query binds every"
                            + " parameter");
                }
                text.append(marking.strip(inner)); // a constant jOOQ renders inline stays as it is
                continue;
            }
            texts.add(text.toString());
            text.setLength(0);
            bare.add("?".equals(marking.strip(inner)));
            slotTypes.add(param.getDataType());
            String name = param.getParamName();
            if (name == null) {
                slotNames.add(-1);
                constants.add(copyOf(param.getValue()));
            } else {
                Class<?> type = param.getType();
                sample.putIfAbsent(name, param.getValue());
                Class<?> known = types.putIfAbsent(name, type);
                if (known != null && known != type) {
                    throw new IllegalArgumentException("parameter :" + name + " is used with two types, "
                            + known.getName() + " and " + type.getName());
                }
                slotNames.add(new ArrayList<>(types.keySet()).indexOf(name));
                constants.add(null);
            }
        }
        text.append(marked, at, marked.length());
        texts.add(text.toString());
        // What the markers cut must be what jOOQ sends for the query: the texts around '?' for each bind.
        int expected = DSL.using(base).extractBindValues(query).size();
        if (slotNames.size() != expected || !sql.equals(withBinds(texts, marking.bindTexts(marked)))) {
            throw new IllegalArgumentException("cannot prepare this query: its binds could not be located in the SQL"
                    + " jOOQ renders for it (" + slotNames.size() + " found, " + expected + " bound); run it unprepared");
        }
        for (Param<?> param : query.getParams().values()) {
            String name = param.getParamName();
            if (name != null && !types.containsKey(name)) {
                throw new IllegalArgumentException("parameter :" + name + " is rendered inline (DSL.inline, or"
                        + " Settings.statementType STATIC_STATEMENT): a prepared query binds every parameter");
            }
        }
        int n = slotNames.size();
        int[] slotNameArray = new int[n];
        for (int i = 0; i < n; i++) {
            slotNameArray[i] = slotNames.get(i);
        }
        Class<?>[] typeArray = types.values().toArray(Class<?>[]::new);
        boolean[] bareArray = new boolean[n];
        for (int i = 0; i < n; i++) {
            bareArray[i] = bare.get(i);
        }
        PreparedQuery.TypedQuery<R> template = new PreparedQuery.TypedQuery<>(database, sql, List.copyOf(types.keySet()),
                texts.toArray(String[]::new), bareArray, slotNameArray, slotTypes.toArray(DataType<?>[]::new),
                constants.toArray(), typeArray, table, fields, directFields(query, read, table));
        // A run renders each bind on its own, out of its place in the query: it must render the SQL checked above.
        Object[] values = new Object[typeArray.length];
        int k = 0;
        for (String name : types.keySet()) {
            values[k++] = sample.get(name);
        }
        if (!sql.equals(DSL.using(base).render(template.query(values)))) {
            throw new IllegalArgumentException("cannot prepare this query: jOOQ renders some of its binds by their place"
                    + " in the query in a way a prepared run cannot repeat; run it unprepared");
        }
        return new PreparedQuery<>(template);
    }

    /** The texts joined by the bind texts between them. */
    private static String withBinds(List<String> texts, List<String> binds) {
        if (binds.size() != texts.size() - 1) {
            return null;
        }
        StringBuilder sql = new StringBuilder(texts.get(0));
        for (int i = 0; i < binds.size(); i++) {
            sql.append(binds.get(i)).append(texts.get(i + 1));
        }
        return sql.toString();
    }

    /**
     * A value kept by a prepared query: arrays (a {@code byte[]} constant, an array bound for {@code = any(?)}),
     * lists and sets (bound for {@code in (:ids)}) and {@link java.util.Date}s ({@code java.sql.Timestamp}) are
     * copied, so that a caller changing theirs later changes
     * nothing here.
     */
    static Object copyOf(Object value) {
        if (value instanceof java.util.List<?> list) {
            return java.util.Collections.unmodifiableList(new ArrayList<>(list));
        }
        if (value instanceof java.util.Set<?> set) {
            return java.util.Collections.unmodifiableSet(new java.util.LinkedHashSet<>(set));
        }
        if (value instanceof java.util.Date date) { // java.sql.Timestamp, Date, Time: mutable
            return date.clone();
        }
        if (value == null || !value.getClass().isArray()) {
            return value;
        }
        int length = java.lang.reflect.Array.getLength(value);
        Object copy = java.lang.reflect.Array.newInstance(value.getClass().getComponentType(), length);
        System.arraycopy(value, 0, copy, 0, length);
        return copy;
    }

    /**
     * The fields a direct run reads its rows by ({@link PreparedQuery.TypedQuery#fetch}), by position as jOOQ's
     * execution reads them: the table's, for a query of a table's records (a query coerced to a table maps its
     * columns by position, whatever their names), otherwise the query's select list (as the unprepared query's
     * result has them). Null when the query cannot run directly: jOOQ learns its columns only from the result
     * (plain SQL), it is coerced to a table with another number of columns, or a column is itself a record, an
     * embeddable or a multiset (a backend may send those as several flattened columns, which only jOOQ's
     * execution reads back).
     */
    private static Field<?>[] directFields(ResultQuery<?> query, Field<?>[] selected, Table<?> table) {
        if (selected == null || selected.length == 0 || selected.length != query.fields().length) {
            return null;
        }
        if (nested(selected) || table != null && (nested(table.fields()) || table.fields().length != selected.length)) {
            return null;
        }
        return table != null ? table.fields() : selected;
    }

    /**
     * The columns an {@code INSERT}/{@code UPDATE}/{@code DELETE … RETURNING} sends back, in its order: the table's
     * for {@code returning()} and {@code returning(asterisk())}; null when they cannot be told (an expression that
     * is not a field). Only for jOOQ's DML queries ({@link #returnsRows}).
     */
    private static boolean returnsRows(ResultQuery<?> query) {
        return query instanceof org.jooq.impl.QOM.InsertReturning<?> || query instanceof org.jooq.impl.QOM.UpdateReturning<?>
                || query instanceof org.jooq.impl.QOM.DeleteReturning<?>;
    }

    private static Field<?>[] returned(ResultQuery<?> query, Table<?> table) {
        List<? extends org.jooq.SelectFieldOrAsterisk> returning =
                query instanceof org.jooq.impl.QOM.InsertReturning<?> insert ? insert.$returning()
                : query instanceof org.jooq.impl.QOM.UpdateReturning<?> update ? update.$returning()
                : query instanceof org.jooq.impl.QOM.DeleteReturning<?> delete ? delete.$returning()
                : null;
        if (returning == null) {
            return null;
        }
        if (returning.isEmpty() || returning.size() == 1 && (returning.getFirst() instanceof org.jooq.Asterisk
                || returning.getFirst() instanceof org.jooq.QualifiedAsterisk star
                        && star.$table().getName().equals(table.getName()))) {
            return table.fields();
        }
        Field<?>[] fields = new Field<?>[returning.size()];
        for (int i = 0; i < fields.length; i++) {
            if (!(returning.get(i) instanceof Field<?> field)) {
                return null;
            }
            fields[i] = field;
        }
        return fields;
    }

    private static String names(Field<?>[] fields) {
        return Arrays.stream(fields).map(Field::getName).collect(java.util.stream.Collectors.joining(", ", "(", ")"));
    }

    /** Whether {@code fields} are the table's columns, every one, in the table's order (by name). */
    private static boolean inTableOrder(Field<?>[] fields, Table<?> table) {
        Field<?>[] columns = table.fields();
        if (fields.length != columns.length) {
            return false;
        }
        for (int i = 0; i < fields.length; i++) {
            if (!fields[i].getName().equals(columns[i].getName())) {
                return false;
            }
        }
        return true;
    }

    /**
     * The fields jOOQ's execution reads a select's rows with: the fields it is coerced to ({@code coerce(fields)}:
     * their names, types and converters), otherwise its select list, unaliased (where {@code fields()} answers
     * with an alias of its own, and knows nothing of a coerce). jOOQ offers them only through {@code getFields()}, a
     * public method of its non-public select classes, reached reflectively; null when it cannot be reached (then a
     * prepared query reads by {@code fields()} and never runs directly). Other queries: their {@code fields()}.
     */
    static Field<?>[] readFields(ResultQuery<?> query) {
        if (!(query instanceof Select<?>)) {
            // INSERT/UPDATE/DELETE … RETURNING, plain SQL: their fields() are what jOOQ reads them with (none
            // for plain SQL, which therefore never runs directly)
            return query.fields();
        }
        try {
            java.lang.reflect.Method getFields = query.getClass().getMethod("getFields");
            getFields.setAccessible(true);
            return getFields.invoke(query) instanceof Field<?>[] fields ? fields.clone() : null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    private static boolean nestedRecord(Field<?>[] fields) {
        for (Field<?> field : fields) {
            DataType<?> type = field.getDataType();
            if (type.isRecord() && !type.isMultiset()) {
                return true;
            }
        }
        return false;
    }

    private static boolean nested(Field<?>[] fields) {
        for (Field<?> field : fields) {
            DataType<?> type = field.getDataType();
            if (type.isRecord() || type.isEmbeddable() || type.isMultiset() || type.isUDT()
                    || Record.class.isAssignableFrom(type.getType())) {
                return true;
            }
        }
        return false;
    }

    /** The table whose records a query returns ({@code selectFrom(T)}), or null for other records. */
    @SuppressWarnings("unchecked")
    private static <R extends Record> Table<R> tableOf(ResultQuery<R> query) {
        Class<? extends R> type = query.getRecordType();
        if (!TableRecord.class.isAssignableFrom(type)) {
            return null;
        }
        if (query instanceof Select<?> select) {
            for (Table<?> t : select.$from()) {
                if (t.getRecordType() == type) {
                    return (Table<R>) t;
                }
            }
        }
        try {
            return (Table<R>) ((TableRecord<?>) type.getDeclaredConstructor().newInstance()).getTable();
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalArgumentException("cannot prepare a query returning " + type.getName()
                    + ": its table is not known", e);
        }
    }

    /**
     * Wraps the text of every parameter jOOQ renders in {@code /*<nonce>:<n>[* /} ... {@code /*<nonce>:<n>]* /}
     * and notes whether that occurrence took a bind index (was bound, not inlined).
     */
    private static final class Marking implements VisitListener {
        static final String OPEN_END = "[*/";
        final String prefix;
        final List<Param<?>> params = new ArrayList<>();
        final BitSet bound = new BitSet();
        private Param<?> inside;

        Marking(String nonce) {
            this.prefix = "/*" + nonce + ":";
        }

        String close(int n) {
            return prefix + n + "]*/";
        }

        /** {@code text} without the markers of parameters rendered inside it (a parameter's own rendering). */
        String strip(String text) {
            return text.replaceAll(java.util.regex.Pattern.quote(prefix) + "[0-9]+[\\[\\]]\\*/", "");
        }

        /** The text of each bound parameter in {@code marked}, in order. */
        List<String> bindTexts(String marked) {
            List<String> texts = new ArrayList<>();
            int at = 0;
            while (true) {
                int open = marked.indexOf(prefix, at);
                if (open < 0) {
                    return texts;
                }
                int idEnd = marked.indexOf(OPEN_END, open);
                int n = Integer.parseInt(marked.substring(open + prefix.length(), idEnd));
                int closeAt = marked.indexOf(close(n), idEnd);
                if (closeAt < 0) {
                    return texts;
                }
                if (bound.get(n)) {
                    texts.add(strip(marked.substring(idEnd + OPEN_END.length(), closeAt)));
                }
                at = closeAt + close(n).length();
            }
        }

        @Override
        public void visitStart(VisitContext context) {
            if (context.renderContext() == null || !(context.queryPart() instanceof Param<?> param) || param == inside) {
                return;
            }
            int n = params.size();
            params.add(param);
            context.queryPart(CustomQueryPart.of(ctx -> {
                Param<?> outer = inside;
                inside = param;
                try {
                    ctx.sql(prefix + n + OPEN_END);
                    int before = ctx.peekIndex();
                    ctx.visit(param);
                    if (ctx.peekIndex() == before + 1) {
                        bound.set(n);
                    }
                    ctx.sql(close(n));
                } finally {
                    inside = outer;
                }
            }));
        }
    }

    private Preparing() {}
}
