package dev.sqlservice;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import org.jooq.ConnectionProvider;
import org.jooq.Converter;
import org.jooq.DSLContext;
import org.jooq.DataType;
import org.jooq.EnumType;
import org.jooq.Field;
import org.jooq.JSON;
import org.jooq.JSONB;
import org.jooq.QueryPart;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.TableField;
import org.jooq.UpdatableRecord;
import org.jooq.impl.CustomQueryPart;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/**
 * The SQL of one upsert statement, per dialect.
 *
 * <p>Every table and column reference is a jOOQ {@link QueryPart} (the {@link Table}, the fields' names) rendered
 * by the executing context, never a name pasted into a string, so every {@code Settings} option applies as to
 * any jOOQ query: {@code RenderMapping} (another schema or table name), {@code RenderQuotedNames},
 * {@code RenderNameCase}, {@code StatementType}.
 *
 * <p>PostgreSQL: the rows of a statement are one bind value, a JSON array, turned back into typed rows by
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
 * <p>A record that leaves a NOT NULL column without default unset cannot be inserted, yet must still update an
 * existing row: PostgreSQL checks NOT NULL on the proposed row before it looks for a conflict. For those
 * statements the proposed row takes such columns from the stored row ({@code left join users e on e.id = v.id});
 * the update still sets only the changed columns, and a row that does not exist fails with the NOT NULL violation
 * it deserves.
 *
 * <p>Columns the database computes ({@code GENERATED ALWAYS AS (…)}) are never written: jOOQ's open-source code
 * generator does not mark them, so they are read from the catalog, once per {@link Database} and table. Identity
 * values given explicitly are written with {@code OVERRIDING SYSTEM VALUE}, which {@code GENERATED ALWAYS}
 * identities require (and {@code BY DEFAULT} ones ignore).
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

    /** What one statement did: how many of the rows it was given it wrote, and the stored rows it reported back. */
    record Written(int rows, List<? extends Record> stored) {}

    /**
     * Writes a first part of {@code rows} (at least one row, as many as one statement may carry) and returns how
     * many, with the stored rows the statement reports back (possibly not all of them).
     */
    abstract <R extends UpdatableRecord<?>> Written upsert(DSLContext dsl, Upserts.Group<R> group, List<R> rows);

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
     * A statement as SQL text and jOOQ query parts (tables, names, binds), rendered by the executing context. The
     * text is SQL keywords and aliases only, never a value or a name.
     */
    static final class Sql {
        private final List<Object> pieces = new ArrayList<>();
        private final StringBuilder text = new StringBuilder(256);

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
            return CustomQueryPart.of(ctx -> {
                for (Object piece : all) {
                    if (piece instanceof String sql) {
                        ctx.sql(sql);
                    } else {
                        ctx.visit((QueryPart) piece);
                    }
                }
            });
        }
    }

    static final class Postgres extends UpsertStatements {
        static final Postgres INSTANCE = new Postgres();
        /** At most this many rows a statement. */
        static final int ROWS_PER_STATEMENT = 10_000;
        /**
         * At most this much JSON (UTF-8 bytes) a statement, unless one row alone is larger: far below PostgreSQL's
         * 1 GB limit on one value, and what a call holds in memory beyond the records.
         */
        static final long JSON_BYTES_PER_STATEMENT = 16L << 20;

        private static final Field<Long> ORDINALITY = DSL.field(DSL.name("ordinality"), SQLDataType.BIGINT);

        @Override
        <R extends UpdatableRecord<?>> Written upsert(DSLContext dsl, Upserts.Group<R> group, List<R> rows) {
            Table<?> table = group.table();
            Field<?>[] fields = table.fields();
            BitSet columns = writable(dsl, group);
            List<TableField<?, ?>> key = group.keys().fields();
            BitSet borrowed = group.generatedKey() ? new BitSet()
                    : requiredButUnset(fields, columns, computedColumns(dsl, table));
            Json json = Json.of(rows, fields, columns, ROWS_PER_STATEMENT, JSON_BYTES_PER_STATEMENT);

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
                selectExpression(select.sql(first ? "" : ", "), fields[i], borrowed.get(i) ? "e" : "v");
                if (columns.get(i) && !key.contains(fields[i])) {
                    update.sql(updates ? ", " : "").name(fields[i]).sql(" = ").name("excluded", fields[i]);
                    updates = true;
                }
                first = false;
            }
            sql.sql(identity ? ") overriding system value select " : ") select ").part(select.build())
                    .sql(" from json_populate_recordset(cast(null as ").part(table).sql("), cast(")
                    .part(DSL.val(json.text())).sql(" as json)) with ordinality as v");
            if (!borrowed.isEmpty()) {
                sql.sql(" left join ").part(table).sql(" as e on ");
                for (int k = 0; k < key.size(); k++) {
                    sql.sql(k == 0 ? "" : " and ").name("e", key.get(k)).sql(" = ").name("v", key.get(k));
                }
            }
            sql.sql(" order by v.ordinality");
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
            return new Written(json.rows(), dsl.resultQuery("{0}", sql.build()).coerce(table).fetch());
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
            // parsed from a string, so that a malformed value fails instead of smuggling keys into the row object
            if (alias.equals("v") && (type == JSONB.class || type == JSON.class)) {
                sql.sql("cast(").name(alias, field).sql(type == JSONB.class ? " #>> '{}' as jsonb)" : " #>> '{}' as json)");
            } else {
                sql.name(alias, field);
            }
        }
    }

    /** The table's fields followed by the column holding a matched record's position. */
    private static Field<?>[] withPosition(Field<?>[] fields, Field<?> position) {
        Field<?>[] all = java.util.Arrays.copyOf(fields, fields.length + 1);
        all[fields.length] = position;
        return all;
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
                case java.time.OffsetDateTime t -> quote(PostgresTimes.format(t));
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
                case java.time.LocalDateTime t -> quote(PostgresTimes.format(t));
                case java.time.LocalDate d -> quote(PostgresTimes.format(d));
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
     * MariaDB and MySQL: {@code INSERT … ON DUPLICATE KEY UPDATE}, which fires on <em>any</em> unique key. So the
     * first assignment guards the primary key: when the row found is not the row with our primary key (another
     * unique key matched), it evaluates a subquery returning two rows (of the key's own type), an error in every
     * SQL mode, before the row changes; that error is reported as an integrity constraint violation (SQLState
     * 23000). (Assigning NULL instead is silently turned into 0 for AUTO_INCREMENT keys.) The statement runs in
     * strict mode (MariaDB's {@code SET STATEMENT}; MySQL's default), so a missing NOT NULL value fails instead of
     * becoming ''. Rows go in the plan's order ({@code VALUES} in that order). Stored rows are read back by
     * primary key afterwards ({@link #match}); generated keys come from {@code RETURNING} (MariaDB) or, on MySQL,
     * from one insert per record. A statement carries at most 1,000 rows, 30,000 binds and
     * {@link #BYTES_PER_STATEMENT} of values by a worst-case estimate, well under the default
     * {@code max_allowed_packet} (16 MiB on MariaDB, 64 MiB on MySQL 8).
     */
    static final class MariaDb extends UpsertStatements {
        static final MariaDb MARIADB = new MariaDb(false);
        static final MariaDb MYSQL = new MariaDb(true);
        private static final int MAX_ROWS = 1_000;
        private static final int MAX_BINDS = 30_000;
        /** Values of one statement, estimated at 3 bytes per character (UTF-8, escapes) and 2 per byte. */
        static final long BYTES_PER_STATEMENT = 8L << 20;
        /** "Subquery returns more than 1 row": raised by the guard alone, the statement has no other subquery. */
        private static final int GUARD_ERROR = 1242;

        /** A row's 1-based position in what a statement sent. */
        private static final Field<Integer> POSITION = DSL.field(DSL.name("sqlservice_position"), SQLDataType.INTEGER);

        private final boolean mysql;

        private MariaDb(boolean mysql) {
            this.mysql = mysql;
        }

        @Override
        <R extends UpdatableRecord<?>> Written upsert(DSLContext dsl, Upserts.Group<R> group, List<R> rows) {
            Table<?> table = group.table();
            Field<?>[] fields = table.fields();
            BitSet columns = writable(dsl, group);
            rows = rows.subList(0, rowsPerStatement(fields, columns, rows));
            if (group.generatedKey() && mysql) {
                List<Record> stored = new ArrayList<>(rows.size());
                for (R row : rows) {
                    stored.add(insertReturning(dsl, table, fields, columns, row));
                }
                return new Written(rows.size(), stored);
            }
            List<TableField<?, ?>> key = group.keys().fields();
            BitSet borrowed = group.generatedKey() ? new BitSet()
                    : requiredButUnset(fields, columns, computedColumns(dsl, table));
            Sql sql = new Sql().sql(mysql ? "" : "set statement sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00' for ");
            sql.sql("insert into ").part(table).sql(" (");
            boolean first = true;
            for (int i = 0; i < fields.length; i++) {
                if (columns.get(i) || borrowed.get(i)) {
                    sql.sql(first ? "" : ", ").name(fields[i]);
                    first = false;
                }
            }
            sql.sql(borrowed.isEmpty() ? ") values " : ") select ");
            if (borrowed.isEmpty()) {
                for (int r = 0; r < rows.size(); r++) {
                    sql.sql(r == 0 ? "(" : ", (");
                    appendValues(sql, fields, columns, rows.get(r), false);
                    sql.sql(")");
                }
            } else {
                first = true;
                for (int i = 0; i < fields.length; i++) {
                    if (columns.get(i) || borrowed.get(i)) {
                        sql.sql(first ? "" : ", ").name(borrowed.get(i) ? "e" : "v", fields[i]);
                        first = false;
                    }
                }
                sql.sql(" from (");
                for (int r = 0; r < rows.size(); r++) {
                    // the position keeps the plan's order through the join
                    sql.sql(r == 0 ? "select 1 as " : " union all select " + (r + 1));
                    if (r == 0) {
                        sql.name(POSITION);
                    }
                    appendValues(sql.sql(", "), fields, columns, rows.get(r), r == 0);
                }
                sql.sql(") as v left join ").part(table).sql(" as e on ");
                for (int k = 0; k < key.size(); k++) {
                    sql.sql(k == 0 ? "" : " and ").name("e", key.get(k)).sql(" = ").name("v", key.get(k));
                }
                sql.sql(" order by ").name("v", POSITION);
            }
            if (group.generatedKey()) {
                sql.sql(" returning ");
                for (int i = 0; i < fields.length; i++) {
                    sql.sql(i == 0 ? "" : ", ").name(fields[i]);
                }
                return new Written(rows.size(), dsl.resultQuery("{0}", sql.build()).coerce(table).fetch());
            }
            sql.sql(" on duplicate key update ").name(table, key.getFirst()).sql(" = if(");
            for (int k = 0; k < key.size(); k++) {
                sql.sql(k == 0 ? "" : " and ").name(table, key.get(k)).sql(" <=> values(").name(key.get(k)).sql(")");
            }
            sql.sql(", ").name(table, key.getFirst()).sql(", (select ").name(table, key.getFirst())
                    .sql(" union all select ").name(table, key.getFirst()).sql("))");
            for (int i = 0; i < fields.length; i++) {
                if (columns.get(i) && !key.contains(fields[i])) {
                    sql.sql(", ").name(table, fields[i]).sql(" = values(").name(fields[i]).sql(")");
                }
            }
            try {
                dsl.query("{0}", sql.build()).execute();
            } catch (org.jooq.exception.DataAccessException e) {
                if (e.getCause() instanceof java.sql.SQLException cause && cause.getErrorCode() == GUARD_ERROR) {
                    String message = "a record of " + table.getName() + " has the same value as another row in a unique"
                            + " key other than the primary key; no row was changed";
                    throw new org.jooq.exception.IntegrityConstraintViolationException(message,
                            new java.sql.SQLIntegrityConstraintViolationException(message, "23000", 1062, cause));
                }
                throw e;
            }
            return new Written(rows.size(), List.of());
        }

        @Override
        List<? extends Record> match(DSLContext dsl, Upserts.Group<?> group, List<? extends Record> records) {
            Table<?> table = group.table();
            Field<?>[] fields = table.fields();
            List<TableField<?, ?>> key = group.keys().fields();
            int[] indexes = group.keys().indexes();
            Upserts.KeyColumn[] columns = group.keys().columns();
            Sql sql = new Sql().sql("select ");
            for (Field<?> field : fields) {
                sql.name("t", field).sql(", ");
            }
            sql.name("v", POSITION).sql(" from (");
            for (int r = 0; r < records.size(); r++) {
                sql.sql(r == 0 ? "select 1 as " : " union all select " + (r + 1));
                if (r == 0) {
                    sql.name(POSITION);
                }
                for (int k = 0; k < key.size(); k++) {
                    // the value as stored (a decimal at the column's scale): compared with the stored rows as it is
                    sql.sql(", ").part(bind(key.get(k), columns[k].canonical(records.get(r).get(indexes[k]))));
                    if (r == 0) {
                        sql.sql(" as ").name(key.get(k));
                    }
                }
            }
            sql.sql(") as v join ").part(table).sql(" as t on ");
            for (int k = 0; k < key.size(); k++) {
                sql.sql(k == 0 ? "" : " and ").name("t", key.get(k)).sql(" = ").name("v", key.get(k));
            }
            return dsl.resultQuery("{0}", sql.build()).coerce(withPosition(fields, POSITION)).fetch();
        }

        @Override
        List<String> computedColumnNames(DSLContext dsl, Table<?> table) {
            List<String> computed = new ArrayList<>();
            for (Record column : dsl.resultQuery("show columns from {0}", table).fetch()) {
                String extra = String.valueOf(column.get("Extra")).toUpperCase(java.util.Locale.ROOT);
                // VIRTUAL / STORED / PERSISTENT GENERATED; not MySQL's DEFAULT_GENERATED (an expression default)
                if (extra.contains("GENERATED") && !extra.contains("DEFAULT_GENERATED")) {
                    computed.add(column.get("Field", String.class));
                }
            }
            return computed;
        }

        /**
         * How many of {@code rows} one statement carries: at most {@link #MAX_ROWS}, {@link #MAX_BINDS} binds and
         * {@link #BYTES_PER_STATEMENT} by estimate; always at least one.
         */
        @SuppressWarnings("unchecked")
        private static int rowsPerStatement(Field<?>[] fields, BitSet columns, List<? extends Record> rows) {
            int[] written = columns.stream().toArray();
            int limit = Math.min(rows.size(), Math.max(1, Math.min(MAX_ROWS, MAX_BINDS / Math.max(1, written.length))));
            Converter<Object, Object>[] converters = new Converter[written.length];
            for (int c = 0; c < written.length; c++) {
                Converter<?, ?> converter = fields[written[c]].getConverter();
                converters[c] = converter.fromType() == converter.toType() ? null : (Converter<Object, Object>) converter;
            }
            long bytes = 0;
            for (int r = 0; r < limit; r++) {
                Record row = rows.get(r);
                long size = 8L * written.length;
                for (int c = 0; c < written.length; c++) {
                    Object value = row.get(written[c]);
                    size += estimate(converters[c] == null || value == null ? value : converters[c].to(value));
                }
                if (r > 0 && bytes + size > BYTES_PER_STATEMENT) {
                    return r;
                }
                bytes += size;
            }
            return limit;
        }

        /** An upper bound of the bytes a value takes in the statement (UTF-8, escaped). */
        private static long estimate(Object value) {
            return switch (value) {
                case null -> 4;
                case String s -> 3L * s.length() + 2;
                case byte[] b -> 2L * b.length + 10;
                case JSON j -> 3L * j.data().length() + 2;
                case JSONB j -> 3L * j.data().length() + 2;
                default -> 32;
            };
        }

        /** Appends one row's binds, typed by the field (converters applied). */
        private static void appendValues(Sql sql, Field<?>[] fields, BitSet columns, Record row, boolean named) {
            boolean first = true;
            for (int i = 0; i < fields.length; i++) {
                if (!columns.get(i)) {
                    continue;
                }
                sql.sql(first ? "" : ", ").part(bind(fields[i], row.get(i)));
                if (named) {
                    sql.sql(" as ").name(fields[i]);
                }
                first = false;
            }
        }

        @SuppressWarnings("unchecked")
        private static org.jooq.Param<?> bind(Field<?> field, Object value) {
            return DSL.val(value, (Field<Object>) field);
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
}
