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
 * drops it when the run ends, or earlier when it replaces it: after a test that left a connection of its
 * {@code Database} borrowed (closing that {@code Database} aborts the connection, so its work is rolled back) and
 * before a test when an earlier one changed the schema (DDL). Tests can neither close nor drop it. A test that
 * keeps this object or its {@code Database} in a field beyond one test finds it closed after such a replacement:
 * take them as parameters, which resolve per test.
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

    /** How long a reset waits for a lock before it ends the sessions holding it (seconds). */
    static final int LOCK_WAIT_SECONDS = 5;

    private static final System.Logger LOG = System.getLogger(TestDatabase.class.getName());

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
                        + ": " + server.clean(e) + failedStatement(e), server.cleanCopy(e));
            }
            admin = server.connect(name);
            server.backend().configureSession(admin, LOCK_WAIT_SECONDS);
            // Before the pool opens a session: the capture may change what sessions cache (sequences).
            Backend.Snapshot snapshot = server.backend().capture(admin, name);
            snapshot.adjustments().forEach(a -> LOG.log(System.Logger.Level.DEBUG, "test database " + name + ": " + a));
            database = Database.builder().url(url).username(server.user()).password(server.password()).build();
            return new TestDatabase(server, name, servers, database, admin, snapshot);
        } catch (SQLException e) {
            cleanUp(server, name, database, admin, e);
            throw new IllegalStateException("cannot capture the migrated state of the test database " + name
                    + " (SQLState " + e.getSQLState() + "): " + server.clean(e), server.cleanCopy(e));
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
     * location that does not exist, where Flyway would migrate nothing. A location with a wildcard ({@code *},
     * {@code **}, {@code ?}, which Flyway accepts) is not checked here: Flyway's {@code failOnMissingLocations}
     * fails when it matches nothing.
     */
    static List<String> locations(List<String> migrations, String vendor) {
        if (migrations.isEmpty()) {
            throw new IllegalStateException("@SqlServiceTest(migrations = {}) names no migration location");
        }
        List<String> locations = new ArrayList<>();
        for (String migration : migrations) {
            String location = migration.replace("{vendor}", vendor);
            String origin = location.equals(migration) ? "" : " (from '" + migration + "')";
            if (location.indexOf('*') >= 0 || location.indexOf('?') >= 0) {
                locations.add(location); // a pattern: Flyway resolves it, and fails when nothing matches
                continue;
            }
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
     * at the end of the run, or when the harness replaces this test database (see the class comment).
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
     * committed before the reset starts) are removed, rows the migrations inserted (seed data) restored, sequences
     * and AUTO_INCREMENT counters set back, materialized views (PostgreSQL) refreshed; only what changed is touched.
     * Called before each test. A lock held by a transaction left open (by an earlier test's own connection, say) is
     * waited for {@value #LOCK_WAIT_SECONDS} seconds; then the sessions of this test database holding a transaction
     * are ended, the reset done, and this method fails naming them.
     *
     * @throws IllegalStateException with the SQLState when the database fails; when the schema changed since the
     *     migrations (DDL, a table a test created): the harness replaces the database before the next test, a
     *     reset cannot undo DDL; when it had to end sessions (named in the message; the database is reset)
     */
    public void reset() {
        Outcome outcome = restore();
        if (outcome.schemaChanged()) {
            throw new IllegalStateException("the schema of the test database " + name + " changed since its"
                    + " migrations ran (DDL): a reset cannot undo that; the harness replaces the database with a freshly"
                    + " migrated one before the next test");
        }
        if (!outcome.ended().isEmpty()) {
            throw new IllegalStateException(blocked(outcome.ended(), "an earlier test"));
        }
    }

    /** What {@link #restore} did: whether the schema changed (nothing was reset then), which sessions it ended. */
    record Outcome(boolean schemaChanged, List<String> ended) {}

    /** The message for a reset that had to end sessions. */
    String blocked(List<String> ended, String culprit) {
        return "the reset of the test database " + name + " waited " + LOCK_WAIT_SECONDS + " s for locks held by a"
                + " transaction left open by " + culprit + " (on a connection of its own, not the harness's"
                + " Database); the harness ended it, and reset the database: " + String.join("; ", ended);
    }

    /**
     * {@link #reset}, reporting instead of throwing what the harness handles: a changed schema (nothing reset
     * then), sessions ended to get their locks.
     */
    synchronized Outcome restore() {
        long start = System.nanoTime();
        try {
            try {
                return restore(connection());
            } catch (SQLException first) {
                // The harness's connection may have been killed by a test (server restarts, kill statements).
                closeQuietly();
                try {
                    return restore(connection());
                } catch (SQLException e) {
                    e.addSuppressed(first);
                    throw new IllegalStateException("cannot reset the test database " + name + " (SQLState "
                            + e.getSQLState() + "): " + server.clean(e), server.cleanCopy(e));
                }
            }
        } finally {
            servers.countReset(System.nanoTime() - start);
        }
    }

    private Outcome restore(Connection c) throws SQLException {
        if (snapshot.schemaChanged(c)) {
            return new Outcome(true, List.of());
        }
        try {
            snapshot.reset(c);
            return new Outcome(false, List.of());
        } catch (SQLException e) {
            if (!server.backend().isLockTimeout(e)) {
                throw e;
            }
            List<String> ended = server.backend().endTransactions(c);
            try {
                snapshot.reset(c);
            } catch (SQLException again) {
                again.addSuppressed(e);
                throw again;
            }
            return new Outcome(false, ended.isEmpty() ? List.of("no session held a transaction any more") : ended);
        }
    }

    Server server() {
        return server;
    }

    private Connection connection() throws SQLException {
        if (admin == null || admin.isClosed()) {
            admin = server.connect(name);
            server.backend().configureSession(admin, LOCK_WAIT_SECONDS);
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

    /**
     * Closes the shared database (aborting connections still borrowed, so their work is rolled back), then drops
     * the test database; only the harness does: when the run ends, or when it retires this database (a leak, DDL).
     */
    synchronized void close() {
        try {
            closeQuietly();
            database.close();
        } finally {
            server.drop(name);
        }
    }
}
