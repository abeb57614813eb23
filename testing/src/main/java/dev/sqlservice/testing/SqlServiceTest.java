package dev.sqlservice.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Gives a JUnit 5 test class a migrated database: test methods (and constructors) may declare parameters of
 * type {@link dev.sqlservice.Database}, {@link dev.sqlservice.AsyncSession}, {@link dev.sqlservice.Session},
 * {@link org.jooq.DSLContext} and {@link TestDatabase}.
 *
 * <p>Which server: a container image ({@link #container()}, or {@code SQLSERVICE_TEST_CONTAINER} /
 * {@code sqlservice.test.container}) runs on Testcontainers; else {@code SQLSERVICE_TEST_URL} (with
 * {@code SQLSERVICE_TEST_USER} and {@code SQLSERVICE_TEST_PASSWORD}; or the system properties
 * {@code sqlservice.test.url}, ...) names a PostgreSQL, MariaDB or MySQL server; else an embedded PostgreSQL 18 is
 * started once per test JVM. On it the harness creates uniquely named databases, migrated once each, and drops them
 * when the run ends: one for a sequential run, one per test class running at the same time in JUnit's parallel
 * mode. Before each test the class's database is brought back to the state its migrations left, seed rows
 * included (see {@link SqlServiceExtension} and {@link TestDatabase#reset()}). A {@code @Nested} class shares its
 * enclosing class's database, unless it carries its own {@code @SqlServiceTest} with other migrations or another
 * container: then it leases its own.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(SqlServiceExtension.class)
public @interface SqlServiceTest {

    /**
     * Flyway locations to migrate; {@code {vendor}} becomes {@code postgresql}, {@code mariadb} or
     * {@code mysql}.
     *
     * @return the migration locations, by default Flyway's {@code classpath:db/migration}
     */
    String[] migrations() default {"classpath:db/migration"};

    /**
     * A Docker image to run the tests on, e.g. {@code "postgres:18"}, {@code "mariadb:11"} or {@code "mysql:8.4"}
     * (the name must say which): needs {@code org.testcontainers:testcontainers} 2.x in the test scope and a
     * Docker engine, and fails with a message saying which is missing. Empty: {@code SQLSERVICE_TEST_CONTAINER}, else
     * {@code SQLSERVICE_TEST_URL}, else the embedded PostgreSQL.
     *
     * @return the image, or empty
     */
    String container() default "";
}
