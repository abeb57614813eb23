package dev.sqlservice.codegen;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.jooq.meta.SchemaDefinition;
import org.jooq.meta.TableDefinition;
import org.jooq.meta.postgres.PostgresDatabase;

/**
 * A jOOQ code generator {@link org.jooq.meta.Database} that first runs a project's Flyway migrations on a real
 * PostgreSQL, then reads the migrated schema as jOOQ's {@link PostgresDatabase} does: whatever PostgreSQL accepts
 * (domains, enums, partitioned tables, triggers, ...) is generated, with none of the DDL interpretation that
 * jOOQ's {@code DDLDatabase} does.
 *
 * <p>Use it in {@code jooq-codegen-maven}'s {@code <database>} with {@code <name>} set to this class. Properties
 * ({@code <properties><property><key>…</key><value>…</value></property></properties>}):
 * <ul>
 *   <li>{@code locations}: Flyway locations, comma separated; {@code filesystem:} paths are resolved against the
 *       project's base directory; {@code classpath:} folders are looked up on the project's class path (its
 *       dependencies, as jooq-codegen-maven sets it) and the plugin's dependencies, not in
 *       {@code src/main/resources}. A location that does not exist fails the generation, naming it. Default
 *       {@code filesystem:src/main/resources/db/migration}.</li>
 *   <li>{@code schemas}: the schemas Flyway manages, comma separated. Default: Flyway's default.</li>
 *   <li>{@code placeholders.NAME}: the value of the Flyway placeholder {@code NAME}.</li>
 *   <li>{@code url}: an existing PostgreSQL server ({@code jdbc:postgresql://host:port/database}) instead of the
 *       default embedded PostgreSQL 18, else the system property {@code sqlservice.codegen.url}, else the
 *       environment variable {@code SQLSERVICE_CODEGEN_URL}; {@code user} likewise. The password is read from
 *       the environment variable named by {@code passwordEnvironmentVariable} (default
 *       {@code SQLSERVICE_CODEGEN_PASSWORD}), never from the configuration, a command line or a log. On a
 *       server, the migrations run in a temporary database created for this generation and dropped afterwards:
 *       the server's own databases and schemas are never touched. The server must be PostgreSQL 13 or later
 *       (the temporary database is dropped {@code with (force)}).</li>
 *   <li>{@code container}: an image name ({@code postgres:18}) to run the migrations in a Testcontainers
 *       container instead (else {@code sqlservice.codegen.container}, else {@code SQLSERVICE_CODEGEN_CONTAINER}).
 *       Opt-in: it needs {@code org.testcontainers:testcontainers} in the plugin's {@code <dependencies>} and a
 *       Docker engine; without either, generation fails with a message naming what to add or the
 *       alternatives.</li>
 * </ul>
 * Flyway's history table ({@code flyway_schema_history}) is excluded from the generated code.
 * On a server by URL: connecting and logging in time out after 30 s (a server that never answers fails the build,
 * naming its host:port), unless the URL sets its own {@code connectTimeout} / {@code loginTimeout}; a build
 * stopped during generation (SIGTERM: Ctrl-C, a cancelled CI job) drops the temporary database from a shutdown hook (a
 * {@code SIGKILL} cannot be covered: the database then stays, named {@code sqlservice_codegen_<time>_<pid>_<n>}).
 *
 * <p>Not thread-safe: the code generator uses one instance from one thread.
 */
public class FlywayPostgresDatabase extends PostgresDatabase {

    private final MigrationRun run = new MigrationRun(this, Backend.POSTGRES);
    private boolean readingInputSchemata;

    /** Creates the database; the code generator configures it through its setters. */
    public FlywayPostgresDatabase() {}

    /**
     * A context whose connection is made on first use: the temporary database is created and migrated only when
     * the generator reads the schema, never when the generated classes are up to date ({@link MigrationsVersion}).
     */
    @Override
    protected DSLContext create0() {
        return DSL.using(run, SQLDialect.POSTGRES);
    }

    /**
     * The schemas of the migrated database, without PostgreSQL's own ({@code pg_catalog}, ...). When the
     * configuration names its input schemas, they are taken from it without a query: jOOQ asks for the schemas
     * even when it is about to keep every generated class, and that must not start PostgreSQL.
     */
    @Override
    protected List<SchemaDefinition> getSchemata0() throws SQLException {
        if (!run.connected() && !readingInputSchemata) {
            List<String> configured;
            readingInputSchemata = true;
            try {
                configured = getInputSchemata();
            } finally {
                readingInputSchemata = false;
            }
            if (!configured.isEmpty() && !run.connected()) {
                return new ArrayList<>(
                        configured.stream().map(name -> new SchemaDefinition(this, name, null)).toList());
            }
        }
        List<SchemaDefinition> schemata = new ArrayList<>(super.getSchemata0());
        schemata.removeIf(schema -> isSystemSchema(schema.getName()));
        return schemata;
    }

    private static boolean isSystemSchema(String name) {
        return name.equals("information_schema") || name.startsWith("pg_");
    }

    /** The migrated tables, without Flyway's history table. */
    @Override
    protected List<TableDefinition> getTables0() throws SQLException {
        List<TableDefinition> tables = new ArrayList<>(super.getTables0());
        tables.removeIf(table -> table.getName().equalsIgnoreCase(MigrationRun.FLYWAY_HISTORY_TABLE));
        return tables;
    }

    MigrationRun migrationRun() {
        return run;
    }

    /**
     * Closes the connection, drops the temporary database and stops the embedded PostgreSQL or the container, if
     * any.
     */
    @Override
    public void close() {
        try {
            run.close();
        } finally {
            super.close();
        }
    }
}
