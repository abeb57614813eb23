package dev.sqlservice;

import static dev.sqlservice.FaultFixture.awaitOutcome;
import static dev.sqlservice.FaultFixture.onOwnThread;
import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.sqlservice.testing.TestDatabase;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.jooq.SQLDialect;
import org.jooq.tools.jdbc.DefaultConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Independent review (fourth of the session) of b188d44 and 965d02b: connections jOOQ's provider lends for
 * {@code Database.dsl()} work inside a call ({@code Call.borrowed}, {@code Lease.call}), matched to the running
 * statement through jOOQ's execution connection peeled through {@code DefaultConnection.getDelegate()} layers, then
 * {@code Statement.getConnection()} ({@code Calls.leaseOf}).
 *
 * <p>{@code CHECKED__} tests pass on a13b1cb and guard what was checked (what is right: in the comment above each).
 */
@ExampleDatabase
@Tag("reliability")
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class Lent2ReviewTest {

    private TestDatabase test;
    private FaultProxy proxy;
    private FaultFixture fixture;

    @BeforeEach
    void setUp(TestDatabase test) throws Exception {
        this.test = test;
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

    private String rows(int n) {
        return postgres() ? "select g from generate_series(1, " + n + ") g" : "select seq as g from seq_1_to_" + n;
    }

    private String sleep(double seconds) {
        return postgres() ? "select pg_sleep(" + seconds + ")" : "select sleep(" + seconds + ")";
    }

    // CHECKED (liveness, nesting): a forEach nested in a forEach action (one Call object, the inner stream's
    // connection recorded, then the outer's restored), whose own action runs a 1.5 s db.dsl() statement with
    // deadConnectionTimeout 1 s on a healthy network. Right (and what happens): the lent statement is watched on its
    // lent connection, neither stream's idle connection is probed into an abort, both streams read all their rows,
    // no lease stays counted on the call, every connection is given back.
    @Test
    void liveness_CHECKED__a_slow_dsl_statement_in_a_forEach_nested_in_a_forEach_action_aborts_neither_stream()
            throws Exception {
        Database db = fixture.open(test.builder().poolSize(4).acquisitionTimeout(Duration.ofSeconds(5))
                .deadConnectionTimeout(Duration.ofSeconds(1)));
        AtomicBoolean ran = new AtomicBoolean();
        AtomicReference<Long> inner = new AtomicReference<>();
        AtomicReference<Integer> lentAfter = new AtomicReference<>();
        CompletableFuture<Long> f = db.session().forEach(rows(1_500), Map.of(), r -> {
            if (ran.compareAndSet(false, true)) {
                long n = db.session().forEach(rows(1_200), Map.of(), r2 -> {
                    if (r2.get(0, Integer.class) == 1) {
                        db.dsl().fetch(sleep(1.5));
                    }
                }).toCompletableFuture().join();
                inner.set(n);
                lentAfter.set(lent(Calls.current()));
            }
        }).toCompletableFuture();
        Throwable failure = awaitOutcome(f, System.nanoTime(), 20_000);
        assertThat(failure).as("outer forEach").isNull();
        assertThat(f.get()).isEqualTo(1_500L);
        assertThat(inner.get()).isEqualTo(1_200L);
        assertThat(lentAfter.get()).isZero();
        assertThat(db.activeConnections()).isZero();
    }

    // CHECKED (leases, a lent lease outliving its call): a db.dsl() lazy cursor opened in a forEach action and left
    // open when the forEach ends keeps its connection (jOOQ's contract: the cursor owns it) and its Lease.call points
    // at the finished call; closed later on another thread, the provider gets it back, the finished call no longer
    // counts it, and a second forEach whose action runs a 1.5 s db.dsl() statement (deadConnectionTimeout 1 s) is
    // not disturbed by the stale lease (liveness acts only on the running statement's lease). Right: as observed.
    @Test
    void leases_CHECKED__a_lazy_cursor_left_open_past_its_call_and_closed_later_leaves_nothing_behind() throws Exception {
        Database db = fixture.open(test.builder().poolSize(4).acquisitionTimeout(Duration.ofSeconds(5))
                .deadConnectionTimeout(Duration.ofSeconds(1)));
        AtomicReference<org.jooq.Cursor<?>> cursor = new AtomicReference<>();
        AtomicReference<Calls.Call> first = new AtomicReference<>();
        CompletableFuture<Long> f = db.session().forEach(rows(500), Map.of(), r -> {
            if (r.get(0, Integer.class) == 1) {
                first.set(Calls.current());
                org.jooq.Cursor<?> c = db.dsl().fetchLazy(rows(3));
                c.fetchNext();
                cursor.set(c);
            }
        }).toCompletableFuture();
        assertThat(awaitOutcome(f, System.nanoTime(), 20_000)).isNull();
        assertThat(f.get()).isEqualTo(500L);
        assertThat(db.activeConnections()).as("the open cursor's connection").isEqualTo(1);
        assertThat(lent(first.get())).isEqualTo(1);
        onOwnThread("closer", () -> {
            cursor.get().close();
            return null;
        }).get(5, TimeUnit.SECONDS);
        assertThat(lent(first.get())).isZero();
        assertThat(db.activeConnections()).isZero();
        AtomicBoolean ran = new AtomicBoolean();
        CompletableFuture<Long> g = db.session().forEach(rows(1_500), Map.of(), r -> {
            if (ran.compareAndSet(false, true)) {
                db.dsl().fetch(sleep(1.5));
            }
        }).toCompletableFuture();
        assertThat(awaitOutcome(g, System.nanoTime(), 20_000)).isNull();
        assertThat(g.get()).isEqualTo(1_500L);
        assertThat(db.activeConnections()).isZero();
    }

    // CHECKED (matching, a user's data source of jOOQ DefaultConnection wrappers): a data source handed in whose
    // connections are org.jooq.tools.jdbc.DefaultConnection wrappers over a HikariCP pool's (statements handed out
    // unchanged, so Statement.getConnection() is Hikari's, not what the provider lent). A 1.5 s db.dsl() statement in
    // a forEach action (deadConnectionTimeout 1 s) is matched to its lent lease by peeling jOOQ's layers down to the
    // user's DefaultConnection; the stream's own batches (whose execution is not jOOQ's) are still the stream's. Right
    // (and what happens): the forEach reads its 1,500 rows, nothing aborted, nothing left counted.
    @Test
    void matching_CHECKED__a_data_source_of_jooq_DefaultConnection_wrappers_is_matched_layer_by_layer() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(postgres(), "MariaDB checks each session of a data source handed in");
        HikariDataSource pool = fixture.closeAfter(TestPools.pool(test, 4));
        Database db = fixture.open(Database.builder().dataSource(defaultConnections(pool)).dialect(test.dialect())
                .poolSize(4).acquisitionTimeout(Duration.ofSeconds(5)).deadConnectionTimeout(Duration.ofSeconds(1)));
        AtomicBoolean ran = new AtomicBoolean();
        CompletableFuture<Long> f = db.session().forEach(rows(1_500), Map.of(), r -> {
            if (ran.compareAndSet(false, true)) {
                db.dsl().fetch(sleep(1.5));
            }
        }).toCompletableFuture();
        Throwable failure = awaitOutcome(f, System.nanoTime(), 20_000);
        assertThat(failure).isNull();
        assertThat(f.get()).isEqualTo(1_500L);
        assertThat(db.activeConnections()).isZero();
    }

    private static DataSource defaultConnections(DataSource target) {
        return (DataSource) Proxy.newProxyInstance(Lent2ReviewTest.class.getClassLoader(), new Class<?>[] {DataSource.class},
                (self, method, args) -> {
                    Object result;
                    try {
                        result = method.invoke(target, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                    return method.getName().equals("getConnection") ? new DefaultConnection((Connection) result) : result;
                });
    }

    private static int lent(Calls.Call call) {
        Object borrowed = field(call, "borrowed");
        return borrowed == null ? 0 : ((List<?>) borrowed).size();
    }

    private static Object field(Object owner, String name) {
        try {
            java.lang.reflect.Field field = owner.getClass().getDeclaredField(name);
            field.setAccessible(true);
            synchronized (owner) {
                return field.get(owner);
            }
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}
