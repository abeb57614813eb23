package dev.sqlservice.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import org.jooq.DSLContext;
import org.jooq.DataType;
import org.jooq.Field;
import org.jooq.ForeignKey;
import org.jooq.Named;
import org.jooq.SQLDialect;
import org.jooq.Schema;
import org.jooq.Table;
import org.jooq.TableOptions;
import org.jooq.UniqueKey;

/**
 * Compares the schema that generated jOOQ classes declare with the schema a live database really has: tables
 * (partitions, views and materialized views too), columns (order, type, nullability), primary keys, unique keys and
 * foreign keys, with their constraint names. Flyway's history table is ignored. A non-empty result means a
 * migration and the generated code disagree: regenerate, or fix the migration.
 *
 * <p>Types compare by name: a column typed by a domain by the domain's name, an enum or other user-defined type by
 * its unqualified name, an array as its element type whatever its declared dimensions (PostgreSQL's array types
 * have none: {@code integer[][]} is {@code integer[]}). Not compared: routines (the table classes jOOQ generates
 * for set-returning functions are skipped), check constraints, enum literals, indexes and triggers.
 *
 * <pre>{@code
 * assertThat(SchemaDrift.between(DefaultSchema.DEFAULT_SCHEMA, dsl, false)).isEmpty();
 * }</pre>
 */
public final class SchemaDrift {

    private static final String FLYWAY_HISTORY = "flyway_schema_history";

    private SchemaDrift() {}

    /**
     * Every difference between the generated schema and the schema the database is currently using
     * ({@code current_schema()} on PostgreSQL, read with jOOQ's {@code meta()}; the current database on
     * MariaDB/MySQL, read from JDBC metadata).
     *
     * @param generated the schema the generated classes declare, e.g. {@code DefaultSchema.DEFAULT_SCHEMA}
     * @param live a DSL context connected to the migrated database
     * @param structural compare only structure (tables, columns, nullability, key columns and names), not column
     *     types or primary key names: for classes generated from another backend (MariaDB names every primary key
     *     {@code PRIMARY})
     * @return the differences; empty when none
     */
    public static List<String> between(Schema generated, DSLContext live, boolean structural) {
        Objects.requireNonNull(live, "live == null");
        return live.connectionResult(connection -> {
            DSLContext dsl = org.jooq.impl.DSL.using(connection, live.dialect());
            boolean postgres = live.dialect().family() == SQLDialect.POSTGRES;
            String name = String.valueOf(dsl.fetchValue(postgres ? "select current_schema()" : "select database()"));
            // jOOQ 3.21's MARIADB meta queries information_schema columns that MariaDB 10.11 lacks; its MYSQL
            // meta reads the same catalog tables without them.
            org.jooq.Meta meta = postgres ? dsl.meta() : org.jooq.impl.DSL.using(connection, SQLDialect.MYSQL).meta();
            List<Table<?>> tables = meta.getTables().stream()
                    .filter(t -> t.getSchema() != null && name.equalsIgnoreCase(t.getSchema().getName()))
                    .toList();
            return compare(generated, tables, structural);
        });
    }

    /**
     * Every difference between two schemas, one readable line each, in a stable order.
     *
     * @param generated the schema the generated classes declare, e.g. {@code DefaultSchema.DEFAULT_SCHEMA}
     * @param live the database's schema, e.g. one of {@code dsl.meta().getSchemas()}
     * @return the differences; empty when none
     */
    public static List<String> between(Schema generated, Schema live) {
        Objects.requireNonNull(live, "live == null");
        return compare(generated, live.getTables(), false);
    }

    private static List<String> compare(Schema generated, List<Table<?>> live, boolean structural) {
        Objects.requireNonNull(generated, "generated == null");
        List<String> drift = new ArrayList<>();
        Map<String, Table<?>> expected = byName(generated.getTables());
        Map<String, Table<?>> actual = byName(live);
        actual.remove(FLYWAY_HISTORY);
        for (String name : union(expected, actual)) {
            Table<?> e = expected.get(name);
            Table<?> a = actual.get(name);
            if (a == null) {
                drift.add("table " + name + " is generated but not in the database");
            } else if (e == null) {
                drift.add("table " + name + " is in the database but not generated");
            } else {
                compareTables(name, e, a, structural, drift);
            }
        }
        return drift;
    }

    private static void compareTables(String table, Table<?> e, Table<?> a, boolean structural, List<String> drift) {
        List<String> expectedColumns = names(e.fields());
        List<String> actualColumns = names(a.fields());
        if (!expectedColumns.equals(actualColumns)) {
            drift.add("table " + table + ": generated columns " + expectedColumns + ", database columns " + actualColumns);
        }
        for (Field<?> ef : e.fields()) {
            Field<?> af = a.field(ef.getName());
            if (af == null) {
                continue;
            }
            String et = typeName(ef);
            String at = typeName(af);
            if (!structural && !et.equalsIgnoreCase(at)) {
                drift.add("column " + table + "." + ef.getName() + ": generated type " + et + ", database type " + at);
            }
            if (ef.getDataType().nullable() != af.getDataType().nullable()) {
                drift.add("column " + table + "." + ef.getName() + ": generated " + nullability(ef) + ", database "
                        + nullability(af));
            }
        }
        compare(table, "primary key", key(e.getPrimaryKey(), structural), key(a.getPrimaryKey(), structural), drift);
        compare(table, "unique keys", keys(e.getUniqueKeys(), SchemaDrift::key), keys(a.getUniqueKeys(), SchemaDrift::key), drift);
        compare(table, "foreign keys", keys(e.getReferences(), SchemaDrift::foreignKey),
                keys(a.getReferences(), SchemaDrift::foreignKey), drift);
    }

    private static void compare(String table, String what, Object expected, Object actual, List<String> drift) {
        if (!Objects.equals(expected, actual)) {
            drift.add("table " + table + ": generated " + what + " " + expected + ", database " + what + " " + actual);
        }
    }

    private static String key(UniqueKey<?> key) {
        return key(key, false);
    }

    private static String key(UniqueKey<?> key, boolean withoutName) {
        return key == null ? "none" : (withoutName ? "" : lower(key)) + names(key.getFieldsArray());
    }

    private static String foreignKey(ForeignKey<?, ?> key) {
        return lower(key) + names(key.getFieldsArray()) + " -> " + lower(key.getKey().getTable())
                + names(key.getKeyFieldsArray());
    }

    private static <K> TreeSet<String> keys(List<? extends K> keys, Function<K, String> describe) {
        TreeSet<String> described = new TreeSet<>();
        keys.forEach(k -> described.add(describe.apply(k)));
        return described;
    }

    private static String typeName(Field<?> field) {
        return typeName(field.getDataType());
    }

    /**
     * The name both sides agree on. Generated classes type a domain column with the domain's base type and carry
     * the domain, jOOQ's reading of the database knows only the domain's name: the domain's name, then. User-defined
     * types (enums) are schema-qualified only outside the search path: unqualified. Arrays: the element type's
     * name and one " array", as PostgreSQL's array types have no dimensions (generated classes keep the declared
     * ones).
     */
    private static String typeName(DataType<?> type) {
        if (type.isArray()) {
            DataType<?> element = type.getArrayBaseDataType();
            if (element != null && !element.isArray()) {
                return typeName(element) + " array";
            }
            return unqualified(type.getTypeName()).replaceAll("( array)+$", " array");
        }
        return unqualified(type.getDomain() != null ? type.getDomain().getName() : type.getTypeName());
    }

    private static String unqualified(String typeName) {
        String name = typeName.replace("\"", "");
        return name.substring(name.lastIndexOf('.') + 1);
    }

    private static String nullability(Field<?> field) {
        return field.getDataType().nullable() ? "nullable" : "not null";
    }

    /** The tables by name; table-valued functions are routines, not tables, and the database lists none. */
    private static Map<String, Table<?>> byName(List<Table<?>> tables) {
        Map<String, Table<?>> byName = new TreeMap<>();
        tables.stream()
                .filter(t -> t.getTableType() != TableOptions.TableType.FUNCTION)
                .forEach(t -> byName.put(lower(t), t));
        return byName;
    }

    private static TreeSet<String> union(Map<String, ?> a, Map<String, ?> b) {
        TreeSet<String> names = new TreeSet<>(a.keySet());
        names.addAll(b.keySet());
        return names;
    }

    private static List<String> names(Field<?>[] fields) {
        List<String> names = new ArrayList<>(fields.length);
        for (Field<?> f : fields) {
            names.add(f.getName().toLowerCase(Locale.ROOT));
        }
        return names;
    }

    private static String lower(Named named) {
        return named.getName().toLowerCase(Locale.ROOT);
    }
}
