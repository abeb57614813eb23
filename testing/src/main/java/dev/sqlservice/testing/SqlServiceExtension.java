package dev.sqlservice.testing;

import dev.sqlservice.AsyncSession;
import dev.sqlservice.Database;
import dev.sqlservice.Session;
import java.util.List;
import org.jooq.DSLContext;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * The JUnit 5 extension behind {@link SqlServiceTest}: provisions the test database once per JVM and set of
 * migrations, empties every table before each test (so tests never see each other's rows, whatever thread or
 * connection wrote them), and resolves {@link Database}, {@link AsyncSession}, {@link Session},
 * {@link DSLContext} and {@link TestDatabase} parameters, and fails a test that leaves a connection of the shared
 * database borrowed. Everything it creates is closed, and every database it
 * created on an external server dropped, when the test run ends.
 *
 * <p>Tests of one class run against one shared database; do not run them concurrently (JUnit's parallel mode)
 * unless they do not depend on the tables being empty.
 */
public final class SqlServiceExtension implements BeforeEachCallback, AfterEachCallback, ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(SqlServiceExtension.class);

    /** Creates the extension; JUnit does this for {@code @SqlServiceTest} and {@code @ExtendWith}. */
    public SqlServiceExtension() {}

    @Override
    public void beforeEach(ExtensionContext context) {
        testDatabase(context).truncateAll();
    }

    /**
     * Fails the test that leaves a connection of the shared database borrowed (a leak, or a call still running
     * after the test returned), after giving in-flight calls five seconds to finish.
     */
    @Override
    public void afterEach(ExtensionContext context) throws InterruptedException {
        Database database = testDatabase(context).database();
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
        while (database.activeConnections() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        if (database.activeConnections() > 0) {
            throw new AssertionError(database.activeConnections() + " connection(s) of the shared test database are"
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

    private static TestDatabase testDatabase(ExtensionContext context) {
        List<String> migrations = context.getTestClass()
                .flatMap(c -> AnnotationSupport.findAnnotation(c, SqlServiceTest.class))
                .map(a -> List.of(a.migrations()))
                .orElse(List.of("classpath:db/migration"));
        Servers servers = context.getRoot().getStore(NAMESPACE)
                .computeIfAbsent(Servers.class, k -> new Servers(), Servers.class);
        return servers.servers.database(migrations);
    }

    /** Held in the root store, so JUnit closes it once, at the end of the whole run. */
    private static final class Servers implements AutoCloseable {
        final TestServers servers = new TestServers();

        @Override
        public void close() {
            servers.close();
        }
    }
}
