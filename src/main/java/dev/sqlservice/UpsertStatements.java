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
        if (dialect.family() == SQLDialect.POSTGRES) {
            return Postgres.INSTANCE;
        }
        throw new UnsupportedOperationException("save and saveAll do not support " + dialect + " yet");
    }

    abstract int rowsPerStatement(Upserts.Group<?> group);

    /** Writes the rows and returns the stored rows the statement reports back (possibly not all of them). */
    abstract <R extends UpdatableRecord<?>> List<? extends Record> upsert(DSLContext dsl, Upserts.Group<R> group, List<R> rows);

    /** Reads the stored rows with these primary keys. */
    List<? extends Record> select(DSLContext dsl, Table<?> table, List<TableField<?, ?>> key,
            Collection<List<Object>> keys) {
        List<RowN> rows = new ArrayList<>(keys.size());
        for (List<Object> values : keys) {
            rows.add(DSL.row(values.toArray()));
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

        /** NOT NULL columns without default that this chunk does not set: taken from the stored row. */
        private static BitSet requiredButUnset(Field<?>[] fields, BitSet columns) {
            BitSet required = new BitSet();
            for (int i = 0; i < fields.length; i++) {
                DataType<?> type = fields[i].getDataType();
                if (!columns.get(i) && !type.nullable() && !type.defaulted() && !type.identity()) {
                    required.set(i);
                }
            }
            return required;
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

        private static String json(List<? extends Record> rows, Field<?>[] fields, BitSet columns) {
            StringBuilder json = new StringBuilder(rows.size() * 16 * Math.max(1, columns.cardinality()));
            json.append('[');
            String[] keys = new String[fields.length];
            for (int i = 0; i < fields.length; i++) {
                keys[i] = columns.get(i) ? quote(new StringBuilder(), fields[i].getName()).append(':').toString() : null;
            }
            for (int r = 0; r < rows.size(); r++) {
                Record row = rows.get(r);
                json.append(r == 0 ? "{" : ",{");
                boolean first = true;
                for (int i = 0; i < fields.length; i++) {
                    if (keys[i] != null) {
                        json.append(first ? "" : ",").append(keys[i]);
                        value(json, databaseValue(fields[i], row.get(i)));
                        first = false;
                    }
                }
                json.append('}');
            }
            return json.append(']').toString();
        }

        @SuppressWarnings("unchecked")
        private static Object databaseValue(Field<?> field, Object value) {
            return value == null ? null : ((Converter<Object, Object>) field.getConverter()).to(value);
        }

        private static void value(StringBuilder json, Object value) {
            switch (value) {
                case null -> json.append("null");
                case Boolean b -> json.append(b);
                case Integer n -> json.append(n);
                case Long n -> json.append(n);
                case Short n -> json.append(n);
                case Byte n -> json.append(n);
                case java.math.BigInteger n -> json.append(n);
                case java.math.BigDecimal n -> json.append(n.toPlainString());
                case Double d when Double.isFinite(d) -> json.append(d);
                case Float f when Float.isFinite(f) -> json.append(f);
                case JSONB j -> quote(json, j.data());
                case JSON j -> quote(json, j.data());
                case EnumType e -> quote(json, e.getLiteral());
                case byte[] bytes -> quote(json, "\\x" + HexFormat.of().formatHex(bytes));
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
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> json.append("\\\"");
                    case '\\' -> json.append("\\\\");
                    case '\n' -> json.append("\\n");
                    case '\r' -> json.append("\\r");
                    case '\t' -> json.append("\\t");
                    default -> {
                        if (c < 0x20) {
                            json.append(String.format("\\u%04x", (int) c));
                        } else {
                            json.append(c);
                        }
                    }
                }
            }
            return json.append('"');
        }
    }

    private static String name(DSLContext dsl, Field<?> field) {
        return dsl.render(DSL.name(field.getName()));
    }
}
