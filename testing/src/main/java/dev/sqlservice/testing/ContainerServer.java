package dev.sqlservice.testing;

import java.util.Locale;
import java.util.UUID;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * A database server in a container (Testcontainers, an optional dependency): only this class touches its API, and
 * only {@link #start} loads it, after {@link TestServers} checked that it is on the classpath.
 */
final class ContainerServer {

    private ContainerServer() {}

    /** Starts the image, a PostgreSQL, MariaDB or MySQL server by its name, and waits until it accepts connections. */
    static Server start(String image) {
        String name = image.toLowerCase(Locale.ROOT);
        boolean postgres = name.contains("postgres");
        boolean mariadb = name.contains("mariadb");
        boolean mysql = name.contains("mysql");
        if (!postgres && !mariadb && !mysql) {
            throw new IllegalStateException("cannot tell which database the container image '" + image + "' runs:"
                    + " the harness starts images whose name says postgres, mariadb or mysql");
        }
        if (!DockerClientFactory.instance().isDockerAvailable()) {
            throw new IllegalStateException(TestServers.NO_DOCKER.formatted(image));
        }
        String password = UUID.randomUUID().toString();
        GenericContainer<?> container = new GenericContainer<>(DockerImageName.parse(image));
        int port;
        if (postgres) {
            port = 5432;
            container.withEnv("POSTGRES_PASSWORD", password)
                    .waitingFor(Wait.forLogMessage(".*database system is ready to accept connections.*\\s", 2));
        } else {
            port = 3306;
            container.withEnv(mariadb ? "MARIADB_ROOT_PASSWORD" : "MYSQL_ROOT_PASSWORD", password)
                    .waitingFor(Wait.forLogMessage(".*ready for connections.*\\s", 2));
        }
        container.withExposedPorts(port).start();
        String host = container.getHost() + ":" + container.getMappedPort(port);
        String url = postgres ? "jdbc:postgresql://" + host + "/postgres"
                : (mariadb ? "jdbc:mariadb://" : "jdbc:mysql://") + host + "/mysql";
        return new Server(url, postgres ? "postgres" : "root", password, container::stop);
    }
}
