package dev.sqlservice.testing;

import dev.sqlservice.Database;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.jooq.SQLDialect;

/**
 * A migrated database of the test run, leased to one test class at a time: its connection settings, a shared
 * {@link Database} over it, and a way back to the state the migrations left. Thread-safe. The harness made it and
 * drops it when the run ends; tests can neither close nor drop it.
 */
public final class TestDatabase {

    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private final Server server;
    private final String name;
    private final String url;
    private final TestServers servers;
    private final Database database;
    private final Backend.Snapshot snapshot;
    private Connection admin;

    private TestDatabase(Server server, String name, TestServers servers, Database database, Connection admin,
            Backend.Snapshot snapshot) {
        this.server = server;
        this.name = name;
        this.url = server.url(name);
        this.servers = servers;
        this.database = database;
        this.admin = admin;
        this.snapshot = snapshot;
    }

    /** Creates a uniquely named database on the server, migrates it and captures its migrated state. */
    static TestDatabase create(Server server, List<String> migrations, TestServers servers) {
        List<String> locations = locations(migrations, server.vendor());
        String name = uniqueName();
        server.create(name);
        Database database = null;
        Connection admin = null;
        try {
            String url = server.url(name);
            try {
                Flyway.configure(Thread.currentThread().getContextClassLoader())
                        .dataSource(url, server.user(), server.password())
                        .locations(locations.toArray(String[]::new))
                        .failOnMissingLocations(true)
                        .load()
                        .migrate();
            } catch (FlywayException e) {
                throw new IllegalStateException("the migrations " + locations + " failed on the test database " + name
                        + ": " + e.getMessage() + failedStatement(e), e);
            }
            database = Database.builder().url(url).username(server.user()).password(server.password()).build();
            admin = server.connect(name);
            Backend.Snapshot snapshot = server.backend().capture(admin, name);
            return new TestDatabase(server, name, servers, database, admin, snapshot);
        } catch (SQLException e) {
            cleanUp(server, name, database, admin, e);
            throw new IllegalStateException("cannot capture the migrated state of the test database " + name
                    + " (SQLState " + e.getSQLState() + "): " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            cleanUp(server, name, database, admin, e);
            throw e;
        }
    }

    /** The statement that failed, which Flyway's message leaves out unless it runs with debug logging. */
    private static String failedStatement(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof org.flywaydb.core.internal.sqlscript.FlywaySqlScriptException script
                    && script.getStatement() != null) {
                return "\nFailed statement (line " + script.getLineNumber() + "): " + script.getStatement().strip();
            }
        }
        return "";
    }

    private static void cleanUp(Server server, String name, Database database, Connection admin, Throwable failure) {
        try {
            if (admin != null) {
                admin.close();
            }
            if (database != null) {
                database.close();
            }
            server.drop(name);
        } catch (SQLException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    /**
     * The Flyway locations with {@code {vendor}} replaced; fails naming a {@code classpath:} or {@code filesystem:}
     * location that does not exist, where Flyway would migrate nothing.
     */
    static List<String> locations(List<String> migrations, String vendor) {
        if (migrations.isEmpty()) {
            throw new IllegalStateException("@SqlServiceTest(migrations = {}) names no migration location");
        }
        List<String> locations = new ArrayList<>();
        for (String migration : migrations) {
            String location = migration.replace("{vendor}", vendor);
            String origin = location.equals(migration) ? "" : " (from '" + migration + "')";
            if (location.startsWith("filesystem:")) {
                Path path = Path.of(location.substring("filesystem:".length()));
                if (!Files.isDirectory(path)) {
                    throw new IllegalStateException("the migration location '" + location + "'" + origin
                            + " does not exist: no directory " + path.toAbsolutePath());
                }
            } else if (location.startsWith("classpath:") || !location.contains(":")) {
                String path = location.substring(location.indexOf(':') + 1);
                path = path.startsWith("/") ? path.substring(1) : path;
                URL found = Thread.currentThread().getContextClassLoader().getResource(path);
                if (found == null) {
                    throw new IllegalStateException("the migration location '" + location + "'" + origin
                            + " does not exist: no resource " + path + " on the test classpath");
                }
            }
            locations.add(location);
        }
        return List.copyOf(locations);
    }

    /** A database name no other run or JVM will pick: {@code sqlservice_test_<time>_<pid>_<n>}. */
    static String uniqueName() {
        return "sqlservice_test_" + Long.toString(System.currentTimeMillis(), 36) + "_" + ProcessHandle.current().pid()
                + "_" + SEQUENCE.incrementAndGet();
    }

    /**
     * The JDBC URL of this test database.
     *
     * @return a JDBC URL
     */
    public String url() {
        return url;
    }

    /**
     * The dialect of this test database.
     *
     * @return the dialect
     */
    public SQLDialect dialect() {
        return database.dialect();
    }

    /**
     * The database of the test class that runs now (test classes running in parallel each have their own); closed
     * at the end of the run.
     *
     * @return a shared database; do not close it
     */
    public Database database() {
        return database;
    }

    /**
     * A builder already pointing at this test database with the harness's user, for a test that needs its own
     * settings (pool size, executor, timeouts); the test closes what it builds.
     *
     * @return a new builder
     */
    public Database.Builder builder() {
        return Database.builder().url(url).username(server.user()).password(server.password());
    }

    /**
     * Brings the database back to the state its migrations left: rows written since (by any connection or thread,
     * committed) are removed, rows the migrations inserted (seed data) restored, sequences and AUTO_INCREMENT
     * counters set back; only the tables that changed are touched. Tables a test created itself are left alone.
     * Called before each test; waits for locks that open transactions hold on the tables.
     *
     * @throws IllegalStateException with the SQLState when the database fails
     */
    public synchronized void reset() {
        long start = System.nanoTime();
        try {
            try {
                snapshot.reset(connection());
            } catch (SQLException first) {
                // The harness's connection may have been killed by a test (server restarts, kill statements).
                closeQuietly();
                try {
                    snapshot.reset(connection());
                } catch (SQLException e) {
                    e.addSuppressed(first);
                    throw new IllegalStateException("cannot reset the test database " + name + " (SQLState "
                            + e.getSQLState() + "): " + e.getMessage(), e);
                }
            }
        } finally {
            servers.countReset(System.nanoTime() - start);
        }
    }

    Server server() {
        return server;
    }

    private Connection connection() throws SQLException {
        if (admin == null || admin.isClosed()) {
            admin = server.connect(name);
        }
        return admin;
    }

    private void closeQuietly() {
        try {
            if (admin != null) {
                admin.close();
            }
        } catch (SQLException ignored) {
            // the connection is broken already
        }
        admin = null;
    }

    /** Closes the shared database, then drops the test database; only the harness does, when the run ends. */
    synchronized void close() {
        try {
            closeQuietly();
            database.close();
        } finally {
            server.drop(name);
        }
    }
}
