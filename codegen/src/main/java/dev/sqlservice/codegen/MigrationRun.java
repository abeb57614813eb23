package dev.sqlservice.codegen;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
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
import org.flywaydb.core.Flyway;
import org.jooq.ConnectionProvider;
import org.jooq.meta.AbstractDatabase;

/**
 * One code generation's migrated database, shared by every {@code Flyway*Database}: where the server comes from
 * (an embedded PostgreSQL 18, a server by URL, a Testcontainers container), the temporary database created on it
 * and migrated with Flyway on first use, and its removal in {@link #close()}, whatever happened before. Also the
 * hash of what the generated classes derive from ({@link MigrationsVersion}).
 *
 * <p>Not thread-safe: the code generator uses its database from one thread.
 */
final class MigrationRun implements ConnectionProvider {

    static final String FLYWAY_HISTORY_TABLE = "flyway_schema_history";
    private static final AtomicInteger SEQUENCE = new AtomicInteger();
    /** Properties that choose where the migrations run: the same migrations give the same schema anywhere. */
    private static final Set<String> SERVER_SETTINGS = Set.of("url", "user", "passwordEnvironmentVariable",
            "container");
    private static final String DEFAULT_PASSWORD_VARIABLE = "SQLSERVICE_CODEGEN_PASSWORD";
    /** Seconds to connect and log in, unless the URL sets its own: a silent server fails the build, not hangs it. */
    static final int CONNECT_SECONDS = 30;
    /** Seconds an administration statement (create, drop database) may wait for the server. */
    static final int ADMIN_SOCKET_SECONDS = 120;
    /** The shutdown hook's own, shorter timeouts: the JVM is stopping, it must not wait long. */
    static final int HOOK_CONNECT_SECONDS = 5;
    static final int HOOK_SOCKET_SECONDS = 15;

    private final AbstractDatabase owner;
    private final Backend backend;
    /** Chosen up front: the MySQL family reads it as the schema's name before anything is migrated. */
    private final String temporaryDatabase;

    private EmbeddedPostgres embedded;
    private AutoCloseable container;
    private String serverUrl;
    private Properties credentials;
    /** Whether the temporary database was created and not dropped yet; guarded by this. */
    private boolean created;
    /** Whether its creation was started: it may exist, for the shutdown hook; guarded by this. */
    private boolean creating;
    /** Drops the temporary database when the JVM is stopped (SIGTERM) before {@link #close()}; a server by URL only. */
    private Thread shutdownHook;
    private Connection connection;
    private String inputsVersion;

    MigrationRun(AbstractDatabase owner, Backend backend) {
        this.owner = owner;
        this.backend = backend;
        this.temporaryDatabase = "sqlservice_codegen_" + Long.toString(System.currentTimeMillis(), 36) + "_"
                + ProcessHandle.current().pid() + "_" + SEQUENCE.incrementAndGet();
    }

    /** The name of the temporary database (created on first use of {@link #connection()}). */
    String temporaryDatabase() {
        return temporaryDatabase;
    }

    /** Whether the migrated database is connected, i.e. whether generation reads a live schema now. */
    boolean connected() {
        return connection != null;
    }

    @Override
    public Connection acquire() {
        return connection();
    }

    @Override
    public void release(Connection released) {
        // kept open for the generator's next query; closed by close()
    }

    /** The migrated temporary database's connection, migrating it on the first call. */
    Connection connection() {
        if (connection == null) {
            try {
                Connection migrated = migrate();
                connection = migrated;
                owner.setConnection(migrated);
            } catch (SQLException | IOException | RuntimeException e) {
                IllegalStateException failure = new IllegalStateException("could not migrate a temporary "
                        + backend.displayName + " database for code generation: " + e.getMessage(), e);
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

    private Connection migrate() throws SQLException, IOException {
        Properties properties = owner.getProperties();
        if (properties.getProperty("password") != null) {
            // A property lands in the pom, the build's logs and jOOQ's configuration dumps: refused, not ignored.
            throw new IllegalArgumentException("a password is never a property of the code generator: put it in the"
                    + " environment variable named by the property passwordEnvironmentVariable (default "
                    + DEFAULT_PASSWORD_VARIABLE + ")");
        }
        if (backend != Backend.POSTGRES && properties.getProperty("schemas") != null) {
            // On MySQL and MariaDB a schema is a database: Flyway would create or change the server's own.
            throw new IllegalArgumentException("the property schemas is for PostgreSQL: on " + backend.displayName
                    + " a schema is a database, and the migrations run in the temporary database only");
        }
        String url = setting(properties, "url");
        String image = setting(properties, "container");
        String user;
        String password;
        if (url != null && image != null) {
            throw new IllegalArgumentException("the properties url and container both name where the migrations run:"
                    + " set one of them");
        }
        if (url != null) {
            if (!backend.accepts(url)) {
                throw new IllegalArgumentException("the property url must look like " + backend.urlExample()
                        + " for " + backend.databaseClass + ": code generation creates its temporary database on"
                        + " that server");
            }
            serverUrl = url;
            user = setting(properties, "user");
            password = System.getenv(properties.getProperty("passwordEnvironmentVariable",
                    DEFAULT_PASSWORD_VARIABLE));
        } else if (image != null) {
            Containers.requireTestcontainers(backend, image, owner.getClass().getClassLoader());
            Containers.Started started = Containers.start(backend, image);
            container = started.container();
            serverUrl = started.url();
            user = backend.superuser;
            password = null;
        } else if (backend == Backend.POSTGRES) {
            embedded = EmbeddedPostgres.builder().start();
            serverUrl = embedded.getJdbcUrl("postgres", "postgres");
            user = "postgres";
            password = null;
        } else {
            throw new IllegalArgumentException(backend.databaseClass + " needs a " + backend.displayName
                    + " server (there is no embedded one): set the property url (else the system property"
                    + " sqlservice.codegen.url, else the environment variable SQLSERVICE_CODEGEN_URL) to "
                    + backend.urlExample() + ", user likewise (SQLSERVICE_CODEGEN_USER) and the password in the"
                    + " environment variable " + DEFAULT_PASSWORD_VARIABLE + "; or the property container (e.g. "
                    + (backend == Backend.MYSQL ? "mysql:8.4" : "mariadb:11.4") + ") with Testcontainers and a"
                    + " Docker engine");
        }
        credentials = new Properties();
        if (user != null) {
            credentials.setProperty("user", user);
        }
        if (password != null) {
            credentials.setProperty("password", password);
        }
        if (url != null) {
            // Before the create: a SIGTERM right after it must find the hook. Embedded PostgreSQL and containers
            // are thrown away whole (zonky's and Testcontainers' own clean-up), so they need none.
            registerShutdownHook();
        }
        synchronized (this) {
            creating = true;
        }
        try (Connection admin = connect(backend.withTimeouts(serverUrl, CONNECT_SECONDS, ADMIN_SOCKET_SECONDS));
                Statement statement = admin.createStatement()) {
            statement.execute(backend.createSql(temporaryDatabase));
        }
        synchronized (this) {
            created = true;
        }
        String databaseUrl = backend.withTimeouts(backend.withDatabase(serverUrl, temporaryDatabase),
                CONNECT_SECONDS, 0);
        Flyway.configure(classLoader())
                .dataSource(databaseUrl, user, password)
                .failOnMissingLocations(true)
                .locations(locations(properties))
                .schemas(schemas(properties))
                .placeholders(placeholders(properties))
                .load()
                .migrate();
        return connect(databaseUrl);
    }

    /**
     * A connection to {@code jdbcUrl} with the credentials; a failure names the server's host:port (never the URL's
     * parameters or the credentials) and keeps the driver's SQLState.
     */
    private Connection connect(String jdbcUrl) throws SQLException {
        try {
            return DriverManager.getConnection(jdbcUrl, credentials);
        } catch (SQLException e) {
            throw new SQLException("could not connect to the " + backend.displayName + " server at "
                    + backend.hostAndPort(jdbcUrl) + ": " + e.getMessage(), e.getSQLState(), e.getErrorCode(), e);
        }
    }

    private void registerShutdownHook() {
        Thread hook = new Thread(this::dropOnShutdown, "sqlservice-codegen-drop-" + temporaryDatabase);
        Runtime.getRuntime().addShutdownHook(hook);
        shutdownHook = hook;
    }

    /**
     * The JVM is stopping during generation (Ctrl-C, a cancelled CI job): drops the temporary database with a
     * connection of its own and short timeouts, after ending the sessions still using it (PostgreSQL:
     * {@code with (force)}; MariaDB/MySQL: {@code KILL}, else the drop waits for the migration's locks). Failures
     * are printed, not thrown: nothing else can report them now.
     */
    private void dropOnShutdown() {
        synchronized (this) {
            if (!creating && !created) {
                return;
            }
            try (Connection admin = connect(backend.withTimeouts(serverUrl, HOOK_CONNECT_SECONDS,
                    HOOK_SOCKET_SECONDS)); Statement statement = admin.createStatement()) {
                if (backend != Backend.POSTGRES) {
                    List<Long> sessions = new ArrayList<>();
                    try (var select = admin.prepareStatement("select id from information_schema.processlist"
                            + " where db = ? and id <> connection_id()")) {
                        select.setString(1, temporaryDatabase);
                        try (var rows = select.executeQuery()) {
                            while (rows.next()) {
                                sessions.add(rows.getLong(1));
                            }
                        }
                    }
                    for (long session : sessions) {
                        try {
                            statement.execute("kill connection " + session); // a number from the server
                        } catch (SQLException gone) {
                            // ended meanwhile
                        }
                    }
                }
                statement.execute(backend.dropSql(temporaryDatabase));
                creating = false;
                created = false;
            } catch (SQLException | RuntimeException e) {
                System.err.println("sqlservice-codegen: could not drop the temporary database " + temporaryDatabase
                        + " while the JVM stops (drop it by hand): " + e.getMessage());
            }
        }
    }

    /**
     * A hash of what the generated classes derive from: the properties but those choosing the server (a password
     * is never a property) and, for every location as configured (a {@code filesystem:} path relative to the base
     * directory stays relative, so a moved or cloned project keeps its version), the relative path and content of
     * every file Flyway can find there: under a {@code filesystem:} directory (symbolic links followed, as Flyway
     * does) or under a {@code classpath:} folder in every directory and jar of {@link #classLoader()}. A location
     * with a wildcard is hashed from its folder before the first wildcard (more than Flyway reads, never less).
     *
     * @throws IllegalStateException if a file cannot be read, or a location is neither {@code filesystem:} nor
     *     {@code classpath:} (or found in a class path entry that is neither a directory nor a jar): it could not
     *     be hashed, and a version that ignores it would keep stale classes
     */
    String migrationsVersion() {
        if (inputsVersion == null) {
            try {
                MessageDigest digest = MessageDigest.getInstance("SHA-256");
                Properties properties = owner.getProperties();
                for (String key : new TreeSet<>(properties.stringPropertyNames())) {
                    if (!SERVER_SETTINGS.contains(key)) {
                        update(digest, key + "=" + properties.getProperty(key));
                    }
                }
                for (String location : configuredLocations(properties)) {
                    update(digest, location);
                    for (Map.Entry<String, List<String>> file : MigrationFiles.of(location, resolved(location),
                            classLoader()).entrySet()) {
                        update(digest, file.getKey());
                        for (String contentHash : file.getValue()) {
                            update(digest, contentHash);
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

    /**
     * Where {@code classpath:} locations are looked up, for the migration and for the hash alike: the thread's
     * context class loader, which jooq-codegen-maven sets to the project's class path (its dependencies, parent:
     * the plugin's own), else this class's loader.
     */
    static ClassLoader classLoader() {
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        return context != null ? context : MigrationRun.class.getClassLoader();
    }

    private static void update(MessageDigest digest, String text) {
        digest.update(text.getBytes(StandardCharsets.UTF_8));
        digest.update((byte) 0);
    }

    /** The locations as configured (trimmed), or the default. */
    private static List<String> configuredLocations(Properties properties) {
        String configured = blankToNull(properties.getProperty("locations"));
        List<String> locations = new ArrayList<>();
        for (String location : (configured == null ? "filesystem:src/main/resources/db/migration" : configured)
                .split(",")) {
            String trimmed = location.trim();
            if (!trimmed.isEmpty()) {
                locations.add(trimmed);
            }
        }
        return locations;
    }

    /** The location with a {@code filesystem:} path resolved against the project's base directory. */
    private String resolved(String location) {
        if (!location.startsWith("filesystem:")) {
            return location;
        }
        File path = new File(location.substring("filesystem:".length()));
        if (!path.isAbsolute() && owner.getBasedir() != null) {
            path = new File(owner.getBasedir(), path.getPath());
        }
        return "filesystem:" + path.getAbsolutePath();
    }

    private String[] locations(Properties properties) {
        return configuredLocations(properties).stream().map(this::resolved).toArray(String[]::new);
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

    /**
     * Closes the connection, drops the temporary database (if it was created) and stops the embedded PostgreSQL
     * or the container, if any: each step runs even when an earlier one failed, and the first failure is thrown
     * with the later ones suppressed.
     */
    void close() {
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
        synchronized (this) {
            if (created) {
                try (Connection admin = connect(backend.withTimeouts(serverUrl, CONNECT_SECONDS,
                        ADMIN_SOCKET_SECONDS)); Statement statement = admin.createStatement()) {
                    statement.execute(backend.dropSql(temporaryDatabase));
                } catch (SQLException e) {
                    failure = keep(failure, new IllegalStateException("could not drop the temporary database "
                            + temporaryDatabase, e));
                } finally {
                    created = false;
                }
            }
            creating = false;
        }
        if (shutdownHook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is stopping: the hook runs and finds nothing left to drop
            } finally {
                shutdownHook = null;
            }
        }
        if (embedded != null) {
            try {
                embedded.close();
            } catch (IOException e) {
                failure = keep(failure, new IllegalStateException("could not stop the embedded PostgreSQL", e));
            } finally {
                embedded = null;
            }
        }
        if (container != null) {
            try {
                container.close();
            } catch (Exception e) {
                failure = keep(failure, new IllegalStateException("could not stop the container", e));
            } finally {
                container = null;
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static RuntimeException keep(RuntimeException first, RuntimeException next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }
}
