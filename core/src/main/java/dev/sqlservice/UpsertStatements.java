package dev.sqlservice;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import org.jooq.ConnectionProvider;
import org.jooq.DSLContext;
import org.jooq.DataType;
import org.jooq.Field;
import org.jooq.QueryPart;
import org.jooq.Record;
import org.jooq.Table;
import org.jooq.UpdatableRecord;
import org.jooq.impl.CustomQueryPart;

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

    /** The table's fields followed by the column holding a matched record's position. */
    static Field<?>[] withPosition(Field<?>[] fields, Field<?> position) {
        Field<?>[] all = java.util.Arrays.copyOf(fields, fields.length + 1);
        all[fields.length] = position;
        return all;
    }
}
