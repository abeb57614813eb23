package dev.sqlservice.testing;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where test databases come from: the server named by {@code SQLSERVICE_TEST_URL}, or an embedded PostgreSQL
 * started once per JVM. One {@link TestDatabase} per set of migrations, created on first use.
 */
final class TestServers {

    private static final Pattern DATABASE_IN_URL = Pattern.compile("^(jdbc:[a-z]+://[^/?;]+/)([^?;]*)(.*)$");

    private final Map<List<String>, TestDatabase> databases = new ConcurrentHashMap<>();
    private volatile EmbeddedServer embedded;

    TestDatabase database(List<String> migrations) {
        return databases.computeIfAbsent(migrations, this::create);
    }

    private TestDatabase create(List<String> migrations) {
        String url = setting("SQLSERVICE_TEST_URL", "sqlservice.test.url");
        String name = TestDatabase.uniqueName();
        if (url == null) {
            EmbeddedServer server = embeddedServer();
            String adminUrl = server.url("postgres");
            TestDatabase.executeAsAdmin(adminUrl, "postgres", "", "create database " + name);
            return new TestDatabase(server.url(name), "postgres", "", migrations,
                    () -> TestDatabase.executeAsAdmin(adminUrl, "postgres", "", "drop database " + name + " with (force)"));
        }
        String user = setting("SQLSERVICE_TEST_USER", "sqlservice.test.user");
        String password = setting("SQLSERVICE_TEST_PASSWORD", "sqlservice.test.password");
        Matcher m = DATABASE_IN_URL.matcher(url);
        if (!m.matches()) {
            throw new IllegalStateException("SQLSERVICE_TEST_URL must look like jdbc:<driver>://host[:port]/database[?...]");
        }
        String testUrl = m.group(1) + name + m.group(3);
        String drop = url.startsWith("jdbc:postgresql:") ? "drop database if exists " + name + " with (force)"
                : "drop database if exists " + name;
        TestDatabase.executeAsAdmin(url, user, password, "create database " + name);
        try {
            return new TestDatabase(testUrl, user, password, migrations,
                    () -> TestDatabase.executeAsAdmin(url, user, password, drop));
        } catch (RuntimeException | Error e) {
            TestDatabase.executeAsAdmin(url, user, password, drop);
            throw e;
        }
    }

    private synchronized EmbeddedServer embeddedServer() {
        if (embedded == null) {
            embedded = EmbeddedServer.start();
        }
        return embedded;
    }

    /** Drops every test database, then stops the embedded server if one was started. */
    void close() {
        RuntimeException failure = null;
        for (TestDatabase database : databases.values()) {
            try {
                database.close();
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
        }
        databases.clear();
        if (embedded != null) {
            embedded.close();
            embedded = null;
        }
        if (failure != null) {
            throw failure;
        }
    }

    static String setting(String environmentVariable, String systemProperty) {
        String value = System.getProperty(systemProperty);
        if (value == null || value.isBlank()) {
            value = System.getenv(environmentVariable);
        }
        return value == null || value.isBlank() ? null : value;
    }
}
