package dev.sqlservice.testing;

import dev.sqlservice.Database;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.jooq.SQLDialect;

/**
 * A migrated database made for one test run: its connection settings, a shared {@link Database} over it, and a
 * way to empty it. Thread-safe. It is shared by every test class with the same migrations, so tests cannot close
 * or drop it: the harness does when the run ends.
 */
public final class TestDatabase {

    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private final String url;
    private final String username;
    private final String password;
    private final Runnable onClose;
    private final Database database;
    private final List<String> tables;

    TestDatabase(String url, String username, String password, List<String> migrations, Runnable onClose) {
        this.url = url;
        this.username = username;
        this.password = password;
        this.onClose = onClose;
        this.database = builder().migrate(migrations.toArray(String[]::new)).build();
        this.tables = userTables();
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
     * The database shared by every test of the run that uses the same migrations; closed at the end of the run.
     *
     * @return a shared database; do not close it
     */
    public Database database() {
        return database;
    }

    /**
     * A builder already pointing at this test database, for a test that needs its own settings (pool size,
     * executor, timeouts); the test closes what it builds.
     *
     * @return a new builder
     */
    public Database.Builder builder() {
        return Database.builder().url(url).username(username).password(password);
    }

    /**
     * Empties every table except Flyway's history, restarting identity sequences. Called before each test.
     *
     * @throws org.jooq.exception.DataAccessException when the database fails
     */
    public void truncateAll() {
        if (tables.isEmpty()) {
            return;
        }
        if (dialect().family() == SQLDialect.POSTGRES) {
            database.blockingSession().execute("truncate table " + String.join(", ", tables) + " restart identity cascade");
        } else {
            database.blockingSession().transaction(tx -> {
                tx.execute("set foreign_key_checks = 0");
                tables.forEach(t -> tx.execute("truncate table " + t));
                tx.execute("set foreign_key_checks = 1");
                return null;
            });
        }
    }

    private List<String> userTables() {
        String sql = dialect().family() == SQLDialect.POSTGRES
                ? "select quote_ident(table_name) from information_schema.tables where table_schema = current_schema()"
                        + " and table_type = 'BASE TABLE' and table_name <> 'flyway_schema_history' order by 1"
                : "select concat('`', table_name, '`') from information_schema.tables where table_schema = database()"
                        + " and table_type = 'BASE TABLE' and table_name <> 'flyway_schema_history' order by 1";
        List<String> names = new ArrayList<>();
        database.blockingSession().all(sql).forEach(r -> names.add(r.get(0, String.class)));
        return List.copyOf(names);
    }

    /** Closes the shared database, then drops the test database; only the harness does, when the run ends. */
    void close() {
        database.close();
        onClose.run();
    }

    static void executeAsAdmin(String url, String username, String password, String sql) {
        try (Connection c = DriverManager.getConnection(url, username, password); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("test database setup failed (SQLState " + e.getSQLState() + "): "
                    + e.getMessage(), e);
        }
    }
}
