package dev.sqlservice;

import static dev.sqlservice.FaultFixture.awaitTrue;
import static dev.sqlservice.FaultFixture.field;
import static dev.sqlservice.FaultFixture.awaitFailure;
import static dev.sqlservice.FaultFixture.awaitOutcome;
import static dev.sqlservice.FaultFixture.millisSince;
import static dev.sqlservice.FaultFixture.onOwnThread;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.sqlservice.testing.TestDatabase;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.jooq.SQLDialect;
import org.jooq.conf.Settings;
import org.jooq.conf.StatementType;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Independent review (third of the session) of b188d44: the connections jOOQ's provider lends for
 * {@code Database.dsl()} work inside a call are counted in {@code Call.borrowed} until given back, and
 * {@code Calls.start} takes a statement as running on one of them when {@code Statement.getConnection() ==
 * lease.connection()} ({@code Calls.leaseOf}), otherwise as running on the call's own connection.
 *
 * <p>The finding: that identity test fails for every statement whose {@code getConnection()} is not the very object
 * the provider lent, and the fallback is the call's OWN connection. jOOQ itself wraps statements that way:
 * {@code SettingsEnabledPreparedStatement} (every {@code DSLContext.batch(Query...)} / {@code queries(..)
 * .executeBatch()}, and every statement under {@code StatementType.STATIC_STATEMENT}) and
 * {@code DiagnosticsStatement} ({@code DiagnosticsConnection.ON}) answer jOOQ's {@code ProviderEnabledConnection} /
 * {@code DiagnosticsConnection}; a user's data source whose connections are proxies that hand out the driver's
 * statements (Spring's {@code TransactionAwareDataSourceProxy}, {@code LazyConnectionDataSourceProxy}, hand-made
 * wrappers) answers the driver's connection. Such a statement inside a call is timed, probed and aborted as the
 * call's own statement: the defects GapsReviewTest and EighthReviewTest fixed come back, and for a plain
 * single statement they are a regression of b188d44 (e432965 took the first statement after the lend as the lent
 * connection's, whatever its wrapper). Measured on b188d44 by sampling {@code Call.statementLease} while each
 * statement ran in a forEach action: a plain fetch, execute, lazy cursor, {@code begin} block, a query of 40,000
 * binds (inlined by jOOQ) and a {@code BatchSingle} are taken as lent; {@code batch(Query...)} (one query or more),
 * {@code queries().executeBatch()}, STATIC_STATEMENT and DiagnosticsConnection.ON statements as the call's own.
 *
 * <p>{@code DEFECT__} tests fail on b188d44 (what is wrong, what would be right: in the comment above each);
 * {@code CHECKED__} tests pass and guard what was checked. Network faults through {@link FaultProxy} on 127.0.0.1.
 */
@ExampleDatabase
@Tag("reliability")
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LentReviewTest {

    private static final String ONE = "select 1 as one";

    private TestDatabase test;
    private FaultProxy proxy;
    private FaultFixture fixture;

    @BeforeEach
    void setUp(TestDatabase test) throws Exception {
        this.test = test;
        // opened before any assumption, so that tearDown finds it on every backend
        this.proxy = new FaultProxy(FaultProxy.hostOf(test.url()), FaultProxy.portOf(test.url()));
        this.fixture = new FaultFixture(proxy);
    }

    @AfterEach
    void tearDown() throws Exception {
        fixture.close();
    }

    private boolean postgres() {
        return test.dialect().family() == SQLDialect.POSTGRES;
    }

    /** A query of {@code n} rows (1..n), in the backend's SQL. */
    private String rows(int n) {
        return postgres() ? "select g from generate_series(1, " + n + ") g" : "select seq as g from seq_1_to_" + n;
    }

    /** A statement that sleeps on the server, usable in a JDBC batch. */
    private String sleep(double seconds) {
        return postgres() ? "select pg_sleep(" + seconds + ")" : "do sleep(" + seconds + ")";
    }

    // =========================================================================================================
    // The finding: Calls.leaseOf matches Statement.getConnection() by identity, and falls back to the call's own
    // =========================================================================================================

    // DEFECT (liveness, one database, default settings, healthy network): a db.dsl().batch(Query...) in a forEach
    // action gets the forEach's healthy stream connection aborted. jOOQ runs a batch of queries (BatchMultiple, also
    // for a single query) on a SettingsEnabledPreparedStatement whose getConnection() is jOOQ's
    // ProviderEnabledConnection wrapper, not the connection the provider lent. Calls.leaseOf finds no lent lease of
    // that identity and returns call.lease, the stream's connection, as Call.statementLease. The liveness watch
    // (deadConnectionTimeout 1 s) then probes the stream's idle session during the 1.5 s batch, finds its statement
    // "not running" and aborts the stream's connection: the forEach fails at its next batch ("the connection of this
    // call was aborted" / 08003), after having read only part of its 1,500 rows, on a healthy network. This is the
    // GapsReviewTest liveness defect again, for a batch; e432965 (the first start after the lend) took it right.
    // Right: the batch is taken as running on its lent connection (the probe goes to the batch's session, which is
    // running), the stream's connection is left alone and the forEach reads its 1,500 rows. Fix idea: match on the
    // unwrapped physical connection (unwrap(Connection.class) on both sides, or jOOQ's ctx.connection() unwrapped
    // at executeStart), or, better, take the lent connection from the ExecuteContext (its provider's acquire) and
    // never fall back to the call's connection for a statement of Database.dsl() made while leases are lent.
    @Test
    void liveness_DEFECT__a_dsl_batch_in_a_forEach_action_gets_the_streams_healthy_connection_aborted() throws Exception {
        Database db = fixture.open(test.builder().poolSize(3).acquisitionTimeout(Duration.ofSeconds(5))
                .deadConnectionTimeout(Duration.ofSeconds(1)));
        AtomicBoolean ran = new AtomicBoolean();
        CompletableFuture<Long> f = db.session().forEach(rows(1_500), Map.of(), r -> {
            if (ran.compareAndSet(false, true)) {
                // e.g. two writes sent as one round trip; the first takes 1.5 s on the server
                db.dsl().batch(DSL.query(sleep(1.5)), DSL.query(sleep(0))).execute();
            }
        }).toCompletableFuture();
        Throwable failure = awaitOutcome(f, System.nanoTime(), 20_000);
        assertThat(ran).as("the action ran its batch").isTrue();
        assertThat(failure).as("a forEach whose action ran a 1.5 s db.dsl().batch(...) on a healthy network").isNull();
        assertThat(f.get()).isEqualTo(1_500L);
        assertThat(db.activeConnections()).isZero();
    }

    // DEFECT (liveness, one database, jOOQ settings handed to the builder): with Settings.withStatementType(
    // STATIC_STATEMENT) (a setting the library accepts and documents: Database.runsPreparedDirectly names it), every
    // jOOQ statement is a SettingsEnabledPreparedStatement whose getConnection() is jOOQ's wrapper. So the exact
    // scenario GapsReviewTest fixed (one db.dsl().fetch of 1.5 s in a forEach action, deadConnectionTimeout 1 s,
    // healthy network) fails again: the statement is taken as the stream's, the watch probes the stream's idle
    // session and aborts the stream's connection; the forEach fails. A regression of b188d44 (e432965 passed it).
    // (The same happens with Settings.withDiagnosticsConnection(ON): DiagnosticsStatement.getConnection() answers
    // jOOQ's DiagnosticsConnection; measured, not kept as a test.)
    // Right: as with default settings, the statement is watched on its lent connection and the forEach reads its
    // 1,500 rows.
    @Test
    void liveness_DEFECT__static_statements_make_a_dsl_statement_in_a_forEach_action_abort_the_stream() throws Exception {
        Database db = fixture.open(test.builder().poolSize(3).acquisitionTimeout(Duration.ofSeconds(5))
                .deadConnectionTimeout(Duration.ofSeconds(1))
                .settings(new Settings().withStatementType(StatementType.STATIC_STATEMENT)));
        AtomicBoolean ran = new AtomicBoolean();
        CompletableFuture<Long> f = db.session().forEach(rows(1_500), Map.of(), r -> {
            if (ran.compareAndSet(false, true)) {
                db.dsl().fetch(postgres() ? "select pg_sleep(1.5)" : "select sleep(1.5)");
            }
        }).toCompletableFuture();
        Throwable failure = awaitOutcome(f, System.nanoTime(), 20_000);
        assertThat(ran).as("the action ran its dsl statement").isTrue();
        assertThat(failure).as("a forEach (STATIC_STATEMENT) whose action ran a 1.5 s db.dsl() statement on a healthy"
                + " network").isNull();
        assertThat(f.get()).isEqualTo(1_500L);
        assertThat(db.activeConnections()).isZero();
    }

    // DEFECT (timeout, two databases, a user's data source wrapper): db2 is built on a data source handed in whose
    // connections are java.lang.reflect.Proxy wrappers that pass every call to the pool's connection and hand out
    // its statements unchanged, as Spring's TransactionAwareDataSourceProxy / LazyConnectionDataSourceProxy do (the
    // usual way jOOQ meets Spring transactions). Statement.getConnection() of such a statement is the pool's
    // connection, not the wrapper the provider lent, so Calls.leaseOf takes a db2.dsl() statement made inside a db1
    // call as running on db1's connection. An asynchronous db1 transaction (statement timeout 500 ms) looks up
    // something in db2 and carries on without it when that fails; the network to db2 is blackholed (healed after
    // 4 s). The db2 statement's deadline marks db1's lease (cancelSent), and its grace abort (statementLease ==
    // lease) sets call.aborted and aborts db1's idle transaction connection, while the db2 statement stays blocked
    // until the network heals. The db1 transaction, whose own connection never failed, then fails ("the connection
    // of this call was aborted") and its insert is lost. The single-statement case of GapsReviewTest's timeout
    // scenario, which e432965 got right for any wrapper: a regression of b188d44.
    // Right: the db2 statement is aborted on its own (db2) connection at ~timeout + grace, db1's connection is
    // untouched and the db1 transaction commits its insert.
    @Test
    void timeout_DEFECT__a_db2_dsl_statement_through_a_connection_proxy_data_source_aborts_the_db1_transaction()
            throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(postgres(), "MariaDB checks each borrowed session of a data source"
                + " handed in with a round trip, which a blackholed network blocks before any statement starts");
        Database db1 = fixture.open(test.builder().poolSize(2));
        HikariDataSource pool = fixture.closeAfter(TestPools.pool(test, proxy.proxiedUrl(test.url()), 2));
        Database db2 = fixture.open(Database.builder().dataSource(connectionProxies(pool)).dialect(test.dialect())
                .poolSize(2).acquisitionTimeout(Duration.ofSeconds(5)));
        String name = "r8b-proxy-ds-" + System.nanoTime();
        AtomicReference<Throwable> nested = new AtomicReference<>();
        AtomicReference<Long> nestedMillis = new AtomicReference<>();
        CompletableFuture<Object> f = db1.session().withStatementTimeout(Duration.ofMillis(500)).transaction(tx1 -> {
            tx1.all(ONE);
            db2.dsl().fetch(ONE); // a db2 connection open and just used (the pool does not validate it again)
            proxy.blackhole();
            long t0 = System.nanoTime();
            CompletableFuture.delayedExecutor(4, TimeUnit.SECONDS).execute(proxy::heal);
            try {
                db2.dsl().fetch(ONE);
            } catch (DataAccessException e) {
                nested.set(e); // an optional lookup: the work carries on without it
            }
            nestedMillis.set(millisSince(t0));
            tx1.execute(DSL.insertInto(USERS, USERS.NAME).values(name));
            return (Object) "done";
        }).toCompletableFuture();
        Throwable failure = awaitOutcome(f, System.nanoTime(), 15_000);
        assertThat(nestedMillis.get()).as("the db2 lookup ended (%s)", failure).isNotNull();
        assertThat(failure).as("the db1 transaction, whose own connection never failed, commits (the db2 lookup ended"
                + " after %d ms with %s)", nestedMillis.get(), nested.get()).isNull();
        long stored = db1.blockingSession().one("select count(*) from users where name = '" + name + "'")
                .get(0, Long.class);
        assertThat(stored).as("the db1 transaction's insert is stored").isEqualTo(1L);
    }

    // =========================================================================================================
    // Checked and found correct
    // =========================================================================================================

    // CHECKED: a lazy cursor opened by db.dsl() in a forEach action and closed on ANOTHER thread while the forEach
    // still runs: returnedAfterStatement finds the call through Lease.call (not the closing thread's current call,
    // which is none), the call no longer counts the lease, Lease.call is cleared; a db.dsl() statement started
    // afterwards is attributed to its own lent lease (sampled while it runs), the stream's batches stay its own, and
    // every connection is given back.
    @Test
    void leases_CHECKED__a_lazy_cursor_closed_on_another_thread_mid_call_is_no_longer_counted() throws Exception {
        Database db = fixture.open(test.builder().poolSize(4).acquisitionTimeout(Duration.ofSeconds(5)));
        List<String> problems = new CopyOnWriteArrayList<>();
        CompletableFuture<Long> f = db.session().forEach(rows(2_500), Map.of(), r -> {
            if (r.get(0, Integer.class) != 1) {
                return;
            }
            Calls.Call call = Calls.current();
            org.jooq.Cursor<?> cursor = db.dsl().fetchLazy(rows(3));
            cursor.fetchNext();
            if (lent(call) != 1) {
                problems.add("an open cursor: " + lent(call) + " leases counted, not 1");
            }
            Object lease = ((List<?>) field(call, "borrowed")).get(0);
            try {
                onOwnThread("closer", () -> {
                    cursor.close();
                    return null;
                }).get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                problems.add("closing on another thread failed: " + e);
            }
            if (lent(call) != 0) {
                problems.add("after the close on another thread: " + lent(call) + " leases counted, not 0");
            }
            if (field(lease, "call") != null) {
                problems.add("the returned lease still points at the call");
            }
            AtomicReference<String> seen = new AtomicReference<>("nothing seen running");
            Thread sampler = Thread.ofVirtual().start(() -> seen.set(sampleStatementLease(call)));
            db.dsl().fetch(postgres() ? "select pg_sleep(0.4)" : "select sleep(0.4)");
            try {
                sampler.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (!seen.get().equals("lent")) {
                problems.add("a db.dsl() statement after the close ran as: " + seen.get());
            }
        }).toCompletableFuture();
        Throwable failure = awaitOutcome(f, System.nanoTime(), 20_000);
        assertThat(failure).isNull();
        assertThat(f.get()).isEqualTo(2_500L);
        assertThat(problems).isEmpty();
        assertThat(db.activeConnections()).isZero();
    }

    // CHECKED: cancelling forEach calls while their actions run short db.dsl() statements (their provider acquiring
    // and releasing connections on the action's thread while the cancel runs on the test's): 40 rounds, cancels at
    // varying moments. Every stage ends (cancelled, or with its count), no call counts a lease afterwards, every
    // connection is given back, and the database still answers.
    @Test
    void cancel_CHECKED__cancels_racing_the_providers_lend_and_release_leave_nothing_behind() throws Exception {
        Database db = fixture.open(test.builder().poolSize(4).acquisitionTimeout(Duration.ofSeconds(5)));
        List<Calls.Call> calls = new CopyOnWriteArrayList<>();
        for (int round = 0; round < 40; round++) {
            CompletableFuture<Long> f = db.session().forEach(rows(400), Map.of(), r -> {
                if (r.get(0, Integer.class) == 1) {
                    calls.add(Calls.current());
                }
                db.dsl().fetch(ONE);
            }).toCompletableFuture();
            Thread.sleep(round % 8 * 3);
            f.cancel(true);
            long start = System.nanoTime();
            Throwable outcome = awaitOutcome(f, start, 10_000);
            if (outcome != null) {
                assertThat(outcome).isInstanceOfAny(java.util.concurrent.CancellationException.class,
                        DataAccessException.class);
            }
        }
        awaitTrue(() -> db.activeConnections() == 0, java.time.Duration.ofMillis(5_000));
        assertThat(db.activeConnections()).isZero();
        for (Calls.Call call : calls) {
            synchronized (call) {
                assertThat(lent(call)).as("leases a finished call still counts").isZero();
            }
        }
        assertThat(db.blockingSession().one(ONE).get(0, Integer.class)).isEqualTo(1);
    }

    // CHECKED: pool of 1, a db.dsl() statement in a forEach action (the stream holds the only connection): the
    // provider's borrow waits acquisitionTimeout (1 s) and fails with 08001 (no hang, no deadlock); the forEach
    // fails with that, and the connection is given back. And Database.close() while a lent db.dsl() statement
    // (pg_sleep 30 s) runs in a forEach action: close returns within seconds (the lent connection is aborted with
    // the others), the forEach fails, nothing hangs.
    @Test
    void pool_CHECKED__pool_of_one_and_close_during_a_lent_statement_end_without_hanging() throws Exception {
        Database one = fixture.open(test.builder().poolSize(1).acquisitionTimeout(Duration.ofSeconds(1)));
        // more rows than one batch: the stream still holds its connection when the action runs
        CompletableFuture<Long> f = one.session().forEach(rows(20_000), Map.of(), r -> one.dsl().fetch(ONE))
                .toCompletableFuture();
        Throwable failure = awaitOutcome(f, System.nanoTime(), 10_000);
        assertThat(failure).isInstanceOf(DataAccessException.class);
        assertThat(((DataAccessException) failure).sqlState()).isEqualTo("08001");
        awaitTrue(() -> one.activeConnections() == 0, java.time.Duration.ofMillis(3_000));
        assertThat(one.activeConnections()).isZero();

        Database db = test.builder().poolSize(3).acquisitionTimeout(Duration.ofSeconds(5)).build();
        CompletableFuture<Void> inside = new CompletableFuture<>();
        CompletableFuture<Long> g = db.session().forEach(rows(20_000), Map.of(), r -> {
            inside.complete(null);
            db.dsl().fetch(postgres() ? "select pg_sleep(30)" : "select sleep(30)");
        }).toCompletableFuture();
        inside.get(10, TimeUnit.SECONDS);
        Thread.sleep(300);
        long t0 = System.nanoTime();
        CompletableFuture<Object> closing = onOwnThread("close", () -> {
            db.close();
            return null;
        });
        assertThat(awaitOutcome(closing, t0, 10_000)).as("close()").isNull();
        long closedAfter = millisSince(t0);
        Throwable cutOff = awaitFailure(g, t0, 10_000);
        assertThat(cutOff).as("the forEach whose lent statement was cut off by close() (closed after %d ms)", closedAfter)
                .isNotNull();
    }

    // =========================================================================================================
    // helpers
    // =========================================================================================================

    /**
     * A data source whose connections are proxies over {@code target}'s that pass every call through and hand out
     * the driver's statements unchanged (Spring's TransactionAwareDataSourceProxy and LazyConnectionDataSourceProxy
     * work this way): such a statement's getConnection() is the pool's connection, not the proxy.
     */
    private static DataSource connectionProxies(DataSource target) {
        return (DataSource) Proxy.newProxyInstance(LentReviewTest.class.getClassLoader(), new Class<?>[] {DataSource.class},
                (self, method, args) -> {
                    Object result = invoke(target, method, args);
                    if (method.getName().equals("getConnection")) {
                        Connection connection = (Connection) result;
                        return Proxy.newProxyInstance(LentReviewTest.class.getClassLoader(),
                                new Class<?>[] {Connection.class}, (p, m, a) -> invoke(connection, m, a));
                    }
                    return result;
                });
    }

    private static Object invoke(Object target, java.lang.reflect.Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /**
     * What {@code call}'s running statement is taken as running on, sampled every 20 ms for up to 3 s until a
     * statement runs: "lent" (one of Call.borrowed), "the call's own" (Call.lease) or "other".
     */
    private static String sampleStatementLease(Calls.Call call) {
        for (int k = 0; k < 150; k++) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return "interrupted";
            }
            synchronized (call) {
                Object running = field(call, "statementLease");
                if (running != null) {
                    List<?> borrowed = (List<?>) field(call, "borrowed");
                    return running == field(call, "lease") ? "the call's own"
                            : borrowed != null && borrowed.contains(running) ? "lent" : "other";
                }
            }
        }
        return "nothing seen running";
    }

    /** How many leases the provider lent in {@code call} and has not had back (Call.borrowed, null: none). */
    private static int lent(Calls.Call call) {
        synchronized (call) {
            Object borrowed = field(call, "borrowed");
            return borrowed == null ? 0 : ((List<?>) borrowed).size();
        }
    }

}
