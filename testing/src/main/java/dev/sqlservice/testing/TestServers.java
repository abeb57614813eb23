package dev.sqlservice.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Where test databases come from, for one test run: a container when one is named (annotation, then
 * {@code SQLSERVICE_TEST_CONTAINER}), else the server of {@code SQLSERVICE_TEST_URL}, else an embedded PostgreSQL
 * started once per JVM. One {@link DatabasePool} per server and set of migrations. Thread-safe.
 */
final class TestServers {

    static final String TESTCONTAINERS_CLASS = "org.testcontainers.DockerClientFactory";

    static final String NO_TESTCONTAINERS = "a test container (%s) needs Testcontainers on the test classpath: add"
            + " org.testcontainers:testcontainers (2.x) with <scope>test</scope>";

    static final String NO_DOCKER = "a test container (%s) needs a running Docker engine, and none was found. Without"
            + " Docker, leave the container unset to run on the embedded PostgreSQL 18 (the default), or set"
            + " SQLSERVICE_TEST_URL (with SQLSERVICE_TEST_USER and SQLSERVICE_TEST_PASSWORD) to a PostgreSQL, MariaDB"
            + " or MySQL server";

    private final Map<String, Server> servers = new ConcurrentHashMap<>();
    private final Map<List<Object>, DatabasePool> pools = new ConcurrentHashMap<>();
    private final AtomicLong resets = new AtomicLong();
    private final AtomicLong resetNanos = new AtomicLong();

    /**
     * The pool of migrated databases for these migrations on the server chosen for a test class.
     *
     * @param container the image named by the class's annotation, or empty
     */
    DatabasePool pool(String container, List<String> migrations) {
        String image = container.isBlank() ? setting("SQLSERVICE_TEST_CONTAINER", "sqlservice.test.container") : container;
        String key = image != null ? "container:" + image : "default";
        Server server = servers.computeIfAbsent(key, k -> image != null ? container(image, getClass().getClassLoader())
                : defaultServer());
        return pools.computeIfAbsent(List.of(key, migrations), k -> new DatabasePool(server, migrations, this));
    }

    /** A container server, with a clear error when Testcontainers is missing or Docker is. */
    static Server container(String image, ClassLoader loader) {
        try {
            Class.forName(TESTCONTAINERS_CLASS, false, loader);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalStateException(NO_TESTCONTAINERS.formatted(image), e);
        }
        return ContainerServer.start(image);
    }

    private static Server defaultServer() {
        String url = setting("SQLSERVICE_TEST_URL", "sqlservice.test.url");
        if (url == null) {
            EmbeddedServer embedded = EmbeddedServer.start();
            return new Server(embedded.url("postgres"), "postgres", "", embedded);
        }
        Urls.withDatabase(url, "x"); // fails fast on a malformed URL
        return new Server(url, setting("SQLSERVICE_TEST_USER", "sqlservice.test.user"),
                setting("SQLSERVICE_TEST_PASSWORD", "sqlservice.test.password"), () -> {});
    }

    void countReset(long nanos) {
        resets.incrementAndGet();
        resetNanos.addAndGet(nanos);
    }

    /** Drops every test database, then stops the servers the harness started. */
    void close() {
        List<RuntimeException> failures = new ArrayList<>();
        int databases = pools.values().stream().mapToInt(DatabasePool::size).sum();
        pools.values().forEach(p -> {
            try {
                p.close();
            } catch (RuntimeException e) {
                failures.add(e);
            }
        });
        String stats = setting("SQLSERVICE_TEST_STATS", "sqlservice.test.stats");
        if (stats != null) {
            String line = "sqlservice-testing: " + resets.get() + " resets, " + resetNanos.get() / 1_000_000 + " ms, "
                    + databases + " database(s)\n";
            try {
                Files.writeString(Path.of(stats), line, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
            } catch (IOException e) {
                failures.add(new IllegalStateException("cannot write " + stats, e));
            }
        }
        pools.clear();
        servers.values().forEach(s -> {
            try {
                s.close();
            } catch (Exception e) {
                failures.add(new IllegalStateException("cannot stop a test server: " + e.getMessage(), e));
            }
        });
        servers.clear();
        if (!failures.isEmpty()) {
            RuntimeException first = failures.getFirst();
            failures.stream().skip(1).forEach(first::addSuppressed);
            throw first;
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
