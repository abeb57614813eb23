package dev.sqlservice.codegen;

import java.util.ArrayList;
import java.util.List;
import org.jooq.DSLContext;
import org.jooq.Record4;
import org.jooq.ResultQuery;
import org.jooq.Select;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.jooq.meta.AbstractDatabase;
import org.jooq.meta.SchemaDefinition;
import org.jooq.meta.TableDefinition;

/**
 * What {@link FlywayMariaDBDatabase} and {@link FlywayMySQLDatabase} share (they extend different jOOQ classes).
 * On MySQL and MariaDB a schema is a database: the only schema read is the temporary database, and the generated
 * code names no schema at all (as with {@code <outputSchemaToDefault>}), so it runs on whatever database its
 * connection names and never carries the temporary name.
 */
final class MySQLFamily {

    private MySQLFamily() {}

    /**
     * The temporary database as the only schema, known without a connection (an up-to-date rebuild reads the
     * schemas and must not start anything). A configured {@code <inputSchema>} is refused: it names a database on
     * the server, which is not where the migrations ran.
     */
    static List<SchemaDefinition> schemata(AbstractDatabase database, MigrationRun run) {
        for (String configured : database.getInputSchemata()) {
            if (!configured.equals(run.temporaryDatabase())) {
                throw new IllegalArgumentException("leave <inputSchema> (here " + configured + ") out of the"
                        + " configuration of " + database.getClass().getSimpleName() + ": the migrations run in a"
                        + " temporary database, which is the schema read, and the generated code names no schema");
            }
        }
        List<SchemaDefinition> schemata = new ArrayList<>();
        schemata.add(new SchemaDefinition(database, run.temporaryDatabase(), null));
        return schemata;
    }

    /** The default (unnamed) schema for the temporary database, any other name unchanged. */
    static String outputSchema(MigrationRun run, String inputSchema, String mapped) {
        return run.temporaryDatabase().equals(inputSchema) ? "" : mapped;
    }

    /**
     * The view sources with the temporary database's qualifier taken out: MySQL and MariaDB store a view's
     * definition with every table qualified by its database ({@code `sqlservice_codegen_…`.`t`}).
     */
    static ResultQuery<Record4<String, String, String, String>> unqualified(DSLContext create, MigrationRun run,
            ResultQuery<Record4<String, String, String, String>> sources) {
        if (!(sources instanceof Select<Record4<String, String, String, String>> select)) {
            throw new IllegalStateException("jOOQ's view sources query is not a select: " + sources.getClass());
        }
        Table<Record4<String, String, String, String>> s = select.asTable("s");
        return create.select(s.field(0, String.class), s.field(1, String.class), s.field(2, String.class),
                        DSL.replace(s.field(3, String.class), "`" + run.temporaryDatabase() + "`.", ""))
                .from(s);
    }

    static List<TableDefinition> withoutHistory(List<TableDefinition> tables) {
        List<TableDefinition> result = new ArrayList<>(tables);
        result.removeIf(table -> table.getName().equalsIgnoreCase(MigrationRun.FLYWAY_HISTORY_TABLE));
        return result;
    }
}
