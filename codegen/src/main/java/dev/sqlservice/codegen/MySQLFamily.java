package dev.sqlservice.codegen;

import java.util.ArrayList;
import java.util.List;
import org.jooq.DSLContext;
import org.jooq.ExecuteContext;
import org.jooq.ExecuteListener;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultConfiguration;
import org.jooq.impl.DefaultExecuteListenerProvider;
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
     * The context the metadata is read with: every text read through it has the temporary database's qualifier
     * ({@code `sqlservice_codegen_…`.}) taken out. MySQL and MariaDB qualify what a stored expression names with
     * its database: the tables of a view's source, the sequence of a {@code nextval(`db`.`seq`)} default, and so
     * in generation expressions, check clauses and routine or trigger bodies, whichever of them jOOQ reads. One
     * place for all of them: the generated code never names the dropped temporary database.
     */
    static DSLContext create(MigrationRun run, SQLDialect dialect) {
        String qualifier = "`" + run.temporaryDatabase() + "`.";
        ExecuteListener unqualifying = new ExecuteListener() {
            @Override
            public void recordEnd(ExecuteContext ctx) {
                Record record = ctx.record();
                if (record != null) {
                    for (Field<?> field : record.fields()) {
                        if (record.get(field) instanceof String text && text.contains(qualifier)) {
                            @SuppressWarnings("unchecked")
                            Field<Object> untyped = (Field<Object>) field;
                            record.set(untyped, text.replace(qualifier, ""));
                        }
                    }
                }
            }
        };
        return DSL.using(new DefaultConfiguration().set(run).set(dialect)
                .set(new DefaultExecuteListenerProvider(unqualifying)));
    }

    static List<TableDefinition> withoutHistory(List<TableDefinition> tables) {
        List<TableDefinition> result = new ArrayList<>(tables);
        result.removeIf(table -> table.getName().equalsIgnoreCase(MigrationRun.FLYWAY_HISTORY_TABLE));
        return result;
    }
}
