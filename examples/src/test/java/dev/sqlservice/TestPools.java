package dev.sqlservice;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.sqlservice.testing.TestDatabase;
import org.jooq.SQLDialect;

/** Pools of the tests' own over the test database, for tests that hand a {@code dataSource} to the builder. */
final class TestPools {

    /**
     * A HikariCP pool over the test database, as a user would configure it: with the harness's user (the
     * embedded server's {@code postgres}, or {@code SQLSERVICE_TEST_USER}), MariaDB sessions on UTC unless
     * {@code initSql} says otherwise.
     */
    static HikariDataSource pool(TestDatabase test, int size, String... initSql) {
        return pool(test, test.url(), size, initSql);
    }

    /** {@link #pool(TestDatabase, int, String...)} over {@code url} (the test database behind a proxy, say). */
    static HikariDataSource pool(TestDatabase test, String url, int size, String... initSql) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        String user = setting("SQLSERVICE_TEST_USER", "sqlservice.test.user");
        String configured = setting("SQLSERVICE_TEST_URL", "sqlservice.test.url");
        config.setUsername(user != null ? user : configured == null ? "postgres" : null);
        config.setPassword(setting("SQLSERVICE_TEST_PASSWORD", "sqlservice.test.password"));
        config.setMaximumPoolSize(size);
        if (initSql.length > 0) {
            config.setConnectionInitSql(initSql[0]);
        } else if (test.dialect().family() != SQLDialect.POSTGRES) {
            config.setConnectionInitSql("set time_zone = '+00:00'");
        }
        return new HikariDataSource(config);
    }

    private static String setting(String environmentVariable, String systemProperty) {
        String value = System.getProperty(systemProperty);
        if (value == null || value.isBlank()) {
            value = System.getenv(environmentVariable);
        }
        return value == null || value.isBlank() ? null : value;
    }

    private TestPools() {}
}
