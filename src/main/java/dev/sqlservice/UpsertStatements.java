package dev.sqlservice;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import org.jooq.Converter;
import org.jooq.DSLContext;
import org.jooq.DataType;
import org.jooq.EnumType;
import org.jooq.Field;
import org.jooq.JSON;
import org.jooq.JSONB;
import org.jooq.Record;
import org.jooq.RowN;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.TableField;
import org.jooq.UpdatableRecord;
import org.jooq.impl.DSL;

/**
 * The SQL of one upsert chunk, per dialect.
 *
 * <p>PostgreSQL: the whole chunk is one bind value, a JSON array of rows, turned back into typed rows by
 * {@code json_populate_recordset(null::table, ?)}, so the table's own column types parse every value (enums,
 * jsonb, timestamps) and the statement has one bind whatever the chunk size:
 *
 * <pre>
 * insert into users as t (id, name, email)
 * select v.id, v.name, v.email from json_populate_recordset(cast(null as users), cast(? as json)) v order by v.id
 * on conflict (id) do update set name = excluded.name, email = excluded.email
 * returning t.id, t.name, t.email, t.created_at
 * </pre>
 *
 * <p>A record that leaves a NOT NULL column without default unset cannot be inserted, yet must still update an
 * existing row: PostgreSQL checks NOT NULL on the proposed row before it looks for a conflict. For those chunks
 * the proposed row takes such columns from the stored row ({@code left join users e on e.id = v.id}); the
 * update still sets only the changed columns, and a row that does not exist fails with the NOT NULL violation
 * it deserves.
 */
abstract sealed class UpsertStatements {

    static UpsertStatements forDialect(SQLDialect dialect) {
        switch (dialect.family()) {
            case POSTGRES:
                return Postgres.INSTANCE;
            case MARIADB:
                return MariaDb.MARIADB;
            case MYSQL:
                return MariaDb.MYSQL;
            default:
                break;
        }
        throw new UnsupportedOperationException("save and saveAll do not support " + dialect + " yet");
    }

    abstract int rowsPerStatement(Upserts.Group<?> group);

    /** Writes the rows and returns the stored rows the statement reports back (possibly not all of them). */
    abstract <R extends UpdatableRecord<?>> List<? extends Record> upsert(DSLContext dsl, Upserts.Group<R> group, List<R> rows);

    /** Reads the stored rows with these primary keys. */
    List<? extends Record> select(DSLContext dsl, Table<?> table, List<TableField<?, ?>> key, Collection<?> keys) {
        List<RowN> rows = new ArrayList<>(keys.size());
        for (Object value : keys) {
            rows.add(DSL.row(value instanceof Upserts.CompositeKey composite ? composite.values() : new Object[] {value}));
        }
        return dsl.selectFrom(table).where(DSL.row(key.toArray(Field<?>[]::new)).in(rows)).fetch();
    }

    static final class Postgres extends UpsertStatements {
        static final Postgres INSTANCE = new Postgres();

        @Override
        int rowsPerStatement(Upserts.Group<?> group) {
            return 10_000;
        }

        @Override
        <R extends UpdatableRecord<?>> List<? extends Record> upsert(DSLContext dsl, Upserts.Group<R> group, List<R> rows) {
            Table<?> table = group.table();
            Field<?>[] fields = table.fields();
            BitSet columns = group.columns();
            List<TableField<?, ?>> key = Upserts.primaryKeyFields(table);
            BitSet borrowed = group.generatedKey() ? new BitSet() : requiredButUnset(fields, columns);

            String t = dsl.render(DSL.name(table.getQualifiedName().getName()));
            StringBuilder sql = new StringBuilder(256).append("insert into ").append(t).append(" as t (");
            StringBuilder select = new StringBuilder(128);
            StringBuilder update = new StringBuilder(128);
            boolean first = true;
            for (int i = 0; i < fields.length; i++) {
                if (!columns.get(i) && !borrowed.get(i)) {
                    continue;
                }
                String column = name(dsl, fields[i]);
                sql.append(first ? "" : ", ").append(column);
                select.append(first ? "" : ", ").append(selectExpression(dsl, fields[i], borrowed.get(i) ? "e" : "v"));
                if (columns.get(i) && !key.contains(fields[i])) {
                    update.append(update.isEmpty() ? "" : ", ").append(column).append(" = excluded.").append(column);
                }
                first = false;
            }
            sql.append(") select ").append(select)
                    .append(" from json_populate_recordset(cast(null as ").append(t).append("), cast(? as json))");
            if (group.generatedKey()) {
                sql.append(" with ordinality as v order by v.ordinality");
            } else {
                sql.append(" as v");
                if (!borrowed.isEmpty()) {
                    sql.append(" left join ").append(t).append(" as e on ").append(joinOnKey(dsl, key));
                }
                sql.append(" order by ").append(keyList(dsl, key, "v."));
                sql.append(" on conflict (").append(keyList(dsl, key, "")).append(") do ")
                        .append(update.isEmpty() ? "nothing" : "update set " + update);
            }
            sql.append(" returning ");
            for (int i = 0; i < fields.length; i++) {
                sql.append(i == 0 ? "t." : ", t.").append(name(dsl, fields[i]));
            }
            return dsl.resultQuery(sql.toString(), json(rows, fields, columns)).coerce(table).fetch();
        }

        private static String selectExpression(DSLContext dsl, Field<?> field, String alias) {
            String column = alias + "." + name(dsl, field);
            Class<?> type = field.getDataType().getType();
            // JSON values travel as JSON strings and are parsed here, so a malformed value fails instead of
            // smuggling keys into the row object.
            if (alias.equals("v") && (type == JSONB.class || type == JSON.class)) {
                return "cast(" + column + " #>> '{}' as " + (type == JSONB.class ? "jsonb" : "json") + ")";
            }
            return column;
        }

        private static String joinOnKey(DSLContext dsl, List<TableField<?, ?>> key) {
            StringBuilder on = new StringBuilder();
            for (TableField<?, ?> field : key) {
                String column = name(dsl, field);
                on.append(on.isEmpty() ? "" : " and ").append("e.").append(column).append(" = v.").append(column);
            }
            return on.toString();
        }

        private static String keyList(DSLContext dsl, List<TableField<?, ?>> key, String prefix) {
            StringBuilder list = new StringBuilder();
            for (TableField<?, ?> field : key) {
                list.append(list.isEmpty() ? "" : ", ").append(prefix).append(name(dsl, field));
            }
            return list.toString();
        }

        @SuppressWarnings("unchecked")
        private static String json(List<? extends Record> rows, Field<?>[] fields, BitSet columns) {
            int[] written = columns.stream().toArray();
            String[] keys = new String[written.length];
            List<Converter<Object, Object>> converters = new ArrayList<>(written.length);
            for (int c = 0; c < written.length; c++) {
                Field<?> field = fields[written[c]];
                keys[c] = quote(new StringBuilder(), field.getName()).append(':').toString();
                converters.add((Converter<Object, Object>) field.getConverter());
            }
            StringBuilder json = new StringBuilder(rows.size() * 24 * Math.max(1, written.length));
            json.append('[');
            for (int r = 0; r < rows.size(); r++) {
                Record row = rows.get(r);
                json.append(r == 0 ? "{" : ",{");
                for (int c = 0; c < written.length; c++) {
                    if (c > 0) {
                        json.append(',');
                    }
                    json.append(keys[c]);
                    Object value = row.get(written[c]);
                    value(json, value == null ? null : converters.get(c).to(value));
                }
                json.append('}');
            }
            return json.append(']').toString();
        }

        private static void value(StringBuilder json, Object value) {
            // The most common types first: a type switch tests its cases in order. Primitives are appended
            // unboxed (append(Object) would make a String of each).
            switch (value) {
                case null -> json.append("null");
                case String text -> quote(json, text);
                case Long n -> json.append(n.longValue());
                case Integer n -> json.append(n.intValue());
                case java.math.BigDecimal n -> json.append(n.toPlainString());
                case java.time.OffsetDateTime t -> quote(json, PostgresTimes.format(t));
                case Boolean b -> json.append(b.booleanValue());
                case Short n -> json.append(n.intValue());
                case Byte n -> json.append(n.intValue());
                case java.math.BigInteger n -> json.append(n);
                case Double d when Double.isFinite(d) -> json.append(d);
                case Float f when Float.isFinite(f) -> json.append(f);
                case JSONB j -> quote(json, j.data());
                case JSON j -> quote(json, j.data());
                case EnumType e -> quote(json, e.getLiteral());
                case byte[] bytes -> quote(json, "\\x" + HexFormat.of().formatHex(bytes));
                case java.time.LocalDateTime t -> quote(json, PostgresTimes.format(t));
                case java.time.LocalDate d -> quote(json, PostgresTimes.format(d));
                case Object[] array -> {
                    json.append('[');
                    for (int i = 0; i < array.length; i++) {
                        if (i > 0) {
                            json.append(',');
                        }
                        value(json, array[i]);
                    }
                    json.append(']');
                }
                default -> quote(json, value.toString());
            }
        }

        private static StringBuilder quote(StringBuilder json, String s) {
            json.append('"');
            int plain = 0;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
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
            return json.append(s, plain, s.length()).append('"');
        }

        private static final char[] HEX = "0123456789abcdef".toCharArray();
    }

    /**
     * MariaDB and MySQL: {@code INSERT … ON DUPLICATE KEY UPDATE}, which fires on <em>any</em> unique key. So the
     * first assignment guards the primary key: when the row found is not the row with our primary key (another
     * unique key matched), it evaluates a subquery returning two rows, an error in every SQL mode, before the row
     * changes; that error is reported as an integrity constraint violation (SQLState 23000). (Assigning NULL
     * instead is silently turned into 0 for AUTO_INCREMENT keys.) The statement runs in strict mode (MariaDB's
     * {@code SET STATEMENT}; MySQL's default), so a missing NOT NULL value fails instead of becoming ''.
     * Stored rows are read back by primary key afterwards; generated keys come from {@code RETURNING} (MariaDB)
     * or, on MySQL, from one insert per record.
     */
    static final class MariaDb extends UpsertStatements {
        static final MariaDb MARIADB = new MariaDb(false);
        static final MariaDb MYSQL = new MariaDb(true);
        private static final int MAX_BINDS = 30_000;
        /** "Subquery returns more than 1 row": raised by the guard alone, the statement has no other subquery. */
        private static final int GUARD_ERROR = 1242;

        private final boolean mysql;

        private MariaDb(boolean mysql) {
            this.mysql = mysql;
        }

        @Override
        int rowsPerStatement(Upserts.Group<?> group) {
            return Math.max(1, Math.min(1_000, MAX_BINDS / Math.max(1, group.columns().cardinality())));
        }

        @Override
        <R extends UpdatableRecord<?>> List<? extends Record> upsert(DSLContext dsl, Upserts.Group<R> group, List<R> rows) {
            Table<?> table = group.table();
            Field<?>[] fields = table.fields();
            BitSet columns = group.columns();
            if (group.generatedKey() && mysql) {
                List<Record> stored = new ArrayList<>(rows.size());
                for (R row : rows) {
                    stored.add(insertReturning(dsl, table, fields, columns, row));
                }
                return stored;
            }
            List<TableField<?, ?>> key = Upserts.primaryKeyFields(table);
            BitSet borrowed = group.generatedKey() ? new BitSet() : requiredButUnset(fields, columns);
            String t = dsl.render(DSL.name(table.getQualifiedName().getName()));
            List<Object> sql = new ArrayList<>();
            StringBuilder text = new StringBuilder(mysql ? "" : "set statement sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION' for ");
            text.append("insert into ").append(t).append(" (");
            boolean first = true;
            for (int i = 0; i < fields.length; i++) {
                if (columns.get(i) || borrowed.get(i)) {
                    text.append(first ? "" : ", ").append(name(dsl, fields[i]));
                    first = false;
                }
            }
            text.append(borrowed.isEmpty() ? ") values " : ") select ");
            if (borrowed.isEmpty()) {
                for (int r = 0; r < rows.size(); r++) {
                    text.append(r == 0 ? "(" : ", (");
                    appendValues(dsl, text, sql, fields, columns, rows.get(r), false);
                    text.append(')');
                }
            } else {
                first = true;
                for (int i = 0; i < fields.length; i++) {
                    if (columns.get(i) || borrowed.get(i)) {
                        text.append(first ? "" : ", ").append(borrowed.get(i) ? "e." : "v.").append(name(dsl, fields[i]));
                        first = false;
                    }
                }
                text.append(" from (");
                for (int r = 0; r < rows.size(); r++) {
                    text.append(r == 0 ? "select " : " union all select ");
                    appendValues(dsl, text, sql, fields, columns, rows.get(r), r == 0);
                }
                text.append(") as v left join ").append(t).append(" as e on ");
                for (int k = 0; k < key.size(); k++) {
                    String column = name(dsl, key.get(k));
                    text.append(k == 0 ? "" : " and ").append("e.").append(column).append(" = v.").append(column);
                }
                text.append(" order by ");
                for (int k = 0; k < key.size(); k++) {
                    text.append(k == 0 ? "v." : ", v.").append(name(dsl, key.get(k)));
                }
            }
            if (group.generatedKey()) {
                text.append(" returning ");
                for (int i = 0; i < fields.length; i++) {
                    text.append(i == 0 ? "" : ", ").append(name(dsl, fields[i]));
                }
                sql.add(text.toString());
                return dsl.resultQuery("{0}", part(sql)).coerce(table).fetch();
            }
            text.append(" on duplicate key update ");
            String firstKey = t + "." + name(dsl, key.getFirst());
            text.append(firstKey).append(" = if(");
            for (int k = 0; k < key.size(); k++) {
                String column = name(dsl, key.get(k));
                text.append(k == 0 ? "" : " and ").append(t).append('.').append(column).append(" <=> values(").append(column).append(')');
            }
            text.append(", ").append(firstKey).append(", (select 1 union select 2))");
            for (int i = 0; i < fields.length; i++) {
                if (columns.get(i) && !key.contains(fields[i])) {
                    String column = name(dsl, fields[i]);
                    text.append(", ").append(t).append('.').append(column).append(" = values(").append(column).append(')');
                }
            }
            sql.add(text.toString());
            try {
                dsl.query("{0}", part(sql)).execute();
            } catch (org.jooq.exception.DataAccessException e) {
                if (e.getCause() instanceof java.sql.SQLException cause && cause.getErrorCode() == GUARD_ERROR) {
                    String message = "a record of " + table.getName() + " has the same value as another row in a unique"
                            + " key other than the primary key; no row was changed";
                    throw new org.jooq.exception.IntegrityConstraintViolationException(message,
                            new java.sql.SQLIntegrityConstraintViolationException(message, "23000", 1062, cause));
                }
                throw e;
            }
            return List.of();
        }

        /** Appends one row's placeholders and collects its binds, typed by the field (converters applied). */
        private static void appendValues(DSLContext dsl, StringBuilder text, List<Object> sql, Field<?>[] fields,
                BitSet columns, Record row, boolean named) {
            boolean first = true;
            for (int i = 0; i < fields.length; i++) {
                if (!columns.get(i)) {
                    continue;
                }
                text.append(first ? "" : ", ");
                sql.add(text.toString());
                text.setLength(0);
                sql.add(bind(fields[i], row.get(i)));
                if (named) {
                    text.append(" as ").append(name(dsl, fields[i]));
                }
                first = false;
            }
        }

        @SuppressWarnings("unchecked")
        private static org.jooq.Param<?> bind(Field<?> field, Object value) {
            return DSL.val(value, (Field<Object>) field);
        }

        private static org.jooq.QueryPart part(List<Object> pieces) {
            return org.jooq.impl.CustomQueryPart.of(ctx -> {
                for (Object piece : pieces) {
                    if (piece instanceof String text) {
                        ctx.sql(text);
                    } else {
                        ctx.visit((org.jooq.QueryPart) piece);
                    }
                }
            });
        }

        @SuppressWarnings("unchecked")
        private static Record insertReturning(DSLContext dsl, Table<?> table, Field<?>[] fields, BitSet columns, Record row) {
            var insert = dsl.insertInto((Table<Record>) table);
            org.jooq.InsertSetMoreStep<Record> set = null;
            for (int i = 0; i < fields.length; i++) {
                if (columns.get(i)) {
                    set = set == null ? insert.set((Field<Object>) fields[i], row.get(i)) : set.set((Field<Object>) fields[i], row.get(i));
                }
            }
            return (set == null ? insert.defaultValues() : set).returning(fields).fetchOne();
        }
    }

    /** NOT NULL columns without default that a chunk does not set: the proposed row takes them from the stored row. */
    static BitSet requiredButUnset(Field<?>[] fields, BitSet columns) {
        BitSet required = new BitSet();
        for (int i = 0; i < fields.length; i++) {
            DataType<?> type = fields[i].getDataType();
            if (!columns.get(i) && !type.nullable() && !type.defaulted() && !type.identity()) {
                required.set(i);
            }
        }
        return required;
    }

    private static String name(DSLContext dsl, Field<?> field) {
        return dsl.render(DSL.name(field.getName()));
    }
}
