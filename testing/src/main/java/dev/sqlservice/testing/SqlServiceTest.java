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
 * <p>Which server: {@code SQLSERVICE_TEST_URL} (with {@code SQLSERVICE_TEST_USER} and
 * {@code SQLSERVICE_TEST_PASSWORD}; or the system properties {@code sqlservice.test.url}, ...) names a
 * PostgreSQL, MariaDB or MySQL server on which a fresh, uniquely named database is created for the test run and
 * dropped after it; without it, an embedded PostgreSQL 18 is started once per test JVM. Either way the
 * migrations run once per JVM, and every table is emptied before each test (see {@link SqlServiceExtension}).
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
}
