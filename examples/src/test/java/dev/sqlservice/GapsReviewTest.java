package dev.sqlservice;

import static dev.sqlservice.FaultFixture.awaitOutcome;
import static dev.sqlservice.FaultFixture.millisSince;
import static dev.sqlservice.FaultFixture.onOwnThread;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sqlservice.FaultFixture.Holder;
import dev.sqlservice.testing.TestDatabase;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review of the two gaps the author named in how nested calls are tracked by {@code Calls} (one {@code Calls.Call}
 * per asynchronous call, shared by everything nested in it), left untested by the earlier nested-call reviews:
 * <ol>
 *   <li>a stream reuses one JDBC statement across its batches, so a deadline, a cancel-grace abort or a liveness
 *       probe started in one batch (they compare {@code call.statement == expected}) cannot tell it from the
 *       next;</li>
 *   <li>a {@code Database.dsl()} statement run inside a call (its connection borrowed by jOOQ's connection provider,
 *       never recorded on the call) is timed, watched and aborted as if it ran on the connection the call records.</li>
 * </ol>
 *
 * <p>Each test says {@code DEFECT} (fails on the reviewed HEAD, 8cc5c94) with what is wrong and what would be right.
 * Network faults go through {@link FaultProxy} on 127.0.0.1 only; embedded PostgreSQL (the scenarios use
 * {@code generate_series} and {@code pg_sleep}; skipped on MariaDB).
 */
@ExampleDatabase
@Tag("reliability")
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GapsReviewTest {

    private static final String ONE = "select 1 as one";

    private TestDatabase test;
    private FaultProxy proxy;
    private FaultFixture fixture;

    @BeforeEach
    void setUp(TestDatabase test) throws Exception {
        this.test = test;
        // opened before the assumption, so that tearDown finds it on MariaDB too
        this.proxy = new FaultProxy(FaultProxy.hostOf(test.url()), FaultProxy.portOf(test.url()));
        this.fixture = new FaultFixture(proxy);
        org.junit.jupiter.api.Assumptions.assumeTrue(test.dialect().family() == SQLDialect.POSTGRES,
                "the scenarios of this class are PostgreSQL's (generate_series, pg_sleep, cursor batches)");
    }

    @AfterEach
    void tearDown() throws Exception {
        fixture.close();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Gap 1: one JDBC statement for every batch of a stream
    // ---------------------------------------------------------------------------------------------------------

    /** Statement timeout of the stream in the batch test (milliseconds). */
    private static final long BATCH_TIMEOUT = 1_500;

    // DEFECT (gap 1): the cancel-grace abort armed by one batch's deadline aborts a later, healthy batch of the same
    // stream. A blocking stream (statement timeout 1.5 s) reads 3,000 rows in batches of 1,000 on one JDBC statement.
    // Batch 2's rows are late (the network delays the server's answer by 1.8 s): its deadline fires at 1.5 s, the
    // cancel reaches a server that has already answered (idle in transaction: PostgreSQL ignores it), the rows arrive
    // and batch 2 returns them, as documented ("a statement that finished before the cancel landed returns its
    // result"). But the abort that cancelOnServer scheduled CANCEL_GRACE (1 s) after the deadline is still armed: it
    // fires while batch 3 runs (a healthy batch, 0.9 s on the server, well within its own 1.5 s timeout) and, since
    // Call.abortIfStillRunning only compares call.statement == expected and batch 3 runs on the very same JDBC
    // statement object, it aborts the stream's connection: batch 3 fails with "statement timed out after 1500 ms;
    // the server did not confirm the cancel within 1000 ms, so its connection was aborted" (08006), a timeout that
    // never happened to it, and the stream loses its last 1,000 rows.
    // Right: a deadline, a cancel-grace abort or a liveness abort acts only on the run (batch) that armed it: batch 3
    // is read, and the stream returns all 3,000 rows. Fix: give each start() its own identity (a fresh token per
    // Calls.start, or a run counter) and compare that in expire/abortIfStillRunning/the watch, instead of the JDBC
    // statement that Calls.reading reuses for every batch (the stream's open and its first batch share it too).
    @Test
    void timeout_DEFECT__a_cancel_grace_abort_armed_by_a_late_stream_batch_aborts_the_next_healthy_batch()
            throws Exception {
        Database db = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(2)
                .acquisitionTimeout(Duration.ofSeconds(5)));
        Session session = db.blockingSession().withStatementTimeout(Duration.ofMillis(BATCH_TIMEOUT));
        // rows 1..1000 come with the open, 1001..2000 are batch 2, 2001..3000 batch 3 (0.9 s on the server at 2500)
        String sql = "select g, (select 1 from pg_sleep(case when g = 2500 then 0.9 else 0 end)) as z"
                + " from generate_series(1, 3000) g";
        Holder<Long> batch2Millis = new Holder<>();
        Holder<Long> batch3StartMillis = new Holder<>();
        CompletableFuture<Long> f = onOwnThread("gaps-review", () -> {
            long t0 = 0;
            long n = 0;
            try (Stream<Record> s = session.stream(sql)) {
                Iterator<Record> it = s.iterator();
                while (it.hasNext()) {
                    Record r = it.next();
                    n++;
                    int g = r.get(0, Integer.class);
                    if (g == 1_000) {
                        // batch 2's answer is late: after its deadline, but before the cancel could matter
                        proxy.latency(Duration.ZERO, Duration.ofMillis(BATCH_TIMEOUT + 300));
                        t0 = System.nanoTime();
                    } else if (g == 1_001) {
                        batch2Millis.set(millisSince(t0));
                        proxy.heal();
                    } else if (g == 2_000) {
                        // batch 3 starts 600 ms after batch 2's deadline, 400 ms before that deadline's grace abort,
                        // and runs 0.9 s (its own deadline is 1.5 s after its start)
                        long startAt = t0 + TimeUnit.MILLISECONDS.toNanos(BATCH_TIMEOUT + 600);
                        long wait = startAt - System.nanoTime();
                        if (wait > 0) {
                            Thread.sleep(TimeUnit.NANOSECONDS.toMillis(wait));
                        }
                        batch3StartMillis.set(millisSince(t0));
                    }
                }
            }
            return n;
        });
        Throwable failure = awaitOutcome(f, System.nanoTime(), 20_000);
        assertThat(batch2Millis.get()).as("premise: batch 2's rows arrived after its deadline (%s)", failure)
                .isNotNull().isGreaterThan(BATCH_TIMEOUT);
        assertThat(failure).as("batch 3 (started %d ms after batch 2's start, 0.9 s on the server, statement timeout"
                + " %d ms) is not aborted by batch 2's deadline", batch3StartMillis.get(), BATCH_TIMEOUT).isNull();
        assertThat(f.get()).as("every row of the stream is read").isEqualTo(3_000L);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Gap 2: Database.dsl() statements inside a call
    // ---------------------------------------------------------------------------------------------------------

    // DEFECT (gap 2, timeout): a db2.dsl() statement that times out inside a db1 transaction gets db1's healthy
    // transaction connection aborted, and the db2 statement itself is not. An asynchronous db1 transaction (statement
    // timeout 500 ms, healthy network) runs db2.dsl().fetch(...) on a dead network to db2, catches its failure and
    // carries on. db2's connection provider borrows a connection that is never recorded on the call, but db2's
    // Calls listener arms the deadline on the current call (the db1 transaction's, with db1's timeout): the cancel
    // marks db1's lease (cancelSent), and CANCEL_GRACE later abortIfStillRunning aborts call.lease, db1's
    // transaction connection, which runs nothing. db2's statement stays blocked (here until the network heals 4 s
    // later: it is never bounded by "timeout plus grace"), and then the transaction's next statement is refused
    // ("the connection of this call was aborted", 08003): the db1 transaction, which never failed, is rolled back.
    // Right: a db2.dsl() statement never aborts db1's connection: either it is not timed by db1's call at all, or
    // its deadline and abort go to its own connection (db2's, the one that blocks); the db1 transaction then
    // commits its insert. Fix: have Connections' provider record (and, on release, give back) the lease it borrows
    // inside a call, as Calls.using / Calls.run's restore do for a nested call, or do not arm a deadline for a
    // statement whose connection is not the call's recorded one.
    @Test
    void timeout_DEFECT__a_db2_dsl_statement_timed_out_inside_a_db1_transaction_aborts_the_db1_connection()
            throws Exception {
        Database db1 = fixture.open(test.builder().poolSize(2));
        Database db2 = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(2)
                .acquisitionTimeout(Duration.ofSeconds(5)));
        String name = "gaps-db2-dsl-" + System.nanoTime();
        Holder<Throwable> nested = new Holder<>();
        Holder<Long> nestedMillis = new Holder<>();
        CompletableFuture<Object> f = db1.session().withStatementTimeout(Duration.ofMillis(500)).transaction(tx1 -> {
            tx1.all(ONE);
            db2.dsl().fetch(ONE); // db2's connection is open, and was used a moment ago (no validation on borrow)
            proxy.blackhole();
            long blackholed = System.nanoTime();
            CompletableFuture.delayedExecutor(4, TimeUnit.SECONDS).execute(proxy::heal);
            try {
                db2.dsl().fetch(ONE);
            } catch (DataAccessException e) {
                nested.set(e); // the work carries on (a fallback: the db2 lookup is optional)
            }
            nestedMillis.set(millisSince(blackholed));
            tx1.execute(org.jooq.impl.DSL.insertInto(USERS, USERS.NAME).values(name));
            return (Object) "done";
        }).toCompletableFuture();
        Throwable failure = awaitOutcome(f, System.nanoTime(), 25_000);
        assertThat(nestedMillis.get()).as("the db2 statement ended (%s)", failure).isNotNull();
        assertThat(failure).as("the db1 transaction, whose own connection never failed, commits (the db2 statement"
                + " ended after %d ms with %s)", nestedMillis.get(), nested.get()).isNull();
        long stored = db1.blockingSession().one("select count(*) from users where name = '" + name + "'")
                .get(0, Long.class);
        assertThat(stored).as("the db1 transaction's insert is stored").isEqualTo(1L);
    }

    // DEFECT (gap 2, liveness, same database): a db.dsl() statement in the action of an asynchronous forEach gets
    // the stream's healthy connection aborted by the liveness watch. db (deadConnectionTimeout 1 s, healthy network)
    // runs forEach over 1,500 rows; on row 1 the action runs db.dsl().fetch("select pg_sleep(1.5)"). db's provider
    // borrows a second connection, never recorded on the call (call.lease stays the stream's lease), while db's
    // listener makes the dsl statement the call's running statement. After 500 ms the watch looks at the stream's
    // lease: its call runs a statement on db's Calls (the `call.calls != this` guard, which fixed the db2 case,
    // passes: same database) and records this lease, so it probes the stream's session, finds it idle in
    // transaction ("not running"), probes again, and aborts the stream's connection ("showed no sign of life ...
    // the server no longer runs its statement"). The dsl statement itself ends normally after 1.5 s; the forEach
    // then fails on its next batch (08003, "the connection of this call was aborted"). Nothing was dead.
    // Right: the watch probes a statement on the connection it actually runs on, or not at all: the forEach reads its
    // 1,500 rows. Fix: as above (record the provider's lease on the call while its statement runs, and put the
    // stream's back afterwards), or skip the watch when the running statement's connection is not call.lease's
    // (statement.getConnection() can be compared with the lease's).
    @Test
    void liveness_DEFECT__a_dsl_statement_in_a_forEach_action_gets_the_streams_healthy_connection_aborted()
            throws Exception {
        Database db = fixture.open(test.builder().poolSize(3).acquisitionTimeout(Duration.ofSeconds(5))
                .deadConnectionTimeout(Duration.ofSeconds(1)));
        AtomicBoolean slept = new AtomicBoolean();
        CompletableFuture<Long> f = db.session().forEach("select g from generate_series(1, 1500) g", Map.of(), r -> {
            if (slept.compareAndSet(false, true)) {
                db.dsl().fetch("select pg_sleep(1.5)");
            }
        }).toCompletableFuture();
        Throwable failure = awaitOutcome(f, System.nanoTime(), 20_000);
        assertThat(slept).as("the action ran its dsl statement").isTrue();
        assertThat(failure).as("a forEach whose action ran a 1.5 s db.dsl() statement on a healthy network").isNull();
        assertThat(f.get()).isEqualTo(1_500L);
    }
}
