package dev.sqlservice.testing;

import dev.sqlservice.AsyncSession;
import dev.sqlservice.Database;
import dev.sqlservice.Session;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jooq.DSLContext;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * The JUnit 5 extension behind {@link SqlServiceTest}. Each test class (with its {@code @Nested} classes) leases a
 * migrated database for as long as it runs: one database serves a whole sequential run, and test classes that run
 * at the same time (JUnit's parallel mode) each get their own, so they never see each other's rows. Before each
 * test the database is brought back to the state its migrations left, seed rows included
 * ({@link TestDatabase#reset()}); after each test, a connection of the class's {@link Database} still borrowed fails
 * the test. Resolves {@link Database}, {@link AsyncSession}, {@link Session}, {@link DSLContext} and
 * {@link TestDatabase} parameters of the class's database. Everything it creates is closed, and every database it
 * created dropped, when the test run ends.
 *
 * <p>Test methods of one class share its database: do not run them concurrently
 * ({@code junit.jupiter.execution.parallel.mode.default=concurrent}) unless they do not depend on each other's rows;
 * run classes concurrently instead ({@code junit.jupiter.execution.parallel.mode.classes.default=concurrent}).
 */
public final class SqlServiceExtension implements BeforeEachCallback, AfterEachCallback, ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(SqlServiceExtension.class);

    /** Creates the extension; JUnit does this for {@code @SqlServiceTest} and {@code @ExtendWith}. */
    public SqlServiceExtension() {}

    @Override
    public void beforeEach(ExtensionContext context) {
        testDatabase(context).reset();
    }

    /**
     * Fails the test that leaves a connection of its class's database borrowed (a leak, or a call still running
     * after the test returned), after giving in-flight calls five seconds to finish.
     */
    @Override
    public void afterEach(ExtensionContext context) throws InterruptedException {
        Database database = testDatabase(context).database();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (database.activeConnections() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        if (database.activeConnections() > 0) {
            throw new AssertionError(database.activeConnections() + " connection(s) of the test database are"
                    + " still borrowed after the test: a leak, or a call the test did not wait for");
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        Class<?> type = parameter.getParameter().getType();
        return type == Database.class || type == AsyncSession.class || type == Session.class
                || type == DSLContext.class || type == TestDatabase.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        TestDatabase test = testDatabase(context);
        Class<?> type = parameter.getParameter().getType();
        if (type == TestDatabase.class) {
            return test;
        }
        if (type == Database.class) {
            return test.database();
        }
        if (type == AsyncSession.class) {
            return test.database().session();
        }
        if (type == Session.class) {
            return test.database().blockingSession();
        }
        if (type == DSLContext.class) {
            return test.database().dsl();
        }
        throw new ParameterResolutionException("cannot resolve " + type);
    }

    /** The database leased by the outermost test class of this context, leased on first use. */
    private static TestDatabase testDatabase(ExtensionContext context) {
        ExtensionContext owner = context;
        while (owner.getParent().flatMap(ExtensionContext::getTestClass).isPresent()) {
            owner = owner.getParent().orElseThrow();
        }
        SqlServiceTest annotation = owner.getTestClass()
                .flatMap(c -> AnnotationSupport.findAnnotation(c, SqlServiceTest.class))
                .orElse(null);
        List<String> migrations = annotation == null ? List.of("classpath:db/migration") : List.of(annotation.migrations());
        String container = annotation == null ? "" : annotation.container();
        Servers servers = context.getRoot().getStore(NAMESPACE)
                .computeIfAbsent(Servers.class, k -> new Servers(), Servers.class);
        return owner.getStore(NAMESPACE)
                .computeIfAbsent(Lease.class, k -> new Lease(servers.servers.pool(container, migrations)), Lease.class)
                .database;
    }

    /** Held in the root store, so JUnit closes it once, at the end of the whole run. */
    private static final class Servers implements AutoCloseable {
        final TestServers servers = new TestServers();

        @Override
        public void close() {
            servers.close();
        }
    }

    /** Held in a test class's store: JUnit closes it when the class ends, which gives the database back. */
    private static final class Lease implements AutoCloseable {
        final DatabasePool pool;
        final TestDatabase database;

        Lease(DatabasePool pool) {
            this.pool = pool;
            this.database = pool.lease();
        }

        @Override
        public void close() {
            pool.release(database);
        }
    }
}
