package dev.sqlservice.codegen;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.flywaydb.core.Flyway;
import org.jooq.ConnectionProvider;
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
 *       project's base directory. Default {@code filesystem:src/main/resources/db/migration}.</li>
 *   <li>{@code schemas}: the schemas Flyway manages, comma separated. Default: Flyway's default.</li>
 *   <li>{@code placeholders.NAME}: the value of the Flyway placeholder {@code NAME}.</li>
 *   <li>{@code url}: an existing PostgreSQL server ({@code jdbc:postgresql://host:port/database}) instead of the
 *       default embedded PostgreSQL 18, else the system property {@code sqlservice.codegen.url}, else the
 *       environment variable {@code SQLSERVICE_CODEGEN_URL}; {@code user} likewise. The password is read from
 *       the environment variable named by {@code passwordEnvironmentVariable} (default
 *       {@code SQLSERVICE_CODEGEN_PASSWORD}), never from the configuration, a command line or a log. On a
 *       server, the migrations run in a temporary database created for this generation and dropped afterwards:
 *       the server's own databases and schemas are never touched.</li>
 * </ul>
 * Flyway's history table ({@code flyway_schema_history}) is excluded from the generated code.
 *
 * <p>Not thread-safe: the code generator uses one instance from one thread.
 */
public class FlywayPostgresDatabase extends PostgresDatabase {

    private static final Pattern DATABASE_IN_URL = Pattern.compile("^(jdbc:postgresql://[^/?]*/)([^?]*)(.*)$");
    private static final AtomicInteger SEQUENCE = new AtomicInteger();
    private static final Set<String> SERVER_SETTINGS = Set.of("url", "user", "passwordEnvironmentVariable");
    private static final String FLYWAY_HISTORY_TABLE = "flyway_schema_history";

    private EmbeddedPostgres embedded;
    private String serverUrl;
    private String temporaryDatabase;
    private Connection connection;
    private Properties credentials;
    private String inputsVersion;
    private boolean readingInputSchemata;

    /** Creates the database; the code generator configures it through its setters. */
    public FlywayPostgresDatabase() {}

    /**
     * A context whose connection is made on first use: the temporary database is created and migrated only when
     * the generator reads the schema, never when the generated classes are up to date ({@link MigrationsVersion}).
     */
    @Override
    protected DSLContext create0() {
        return DSL.using(new MigratedConnectionProvider(), SQLDialect.POSTGRES);
    }

    private final class MigratedConnectionProvider implements ConnectionProvider {
        @Override
        public Connection acquire() {
            return migrated();
        }

        @Override
        public void release(Connection released) {
            // kept open for the generator's next query; closed by FlywayPostgresDatabase.close()
        }
    }

    private Connection migrated() {
        if (connection == null) {
            try {
                Connection migrated = migratedConnection();
                connection = migrated;
                // PostgresDatabase also reads some metadata through getConnection().
                setConnection(migrated);
            } catch (SQLException | IOException | RuntimeException e) {
                IllegalStateException failure = new IllegalStateException("could not migrate a temporary"
                        + " PostgreSQL database for code generation: " + e.getMessage(), e);
                try {
                    close();
                } catch (RuntimeException cleanup) {
                    failure.addSuppressed(cleanup);
                }
                throw failure;
            }
        }
        return connection;
    }

    /**
     * The schemas of the migrated database, without PostgreSQL's own ({@code pg_catalog}, ...). When the
     * configuration names its input schemas, they are taken from it without a query: jOOQ asks for the schemas
     * even when it is about to keep every generated class, and that must not start PostgreSQL.
     */
    @Override
    protected List<SchemaDefinition> getSchemata0() throws SQLException {
        if (connection == null && !readingInputSchemata) {
            List<String> configured;
            readingInputSchemata = true;
            try {
                configured = getInputSchemata();
            } finally {
                readingInputSchemata = false;
            }
            if (!configured.isEmpty() && connection == null) {
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
        tables.removeIf(table -> table.getName().equalsIgnoreCase(FLYWAY_HISTORY_TABLE));
        return tables;
    }

    private Connection migratedConnection() throws SQLException, IOException {
        Properties properties = getProperties();
        if (properties.getProperty("password") != null) {
            // A property lands in the pom, the build's logs and jOOQ's configuration dumps: refused, not ignored.
            throw new IllegalArgumentException("a password is never a property of the code generator: put it in the"
                    + " environment variable named by the property passwordEnvironmentVariable (default"
                    + " SQLSERVICE_CODEGEN_PASSWORD)");
        }
        String url = setting(properties, "url");
        String user;
        String password;
        if (url == null) {
            embedded = EmbeddedPostgres.builder().start();
            serverUrl = embedded.getJdbcUrl("postgres", "postgres");
            user = "postgres";
            password = null;
        } else {
            if (!DATABASE_IN_URL.matcher(url).matches()) {
                throw new IllegalArgumentException("the property url must look like"
                        + " jdbc:postgresql://host[:port]/database[?...]: code generation creates its temporary"
                        + " database on that server");
            }
            serverUrl = url;
            user = setting(properties, "user");
            password = System.getenv(properties.getProperty("passwordEnvironmentVariable",
                    "SQLSERVICE_CODEGEN_PASSWORD"));
        }
        credentials = new Properties();
        if (user != null) {
            credentials.setProperty("user", user);
        }
        if (password != null) {
            credentials.setProperty("password", password);
        }
        String database = "sqlservice_codegen_" + Long.toString(System.currentTimeMillis(), 36) + "_"
                + ProcessHandle.current().pid() + "_" + SEQUENCE.incrementAndGet();
        try (Connection admin = DriverManager.getConnection(serverUrl, credentials);
                Statement statement = admin.createStatement()) {
            statement.execute("create database " + database);
        }
        temporaryDatabase = database;
        Matcher m = DATABASE_IN_URL.matcher(serverUrl);
        if (!m.matches()) {
            throw new IllegalStateException("not a jdbc:postgresql URL");
        }
        String databaseUrl = m.group(1) + database + m.group(3);
        Flyway.configure(FlywayPostgresDatabase.class.getClassLoader())
                .dataSource(databaseUrl, user, password)
                .locations(locations(properties))
                .schemas(schemas(properties))
                .placeholders(placeholders(properties))
                .load()
                .migrate();
        return DriverManager.getConnection(databaseUrl, credentials);
    }

    /**
     * A hash of what the generated classes derive from: the properties but those choosing the server (the same
     * migrations give the same schema on any server; a password is never a property) and the path and content of
     * every file under the {@code filesystem:} locations. A {@code classpath:} location counts by its name only.
     */
    String migrationsVersion() {
        if (inputsVersion == null) {
            try {
                MessageDigest digest = MessageDigest.getInstance("SHA-256");
                Properties properties = getProperties();
                for (String key : new TreeSet<>(properties.stringPropertyNames())) {
                    if (!SERVER_SETTINGS.contains(key)) {
                        update(digest, key + "=" + properties.getProperty(key));
                    }
                }
                for (String location : locations(properties)) {
                    update(digest, location);
                    if (location.startsWith("filesystem:")) {
                        Path root = Path.of(location.substring("filesystem:".length()));
                        if (Files.isDirectory(root)) {
                            try (Stream<Path> files = Files.walk(root)) {
                                for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                                    update(digest, root.relativize(file).toString());
                                    digest.update(Files.readAllBytes(file));
                                }
                            }
                        }
                    }
                }
                inputsVersion = "flyway-sha256:" + HexFormat.of().formatHex(digest.digest());
            } catch (IOException | NoSuchAlgorithmException e) {
                throw new IllegalStateException("could not hash the migrations: " + e.getMessage(), e);
            }
        }
        return inputsVersion;
    }

    private static void update(MessageDigest digest, String text) {
        digest.update(text.getBytes(StandardCharsets.UTF_8));
        digest.update((byte) 0);
    }

    private String[] locations(Properties properties) {
        String configured = blankToNull(properties.getProperty("locations"));
        List<String> locations = new ArrayList<>();
        for (String location : (configured == null ? "filesystem:src/main/resources/db/migration" : configured)
                .split(",")) {
            String trimmed = location.trim();
            if (trimmed.startsWith("filesystem:")) {
                File path = new File(trimmed.substring("filesystem:".length()));
                if (!path.isAbsolute() && getBasedir() != null) {
                    path = new File(getBasedir(), path.getPath());
                }
                trimmed = "filesystem:" + path.getAbsolutePath();
            }
            if (!trimmed.isEmpty()) {
                locations.add(trimmed);
            }
        }
        return locations.toArray(String[]::new);
    }

    private static String[] schemas(Properties properties) {
        String configured = blankToNull(properties.getProperty("schemas"));
        return configured == null ? new String[0]
                : Arrays.stream(configured.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                        .toArray(String[]::new);
    }

    private static Map<String, String> placeholders(Properties properties) {
        Map<String, String> placeholders = new HashMap<>();
        for (String key : properties.stringPropertyNames()) {
            if (key.startsWith("placeholders.")) {
                placeholders.put(key.substring("placeholders.".length()), properties.getProperty(key));
            }
        }
        return placeholders;
    }

    /**
     * The property, else the system property {@code sqlservice.codegen.<name>}, else the environment variable
     * {@code SQLSERVICE_CODEGEN_<NAME>}. Only the first is part of jOOQ's configuration hash.
     */
    private static String setting(Properties properties, String name) {
        String value = blankToNull(properties.getProperty(name));
        if (value == null) {
            value = blankToNull(System.getProperty("sqlservice.codegen." + name));
        }
        return value != null ? value
                : blankToNull(System.getenv("SQLSERVICE_CODEGEN_" + name.toUpperCase(Locale.ROOT)));
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value.trim();
    }

    /** Closes the connection, drops the temporary database and stops the embedded PostgreSQL, if any. */
    @Override
    public void close() {
        RuntimeException failure = null;
        try {
            if (connection != null) {
                connection.close();
            }
        } catch (SQLException e) {
            failure = new IllegalStateException("could not close the code generation connection", e);
        } finally {
            connection = null;
        }
        if (temporaryDatabase != null) {
            try (Connection admin = DriverManager.getConnection(serverUrl, credentials);
                    Statement statement = admin.createStatement()) {
                statement.execute("drop database if exists " + temporaryDatabase + " with (force)");
            } catch (SQLException e) {
                if (failure == null) {
                    failure = new IllegalStateException("could not drop the temporary database "
                            + temporaryDatabase, e);
                }
            } finally {
                temporaryDatabase = null;
            }
        }
        if (embedded != null) {
            try {
                embedded.close();
            } catch (IOException e) {
                if (failure == null) {
                    failure = new IllegalStateException("could not stop the embedded PostgreSQL", e);
                }
            } finally {
                embedded = null;
            }
        }
        super.close();
        if (failure != null) {
            throw failure;
        }
    }
}
