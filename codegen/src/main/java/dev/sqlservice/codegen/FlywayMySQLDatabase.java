package dev.sqlservice.codegen;

import java.sql.SQLException;
import java.util.List;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.meta.SchemaDefinition;
import org.jooq.meta.TableDefinition;
import org.jooq.meta.mysql.MySQLDatabase;

/**
 * A jOOQ code generator {@link org.jooq.meta.Database} that first runs a project's Flyway migrations in a temporary
 * database on a MySQL server, then reads it as jOOQ's {@link MySQLDatabase} does.
 *
 * <p>Use it in {@code jooq-codegen-maven}'s {@code <database>} with {@code <name>} set to this class and no
 * {@code <inputSchema>}: the only schema read is the temporary database, and the generated code names no schema
 * (a table is {@code t}, not {@code db.t}), so it runs on the database its connection names. Properties
 * ({@code <properties><property><key>…</key><value>…</value></property></properties>}):
 * <ul>
 *   <li>{@code url} (required, there is no embedded MySQL; else the system property
 *       {@code sqlservice.codegen.url}, else the environment variable {@code SQLSERVICE_CODEGEN_URL}): the server,
 *       {@code jdbc:mysql://host:3306/}; any database in it is ignored. A {@code jdbc:mysql:} URL needs MySQL
 *       Connector/J ({@code com.mysql:mysql-connector-j}) in the plugin's {@code <dependencies>}; a
 *       {@code jdbc:mariadb:} URL uses the MariaDB driver that sqlservice-codegen brings. {@code user} likewise
 *       ({@code SQLSERVICE_CODEGEN_USER}); the password comes from the environment variable named by
 *       {@code passwordEnvironmentVariable} (default {@code SQLSERVICE_CODEGEN_PASSWORD}), never from the
 *       configuration, a command line or a log. The user needs the right to create and drop databases.</li>
 *   <li>{@code container}: instead of {@code url}, an image name ({@code mysql:8.4}) to run the migrations in a
 *       Testcontainers container; it needs {@code org.testcontainers:testcontainers} in the plugin's
 *       {@code <dependencies>} and a Docker engine.</li>
 *   <li>{@code locations}: Flyway locations, comma separated; {@code filesystem:} paths are resolved against the
 *       project's base directory; {@code classpath:} folders are looked up on the project's class path (its
 *       dependencies, as jooq-codegen-maven sets it) and the plugin's dependencies, not in
 *       {@code src/main/resources}. A location that does not exist fails the generation, naming it. Default
 *       {@code filesystem:src/main/resources/db/migration}.</li>
 *   <li>{@code placeholders.NAME}: the value of the Flyway placeholder {@code NAME}.</li>
 * </ul>
 * The property {@code schemas} is refused: on MySQL a schema is a database, and Flyway would create or change the
 * server's own. The temporary database ({@code sqlservice_codegen_…}) is dropped after generation, also when a
 * migration fails. Flyway's history table ({@code flyway_schema_history}) is excluded from the generated code.
 * On a server by URL: connecting and logging in time out after 30 s (a server that never answers fails the build,
 * naming its host:port), unless the URL sets its own {@code connectTimeout}; a build stopped during
 * generation (SIGTERM: Ctrl-C, a cancelled CI job) drops the temporary database from a shutdown hook (a
 * {@code SIGKILL} cannot be covered: the database then stays, named {@code sqlservice_codegen_<time>_<pid>_<n>}).
 *
 * <p>Not thread-safe: the code generator uses one instance from one thread.
 */
public class FlywayMySQLDatabase extends MySQLDatabase {

    private final MigrationRun run = new MigrationRun(this, Backend.MYSQL);

    /** Creates the database; the code generator configures it through its setters. */
    public FlywayMySQLDatabase() {}

    /**
     * A context whose connection migrates the temporary database on first use, and which reads no text with the
     * temporary database's name in it (view sources, defaults, ...).
     */
    @Override
    protected DSLContext create0() {
        return MySQLFamily.create(run, SQLDialect.MYSQL);
    }

    /** The temporary database, without a query; a configured {@code <inputSchema>} is refused. */
    @Override
    protected List<SchemaDefinition> getSchemata0() throws SQLException {
        return MySQLFamily.schemata(this, run);
    }

    /** The migrated tables, without Flyway's history table. */
    @Override
    protected List<TableDefinition> getTables0() throws SQLException {
        return MySQLFamily.withoutHistory(super.getTables0());
    }

    /** The default (unnamed) schema for the temporary database. */
    @Override
    public String getOutputSchema(String inputSchema) {
        return MySQLFamily.outputSchema(run, inputSchema, super.getOutputSchema(inputSchema));
    }

    /** The default (unnamed) schema for the temporary database. */
    @Override
    public String getOutputSchema(String inputCatalog, String inputSchema) {
        return MySQLFamily.outputSchema(run, inputSchema, super.getOutputSchema(inputCatalog, inputSchema));
    }

    MigrationRun migrationRun() {
        return run;
    }

    /** Closes the connection, drops the temporary database and stops the container, if any. */
    @Override
    public void close() {
        try {
            run.close();
        } finally {
            super.close();
        }
    }
}
