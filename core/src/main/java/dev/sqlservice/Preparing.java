package dev.sqlservice;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jooq.Configuration;
import org.jooq.DataType;
import org.jooq.Field;
import org.jooq.Param;
import org.jooq.QueryPart;
import org.jooq.Record;
import org.jooq.RenderContext;
import org.jooq.ResultQuery;
import org.jooq.Select;
import org.jooq.Table;
import org.jooq.TableRecord;
import org.jooq.VisitContext;
import org.jooq.VisitListener;
import org.jooq.impl.DSL;

/**
 * Prepares queries for {@link PreparedQuery}: renders a jOOQ query once with the database's configuration and
 * cuts the SQL around each bind, seen as it is rendered (a {@link VisitListener} notes where each bind
 * parameter's text starts and ends, and the bind index it took).
 */
final class Preparing {

    /** SQL with {@code :named} parameters: parsed once. */
    static PreparedQuery<Record> sql(Database database, String sql) {
        Objects.requireNonNull(sql, "sql == null");
        return new PreparedQuery<>(new PreparedQuery.NamedSqlQuery(database, sql, NamedSql.parse(sql, database.backend().namedParameters())));
    }

    /** A typed query: rendered once. */
    static <R extends Record> PreparedQuery<R> typed(Database database, ResultQuery<R> query) {
        Objects.requireNonNull(query, "query == null");
        Table<R> table = tableOf(query);
        Field<?>[] fields = table == null ? query.fields() : null;
        Capture capture = new Capture();
        Configuration configuration = database.callDsl().configuration().derive(() -> capture);
        String sql = DSL.using(configuration).render(query);
        if (capture.binds.size() != DSL.using(configuration).extractBindValues(query).size()) {
            throw new IllegalArgumentException("cannot prepare this query: its binds were not all rendered in one pass"
                    + " (" + capture.binds.size() + " seen, " + DSL.using(configuration).extractBindValues(query).size()
                    + " bound)");
        }
        Map<String, Class<?>> types = new LinkedHashMap<>();
        int n = capture.binds.size();
        String[] texts = new String[n + 1];
        int[] slotNames = new int[n];
        DataType<?>[] slotTypes = new DataType<?>[n];
        Object[] constants = new Object[n];
        int at = 0;
        for (int i = 0; i < n; i++) {
            Bind bind = capture.binds.get(i);
            if (bind.start < at || bind.end > sql.length() || bind.start > bind.end) {
                throw new IllegalArgumentException("cannot prepare this query: its binds were not rendered in order");
            }
            texts[i] = sql.substring(at, bind.start);
            at = bind.end;
            Param<?> param = bind.param;
            slotTypes[i] = param.getDataType();
            String name = param.getParamName();
            if (name == null) {
                slotNames[i] = -1;
                constants[i] = param.getValue();
            } else {
                Class<?> type = param.getType();
                Class<?> known = types.putIfAbsent(name, type);
                if (known != null && known != type) {
                    throw new IllegalArgumentException("parameter :" + name + " is used with two types, "
                            + known.getName() + " and " + type.getName());
                }
                slotNames[i] = new ArrayList<>(types.keySet()).indexOf(name);
            }
        }
        texts[n] = sql.substring(at);
        for (Param<?> param : query.getParams().values()) {
            String name = param.getParamName();
            if (name != null && !types.containsKey(name)) {
                throw new IllegalArgumentException("parameter :" + name + " is rendered inline (DSL.inline, or"
                        + " Settings.statementType STATIC_STATEMENT): a prepared query binds every parameter");
            }
        }
        Class<?>[] typeArray = types.values().toArray(Class<?>[]::new);
        return new PreparedQuery<>(new PreparedQuery.TypedQuery<>(database, sql, List.copyOf(types.keySet()), texts,
                slotNames, slotTypes, constants, typeArray, table, fields));
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

    private record Bind(Param<?> param, int start, int end) {}

    /** Notes where each bind's text is, in the render context of the whole query. */
    private static final class Capture implements VisitListener {
        final List<Bind> binds = new ArrayList<>();
        private RenderContext root;
        private final ArrayList<int[]> open = new ArrayList<>();

        @Override
        public void visitStart(VisitContext context) {
            RenderContext render = context.renderContext();
            if (render == null) {
                return;
            }
            if (root == null) {
                root = render;
            }
            if (render == root && context.queryPart() instanceof Param<?>) {
                open.add(new int[] {render.render().length(), render.peekIndex()});
            }
        }

        @Override
        public void visitEnd(VisitContext context) {
            RenderContext render = context.renderContext();
            QueryPart part = context.queryPart();
            if (render == null || render != root || !(part instanceof Param<?> param) || open.isEmpty()) {
                return;
            }
            int[] start = open.removeLast();
            if (render.peekIndex() == start[1] + 1) {
                binds.add(new Bind(param, start[0], render.render().length()));
            }
        }
    }

    private Preparing() {}
}
