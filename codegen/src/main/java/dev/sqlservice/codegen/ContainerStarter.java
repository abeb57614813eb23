package dev.sqlservice.codegen;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.utility.DockerImageName;

/** Uses Testcontainers; loaded only after {@link Containers#requireTestcontainers} found it. */
final class ContainerStarter {

    private static final long READY_TIMEOUT_MILLIS = 120_000;

    private ContainerStarter() {}

    static Containers.Started start(Backend backend, String image) {
        if (!dockerAvailable()) {
            throw new IllegalStateException("the property container (" + image + ") needs a Docker engine, and"
                    + " Testcontainers found none: start one, or leave out container: "
                    + Containers.alternatives(backend));
        }
        GenericContainer<?> container = new GenericContainer<>(DockerImageName.parse(image))
                .withExposedPorts(backend.port)
                .withEnv(backend.containerEnvironment);
        try {
            container.start();
            String url = backend.containerUrl(container.getHost(), container.getMappedPort(backend.port));
            awaitConnection(backend, url);
            return new Containers.Started(container, url);
        } catch (RuntimeException e) {
            try {
                container.close();
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** The port opens before the server accepts connections (an image's entrypoint restarts it once). */
    private static void awaitConnection(Backend backend, String url) {
        Properties credentials = new Properties();
        credentials.setProperty("user", backend.superuser);
        long deadline = System.currentTimeMillis() + READY_TIMEOUT_MILLIS;
        SQLException last = null;
        while (System.currentTimeMillis() < deadline) {
            try (Connection ignored = DriverManager.getConnection(url, credentials)) {
                return;
            } catch (SQLException e) {
                last = e;
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the container's server", e);
            }
        }
        throw new IllegalStateException("the container's " + backend.displayName + " server did not accept a"
                + " connection within " + READY_TIMEOUT_MILLIS / 1000 + " s", last);
    }
}
