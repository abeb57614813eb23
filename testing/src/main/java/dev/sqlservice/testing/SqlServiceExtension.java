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
 * at the same time (JUnit's parallel mode) each get their own, so they never see each other's rows. A
 * {@code @Nested} class whose own {@code @SqlServiceTest} names other migrations or another container leases its
 * own database (on those); one without the annotation, or with the same settings, shares its enclosing class's.
 *
 * <p>Before each test the database is brought back to the state its migrations left, seed rows included
 * ({@link TestDatabase#reset()}); a reset waits at most {@value TestDatabase#LOCK_WAIT_SECONDS} seconds for a lock
 * held by a transaction an earlier test left open on a connection of its own, then ends that session and fails the
 * test it was about to run, naming the session. After each test, a connection of the class's {@link Database} still
 * borrowed (after five seconds of grace) fails the test, and the class's database is retired: its
 * {@code Database} closed, which aborts the borrowed connections and so rolls their work back, and the database
 * dropped; the next test of the class gets a freshly migrated one. A test that changed the schema (DDL, a table
 * of its own) also makes the next test get a freshly migrated database: a reset cannot undo DDL. Parameters
 * resolve per test, so a test always gets the current database; a {@code Database} (or session, or
 * {@code DSLContext}) kept in a field from an earlier test is closed after such a replacement.
 *
 * <p>Resolves {@link Database}, {@link AsyncSession}, {@link Session}, {@link DSLContext} and
 * {@link TestDatabase} parameters of the class's database. Everything it creates is closed, and every database it
 * created dropped, when the test run ends.
 *
 * <p>Test methods of one class share its database: do not run them concurrently
 * ({@code junit.jupiter.execution.parallel.mode.default=concurrent}) unless they do not depend on each other's rows;
 * run classes concurrently instead ({@code junit.jupiter.execution.parallel.mode.classes.default=concurrent}).
 */
public final class SqlServiceExtension implements BeforeEachCallback, AfterEachCallback, ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(SqlServiceExtension.class);

    private static final System.Logger LOG = System.getLogger(SqlServiceExtension.class.getName());

    /** Creates the extension; JUnit does this for {@code @SqlServiceTest} and {@code @ExtendWith}. */
    public SqlServiceExtension() {}

    /**
     * Resets the class's database. It first replaces it by a freshly migrated one when a connection of its
     * {@code Database} is still borrowed (a call an earlier test did not wait for, which a reset must not race) or
     * when the schema changed; fails the test when the reset had to end sessions an earlier test left open.
     */
    @Override
    public void beforeEach(ExtensionContext context) {
        Lease lease = lease(context);
        TestDatabase test = lease.current();
        int borrowed = test.database().activeConnections();
        if (borrowed > 0) {
            LOG.log(System.Logger.Level.WARNING, borrowed + " connection(s) of the test database were borrowed when "
                    + context.getDisplayName() + " started (after " + lease.lastTest + "): replaced by a freshly"
                    + " migrated database; the work on them is aborted");
            lease.retire();
            lease.current();
            return;
        }
        TestDatabase.Outcome outcome = test.restore();
        if (outcome.schemaChanged()) {
            LOG.log(System.Logger.Level.INFO, "the schema of the test database changed during " + lease.lastTest
                    + " (DDL): replaced by a freshly migrated database");
            lease.retire();
            lease.current();
            return;
        }
        if (!outcome.ended().isEmpty()) {
            throw new AssertionError(test.blocked(outcome.ended(), "an earlier test (" + lease.lastTest + ")"));
        }
    }

    /**
     * Fails the test that leaves a connection of its class's database borrowed (a leak, or a call still running
     * after the test returned), after giving in-flight calls five seconds to finish; the database is then retired
     * (see the class comment), so no later test sees that work or that leak.
     */
    @Override
    public void afterEach(ExtensionContext context) throws InterruptedException {
        Lease lease = lease(context);
        lease.lastTest = context.getRequiredTestClass().getName() + "." + context.getDisplayName();
        TestDatabase test = lease.current();
        Database database = test.database();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (database.activeConnections() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        int borrowed = database.activeConnections();
        if (borrowed > 0) {
            AssertionError failure = new AssertionError(borrowed + " connection(s) of the test database are still"
                    + " borrowed after the test: a leak, or a call the test did not wait for. The harness closed that"
                    + " database (aborting them: their work is rolled back); the next test gets a freshly migrated one");
            try {
                lease.retire();
            } catch (RuntimeException e) {
                failure.addSuppressed(e);
            }
            throw failure;
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
        TestDatabase test = lease(context).current();
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

    /**
     * The lease of the class level that owns this context's database, made on first use: the outermost enclosing
     * class, unless a {@code @Nested} class on the way declares a {@code @SqlServiceTest} that differs from its
     * enclosing class's (then the innermost such class).
     */
    private static Lease lease(ExtensionContext context) {
        ExtensionContext owner = context;
        while (owner.getTestMethod().isPresent() && owner.getParent().isPresent()) {
            owner = owner.getParent().orElseThrow();
        }
        while (true) {
            ExtensionContext parent = owner.getParent().filter(p -> p.getTestClass().isPresent()).orElse(null);
            if (parent == null) {
                break;
            }
            List<Object> own = settings(owner.getTestClass().orElse(null));
            if (own != null && !own.equals(settingsOrDefault(parent.getTestClass().orElse(null)))) {
                break; // a nested class with its own, different @SqlServiceTest
            }
            owner = parent;
        }
        List<Object> settings = settingsOrDefault(owner.getTestClass().orElse(null));
        @SuppressWarnings("unchecked")
        List<String> migrations = (List<String>) settings.get(0);
        String container = (String) settings.get(1);
        Servers servers = context.getRoot().getStore(NAMESPACE)
                .computeIfAbsent(Servers.class, k -> new Servers(), Servers.class);
        // Keyed by the owner: a store also answers with what its enclosing classes' stores hold.
        return owner.getStore(NAMESPACE).computeIfAbsent(List.of(Lease.class, owner.getUniqueId()),
                k -> new Lease(servers.servers.pool(container, migrations)), Lease.class);
    }

    /** A class's own {@code @SqlServiceTest} (or a superclass's) as [migrations, container]; null without one. */
    private static List<Object> settings(Class<?> testClass) {
        return testClass == null ? null : AnnotationSupport.findAnnotation(testClass, SqlServiceTest.class)
                .map(a -> List.<Object>of(List.of(a.migrations()), a.container()))
                .orElse(null);
    }

    private static List<Object> settingsOrDefault(Class<?> testClass) {
        List<Object> settings = settings(testClass);
        return settings != null ? settings : List.of(List.of("classpath:db/migration"), "");
    }

    /** Held in the root store, so JUnit closes it once, at the end of the whole run. */
    private static final class Servers implements AutoCloseable {
        final TestServers servers = new TestServers();

        @Override
        public void close() {
            servers.close();
        }
    }

    /**
     * Held in a test class's store: JUnit closes it when the class ends, which gives the database back. A retired
     * database is replaced by a newly leased one on next use.
     */
    private static final class Lease implements AutoCloseable {
        final DatabasePool pool;
        private TestDatabase database;
        volatile String lastTest = "a test of an earlier class";

        Lease(DatabasePool pool) {
            this.pool = pool;
            this.database = pool.lease(); // fails here, before the store keeps a lease, when it cannot be made
        }

        synchronized TestDatabase current() {
            if (database == null) {
                database = pool.lease();
            }
            return database;
        }

        synchronized void retire() {
            TestDatabase retired = database;
            database = null;
            if (retired != null) {
                pool.retire(retired);
            }
        }

        @Override
        public synchronized void close() {
            if (database != null) {
                pool.release(database);
                database = null;
            }
        }
    }
}
