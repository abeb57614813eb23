package dev.sqlservice.codegen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jooq.codegen.GenerationTool;
import org.jooq.meta.jaxb.Configuration;
import org.jooq.meta.jaxb.Database;
import org.jooq.meta.jaxb.Generator;
import org.jooq.meta.jaxb.Property;
import org.jooq.meta.jaxb.Target;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;

/**
 * What code generation says when it cannot run, before any server is reached: MariaDB without a URL, an
 * {@code <inputSchema>} on MariaDB, and the opt-in container without Testcontainers or without Docker. None of these
 * needs a server or Docker (the container tests are skipped where a Docker engine exists: they must not start one).
 */
class CodegenSetupTest {

    @Test
    void mariadb_without_a_url__fails_naming_the_properties_and_environment_variables(@TempDir Path dir)
            throws Exception {
        assumeTrue(System.getenv("SQLSERVICE_CODEGEN_URL") == null, "SQLSERVICE_CODEGEN_URL names a server here");
        assumeTrue(System.getProperty("sqlservice.codegen.url") == null, "sqlservice.codegen.url names a server");

        assertThatThrownBy(() -> GenerationTool.generate(configuration(dir, FlywayMariaDBDatabase.class, null)))
                .hasStackTraceContaining("FlywayMariaDBDatabase needs a MariaDB server (there is no embedded one)")
                .hasStackTraceContaining("set the property url")
                .hasStackTraceContaining("SQLSERVICE_CODEGEN_URL")
                .hasStackTraceContaining("SQLSERVICE_CODEGEN_USER")
                .hasStackTraceContaining("SQLSERVICE_CODEGEN_PASSWORD")
                .hasStackTraceContaining("the property container");
    }

    @Test
    void mariadb_with_an_input_schema__is_refused_before_connecting_anywhere(@TempDir Path dir) throws Exception {
        Configuration configuration = configuration(dir, FlywayMariaDBDatabase.class,
                new Property().withKey("url").withValue("jdbc:mariadb://127.0.0.1:1/"));
        configuration.getGenerator().getDatabase().setInputSchema("app");

        assertThatThrownBy(() -> GenerationTool.generate(configuration))
                .hasStackTraceContaining("leave <inputSchema> (here app) out of the configuration of"
                        + " FlywayMariaDBDatabase");
    }

    @Test
    void mariadb_with_flyway_schemas__is_refused_because_a_schema_is_a_database_of_the_server(@TempDir Path dir)
            throws Exception {
        Configuration configuration = configuration(dir, FlywayMariaDBDatabase.class,
                new Property().withKey("url").withValue("jdbc:mariadb://127.0.0.1:1/"));
        configuration.getGenerator().getDatabase().getProperties()
                .add(new Property().withKey("schemas").withValue("app"));

        assertThatThrownBy(() -> GenerationTool.generate(configuration))
                .hasStackTraceContaining("the property schemas is for PostgreSQL: on MariaDB a schema is a database");
    }

    @Test
    void container_without_a_docker_engine__fails_naming_the_embedded_default_and_url(@TempDir Path dir)
            throws Exception {
        assumeFalse(DockerClientFactory.instance().isDockerAvailable(),
                "a Docker engine is here: this test proves the error without one and must not start a container");

        assertThatThrownBy(() -> GenerationTool.generate(configuration(dir, FlywayPostgresDatabase.class,
                new Property().withKey("container").withValue("postgres:18"))))
                .hasStackTraceContaining("the property container (postgres:18) needs a Docker engine")
                .hasStackTraceContaining("embedded PostgreSQL 18, the default")
                .hasStackTraceContaining("the property url (or SQLSERVICE_CODEGEN_URL)");
        assertThatThrownBy(() -> GenerationTool.generate(configuration(dir, FlywayMariaDBDatabase.class,
                new Property().withKey("container").withValue("mariadb:11.4"))))
                .hasStackTraceContaining("the property container (mariadb:11.4) needs a Docker engine")
                .hasStackTraceContaining("there is no embedded MariaDB");
    }

    @Test
    void container_without_testcontainers__fails_naming_the_dependency_to_add(@TempDir Path dir) throws Exception {
        // jOOQ's generator and sqlservice-codegen in a class loader without Testcontainers, as in a plugin block
        // that lists sqlservice-codegen only.
        List<URL> urls = new ArrayList<>();
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        for (String entry : classPath.split(File.pathSeparator)) {
            if (!entry.isBlank() && !entry.contains("testcontainers")) {
                urls.add(Path.of(entry).toUri().toURL());
            }
        }
        Files.createDirectories(dir.resolve("migrations"));
        String xml = """
                <configuration xmlns="http://www.jooq.org/xsd/jooq-codegen-3.21.0.xsd">
                  <basedir>%s</basedir>
                  <generator>
                    <database>
                      <name>dev.sqlservice.codegen.FlywayPostgresDatabase</name>
                      <inputSchema>public</inputSchema>
                      <properties>
                        <property><key>locations</key><value>filesystem:migrations</value></property>
                        <property><key>container</key><value>postgres:18</value></property>
                      </properties>
                    </database>
                    <target>
                      <packageName>dev.sqlservice.codegen.isolated</packageName>
                      <directory>%s</directory>
                    </target>
                  </generator>
                </configuration>
                """.formatted(dir, dir.resolve("generated"));
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        try (URLClassLoader isolated = new URLClassLoader(urls.toArray(URL[]::new),
                ClassLoader.getPlatformClassLoader())) {
            assertThatThrownBy(() -> isolated.loadClass("org.testcontainers.containers.GenericContainer"))
                    .as("the isolated class loader").isInstanceOf(ClassNotFoundException.class);
            thread.setContextClassLoader(isolated);
            Class<?> tool = isolated.loadClass(GenerationTool.class.getName());
            assertThatThrownBy(() -> {
                try {
                    tool.getMethod("generate", String.class).invoke(null, xml);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            })
                    .hasStackTraceContaining("Testcontainers is not on the code generator's class path")
                    .hasStackTraceContaining("add the dependency org.testcontainers:testcontainers:2.0.5 to the"
                            + " <dependencies> of jooq-codegen-maven")
                    .hasStackTraceContaining("embedded PostgreSQL 18");
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    private static Configuration configuration(Path basedir, Class<?> database, Property extra) throws Exception {
        Files.createDirectories(basedir.resolve("migrations"));
        List<Property> properties = new ArrayList<>(List.of(
                new Property().withKey("locations").withValue("filesystem:migrations")));
        if (extra != null) {
            properties.add(extra);
        }
        Database db = new Database().withName(database.getName()).withProperties(properties);
        if (database == FlywayPostgresDatabase.class) {
            db.setInputSchema("public");
        }
        return new Configuration()
                .withBasedir(basedir.toString())
                .withGenerator(new Generator()
                        .withDatabase(db)
                        .withTarget(new Target()
                                .withPackageName("dev.sqlservice.codegen.setup")
                                .withDirectory(basedir.resolve("generated").toString())));
    }
}
