package dev.sqlservice;

import static dev.sqlservice.FaultFixture.assertEndsWithin;
import static dev.sqlservice.FaultFixture.awaitTrue;
import static dev.sqlservice.FaultFixture.millisSince;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.sqlservice.FaultFixture.Holder;
import dev.sqlservice.testing.TestDatabase;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
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
 * Review of "a call points at its own connection again" (issue 17): {@code Calls.using} returns the previous lease,
 * {@code Session.run}/{@code transaction} record it again when they give theirs back, and every stream batch
 * ({@code Calls.reading(lease, ...)}) records the stream's lease again.
 *
 * <p>Each test says {@code DEFECT} (fails on the reviewed HEAD) or {@code CHECKED} (passes; what it proves). The
 * network faults go through {@link FaultProxy} on 127.0.0.1 only.
 */
@ExampleDatabase
@Tag("reliability")
@Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LeaseReviewTest {

    /** What the library promises beyond a timeout before the call ends (issue 13). */
    private static final long CANCEL_BOUND = 1_000;
    /** Scheduling slack on a loaded machine (milliseconds). */
    private static final long SLACK = 750;
    private static final String ONE = "select 1 as one";

    private TestDatabase test;
    private boolean postgres;
    private FaultProxy proxy;
    private FaultFixture fixture;

    @BeforeEach
    void setUp(TestDatabase test) throws Exception {
        this.test = test;
        this.postgres = test.dialect().family() == SQLDialect.POSTGRES;
        this.proxy = new FaultProxy(FaultProxy.hostOf(test.url()), FaultProxy.portOf(test.url()));
        this.fixture = new FaultFixture(proxy);
    }

    @AfterEach
    void tearDown() throws Exception {
        fixture.close();
    }

    /** See SlotsReviewTest#streamRows: rows whose next batch must come over the network on both backends. */
    private int streamRows() {
        return postgres ? 5_000 : 3_000_000;
    }

    // ---------------------------------------------------------------------------------------------------------
    // A stream of another database inside a transaction: Cursor.leased records its lease and never gives the
    // transaction's back
    // ---------------------------------------------------------------------------------------------------------

    // DEFECT, fixed (a nested Calls.run restores the enclosing lease, committing and aborted; batches start on
    // the stream's own Calls): a transaction of db1 (statement timeout 500 ms) that reads a stream of db2 (copying rows from one
    // database to another) and then runs a statement on a dead network is not aborted after its timeout's grace.
    // Streams.Cursor.leased calls Calls.using(db2's lease) without keeping the previous one, and nothing records the
    // transaction's lease again (its statements run through executing(), not using()): Call.lease stays on db2's
    // closed lease, so the grace's abort goes to that returned connection and the transaction's statement hangs.
    // Fix: in Cursor.leased keep `previous = Calls.using(lease)` and record it again when the open returns (and in
    // Calls.reading, record the previous lease again in its finally), as Session.run does.
    @Test
    void timeout_DEFECT__a_transaction_that_read_a_stream_of_another_database_is_not_aborted_after_its_timeout()
            throws Exception {
        Database db1 = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(2)
                .acquisitionTimeout(Duration.ofSeconds(2)));
        Database db2 = fixture.open(test.builder().poolSize(2));
        Holder<Long> blackholed = new Holder<>();
        CompletableFuture<Object> f = db1.session().withStatementTimeout(Duration.ofMillis(500)).transaction(tx -> {
            tx.all(ONE);
            try (Stream<Record> rows = db2.blockingSession().stream(series(10))) {
                assertThat(rows.count()).isEqualTo(10);
            }
            proxy.blackhole();
            blackholed.set(System.nanoTime());
            return (Object) tx.all(ONE);
        }).toCompletableFuture();
        assertTimeoutEnds("transaction after a db2 stream", f, blackholed, 500);
    }

    // DEFECT, fixed (a nested Calls.run restores the enclosing lease, committing and aborted; batches start on
    // the stream's own Calls): the same transaction with deadConnectionTimeout (1 s) instead of a statement timeout: its statement on
    // a dead network is never given up. The watch finds the transaction's lease with Lease.call == the call, but
    // Call.lease is db2's closed lease (call.lease != using): skipped. Same fix as above.
    @Test
    void liveness_DEFECT__a_transaction_that_read_a_stream_of_another_database_is_not_watched() throws Exception {
        Database db1 = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(2)
                .acquisitionTimeout(Duration.ofSeconds(2)).deadConnectionTimeout(Duration.ofSeconds(1)));
        Database db2 = fixture.open(test.builder().poolSize(2));
        assertDetected("transaction after a db2 stream", db1, blackholeNow -> db1.session().transaction(tx -> {
            tx.all(ONE);
            try (Stream<Record> rows = db2.blockingSession().stream(series(10))) {
                assertThat(rows.count()).isEqualTo(10);
            }
            blackholeNow.run();
            return tx.all(ONE);
        }));
    }

    // CHECKED: the control of the two above: a db1 transaction whose work makes a blocking call and a transaction
    // of db2 (Session.run / transaction, which record the transaction's lease again, also when the nested call
    // throws), then runs a statement on a dead network, is aborted within 500 ms + the grace.
    @Test
    void timeout_checked__a_transaction_that_called_another_database_is_aborted_after_its_timeout() throws Exception {
        Database db1 = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(2)
                .acquisitionTimeout(Duration.ofSeconds(2)));
        Database db2 = fixture.open(test.builder().poolSize(2));
        Holder<Long> blackholed = new Holder<>();
        CompletableFuture<Object> f = db1.session().withStatementTimeout(Duration.ofMillis(500)).transaction(tx -> {
            tx.all(ONE);
            db2.blockingSession().all(ONE);
            db2.blockingSession().transaction(tx2 -> tx2.all(ONE));
            assertThatThrownBy(() -> db2.blockingSession().all("select * from no_such_table_x"))
                    .isInstanceOf(DataAccessException.class);
            assertThatThrownBy(() -> db2.blockingSession().transaction(tx2 -> {
                tx2.all(ONE);
                throw new IllegalStateException("roll back");
            })).isInstanceOf(IllegalStateException.class);
            proxy.blackhole();
            blackholed.set(System.nanoTime());
            return (Object) tx.all(ONE);
        }).toCompletableFuture();
        assertTimeoutEnds("transaction after db2 calls", f, blackholed, 500);
    }

    // ---------------------------------------------------------------------------------------------------------
    // A forEach whose action calls another database: the batch is recorded with the stream's lease, but timed and
    // watched by the other database's Calls (Calls.reading uses call.calls, left by the action's call)
    // ---------------------------------------------------------------------------------------------------------

    // DEFECT, fixed (a nested Calls.run restores the enclosing lease, committing and aborted; batches start on
    // the stream's own Calls): a forEach of db1 (deadConnectionTimeout 1 s) whose action makes a lookup in db2 is no longer watched
    // when its next batch is read on a dead network. Calls.reading records the stream's lease again but starts the
    // batch with call.calls.start(...), and call.calls is db2's Calls since the lookup's statement: db1's watch
    // skips the call (call.calls != this), db2's watch does not know db1's lease. The read never ends.
    // Fix: Calls.reading must start the batch on the stream's own Calls (pass the database's Calls, e.g.
    // database.calls().start(call, statement) / set call.calls from it), not on whichever Calls ran last.
    @Test
    void liveness_DEFECT__a_forEach_whose_action_calls_another_database_is_not_watched_on_its_next_batch()
            throws Exception {
        Database db1 = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(2)
                .acquisitionTimeout(Duration.ofSeconds(2)).deadConnectionTimeout(Duration.ofSeconds(1)));
        Database db2 = fixture.open(test.builder().poolSize(2));
        Session lookup = db2.blockingSession();
        assertDetected("forEach with a db2 lookup on row 1, next batch", db1,
                blackholeNow -> db1.session().forEach(series(streamRows()), Map.of(), r -> {
                    int n = r.get(0, Integer.class);
                    if (n == 1) {
                        lookup.all(ONE);
                    }
                    if (n == 1_000) {
                        blackholeNow.run();
                    }
                }));
    }

    // DEFECT, fixed as the ones above (same root cause): a forEach with a statement timeout whose action used another Database that has
    // been closed since (a short-lived one, try-with-resources) fails its next batch with the closed database's
    // timer's RejectedExecutionException: the batch's deadline is scheduled on the other database's timer.
    // Fix: as above (the batch belongs to the stream's database's Calls).
    @Test
    void timeout_DEFECT__a_forEach_whose_action_used_a_database_closed_since_fails_its_next_batch() throws Exception {
        Database db1 = fixture.open(test.builder().poolSize(2));
        int n = 5_000;
        CompletableFuture<Long> f = db1.session().withStatementTimeout(Duration.ofSeconds(10))
                .forEach(series(n), Map.of(), r -> {
                    if (r.get(0, Integer.class) == 1) {
                        try (Database shortLived = test.builder().poolSize(1).build()) {
                            shortLived.blockingSession().all(ONE);
                        }
                    }
                }).toCompletableFuture();
        assertThat(f).as("the forEach reads every row").succeedsWithin(Duration.ofSeconds(30)).isEqualTo((long) n);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Same-database nestings: CHECKED
    // ---------------------------------------------------------------------------------------------------------

    /** An action that nests every kind of call of {@code db} on its first row, and blackholes on row 1000. */
    private java.util.function.Consumer<Record> nestingAction(Database db, Runnable blackholeNow) {
        Session s = db.blockingSession();
        return r -> {
            int n = r.get(0, Integer.class);
            if (n == 1) {
                s.transaction(tx -> tx.all(ONE));
                assertThatThrownBy(() -> s.all("select * from no_such_table_x")).isInstanceOf(DataAccessException.class);
                assertThatThrownBy(() -> s.transaction(tx -> {
                    tx.all(ONE);
                    throw new IllegalStateException("roll back");
                })).isInstanceOf(IllegalStateException.class);
                s.transaction(tx -> {
                    try (Stream<Record> rows = tx.stream(series(1_500))) {
                        return rows.count();
                    }
                });
                // a nested leased stream (its lease is closed afterwards), then a call that records that closed
                // lease again when it gives its own back
                try (Stream<Record> rows = s.stream(series(1_500))) {
                    assertThat(rows.count()).isEqualTo(1_500);
                }
                s.all(ONE);
            }
            if (n == 1_000) {
                blackholeNow.run();
            }
        };
    }

    // CHECKED: a forEach (deadConnectionTimeout 1 s) whose action nests a transaction, a failing call, a failing
    // transaction, a transaction reading a stream, a leased stream (closed) and a call after it (which records the
    // stream's closed lease again: harmless, the next batch records the forEach's lease) is still watched on its
    // next batch on a dead network.
    @Test
    void liveness_checked__a_forEach_whose_action_nests_every_kind_of_call_is_watched_on_its_next_batch()
            throws Exception {
        Database db = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(3)
                .acquisitionTimeout(Duration.ofSeconds(2)).deadConnectionTimeout(Duration.ofSeconds(1)));
        assertDetected("forEach with nested calls", db,
                blackholeNow -> db.session().forEach(series(streamRows()), Map.of(), nestingAction(db, blackholeNow)));
    }

    // CHECKED: the same forEach with a statement timeout (500 ms): its next batch on a dead network is aborted
    // within the timeout plus the grace (the abort reaches the stream's connection).
    @Test
    void timeout_checked__a_forEach_whose_action_nests_every_kind_of_call_is_aborted_after_its_timeout()
            throws Exception {
        Database db = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(3)
                .acquisitionTimeout(Duration.ofSeconds(2)));
        Holder<Long> blackholed = new Holder<>();
        CompletableFuture<Long> f = db.session().withStatementTimeout(Duration.ofMillis(500))
                .forEach(series(streamRows()), Map.of(), nestingAction(db, () -> {
                    proxy.blackhole();
                    blackholed.set(System.nanoTime());
                })).toCompletableFuture();
        assertTimeoutEnds("forEach with nested calls", f, blackholed, 500);
    }

    /** Cancels {@code f}, stuck on its next batch on a dead network; its stream's connection must be given back. */
    private void assertCancelReleases(Database db, CompletableFuture<Long> f, Holder<Long> blackholed)
            throws Exception {
        awaitTrue(() -> blackholed.get() != null || f.isDone(), Duration.ofSeconds(10));
        assertThat(blackholed.get()).as("the first batch was read (%s)", f).isNotNull();
        pause(500); // the next batch is blocked on the dead network
        assertThat(db.activeConnections()).isEqualTo(1);
        long start = System.nanoTime();
        boolean cancelled = f.cancel(true);
        boolean released = awaitTrue(() -> db.activeConnections() == 0, Duration.ofMillis(CANCEL_BOUND + SLACK + 3_000));
        long took = millisSince(start);
        proxy.heal();
        assertThat(cancelled).as("cancel() of a forEach (a reader that wants no more rows) is accepted").isTrue();
        assertThat(released).as("the stream's connection is given back after the cancel").isTrue();
        assertThat(took).as("given back within the grace").isLessThanOrEqualTo(CANCEL_BOUND + SLACK);
    }

    // DEFECT, fixed (a nested Calls.run restores the enclosing lease, committing and aborted; batches start on
    // the stream's own Calls): a forEach whose action ran a transaction (committed) can no longer be cancelled: the nested
    // transaction runs under the forEach's Call (Calls.run with the outer call), Calls.beginCommit sets
    // call.committing = true and nothing resets it, so Call.cancel() returns false at once ("committing"): the
    // stage's cancel(true) returns false, no cancel reaches the server, no abort follows, and the stream's read on a
    // dead network goes on holding its connection. Not introduced by this diff (the nested call shares the outer
    // Call), but the same class of leak as the lease: the nested call's state is not given back.
    // Fix: Session.transaction (nested under an enclosing call) must restore committing when it ends (e.g. keep
    // it with the previous lease: let Calls.using return a snapshot {lease, committing, aborted, abortReason} and
    // restore it in the finally), or run the nested call as its own Call whose cancel the outer one forwards.
    @Test
    void cancel_DEFECT__a_forEach_whose_action_ran_a_transaction_cannot_be_cancelled() throws Exception {
        Database db = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(3)
                .acquisitionTimeout(Duration.ofSeconds(2)));
        Session s = db.blockingSession();
        Holder<Long> blackholed = new Holder<>();
        CompletableFuture<Long> f = db.session().forEach(series(streamRows()), Map.of(), r -> {
            int n = r.get(0, Integer.class);
            if (n == 1) {
                s.transaction(tx -> tx.all(ONE));
            }
            if (n == 1_000) {
                proxy.blackhole();
                blackholed.set(System.nanoTime());
            }
        }).toCompletableFuture();
        assertCancelReleases(db, f, blackholed);
    }

    // CHECKED: cancel of a forEach stuck on its next batch on a dead network, after its action made nested calls
    // (a lookup, a failing call, a failing transaction, a leased stream and a lookup after it, which records the
    // stream's closed lease again): the cancel goes to the batch's statement and the grace's abort to the stream's
    // connection (Calls.reading recorded it again), given back within the grace.
    @Test
    void cancel_checked__a_forEach_whose_action_made_nested_calls_gives_its_connection_back_when_cancelled()
            throws Exception {
        Database db = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(3)
                .acquisitionTimeout(Duration.ofSeconds(2)));
        Session s = db.blockingSession();
        Holder<Long> blackholed = new Holder<>();
        CompletableFuture<Long> f = db.session().forEach(series(streamRows()), Map.of(), r -> {
            int n = r.get(0, Integer.class);
            if (n == 1) {
                s.all(ONE);
                assertThatThrownBy(() -> s.all("select * from no_such_table_x")).isInstanceOf(DataAccessException.class);
                assertThatThrownBy(() -> s.transaction(tx -> {
                    tx.all(ONE);
                    throw new IllegalStateException("roll back");
                })).isInstanceOf(IllegalStateException.class);
                try (Stream<Record> rows = s.stream(series(1_500))) {
                    assertThat(rows.count()).isEqualTo(1_500);
                }
                s.all(ONE);
            }
            if (n == 1_000) {
                proxy.blackhole();
                blackholed.set(System.nanoTime());
            }
        }).toCompletableFuture();
        assertCancelReleases(db, f, blackholed);
    }

    // DEFECT, fixed (a nested Calls.run restores the enclosing lease, committing and aborted; batches start on
    // the stream's own Calls): a forEach whose action catches the failure of a nested lookup that timed out and had its own
    // connection aborted (a lookup with a fallback) fails its next batch with "the connection of this call was
    // aborted" (08003), although the stream's connection is healthy: the abort set call.aborted on the shared Call
    // and nothing resets it, so every later Calls.start of the forEach refuses. The lease is put back by the diff,
    // but not the rest of the nested call's state. Fix: as for the DEFECT above (restore aborted/abortReason
    // with the previous lease when the nested Session.run/transaction gives its connection back).
    @Test
    void abort_DEFECT__a_forEach_whose_action_caught_an_aborted_nested_call_fails_its_next_batch() throws Exception {
        Database db = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(3)
                .acquisitionTimeout(Duration.ofSeconds(3)));
        Session lookup = db.blockingSession().withStatementTimeout(Duration.ofMillis(300));
        Holder<Throwable> nestedFailure = new Holder<>();
        CompletableFuture<Long> f = db.session().forEach(series(streamRows()), Map.of(), r -> {
            if (r.get(0, Integer.class) == 1) {
                proxy.blackhole(); // only the lookup runs now: the stream waits between batches
                try {
                    lookup.all(ONE);
                } catch (DataAccessException e) {
                    nestedFailure.set(e); // a fallback: the lookup is optional
                } finally {
                    proxy.heal();
                }
            }
        }).toCompletableFuture();
        assertThat(f).as("the forEach reads every row after the failed lookup").succeedsWithin(Duration.ofSeconds(60))
                .isEqualTo((long) streamRows());
        assertThat(nestedFailure.get()).as("the lookup failed (timeout, connection aborted)").isNotNull();
    }

    // CHECKED: a Publisher (AsyncSession.stream) whose onNext makes blocking calls (a lookup and a transaction)
    // is still watched on its next batch on a dead network: onNext runs outside the subscription's call, so the
    // nested calls never touch its Call.lease.
    @Test
    void liveness_checked__a_publisher_whose_subscriber_makes_calls_is_watched_on_its_next_batch() throws Exception {
        Database db = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(3)
                .acquisitionTimeout(Duration.ofSeconds(2)).deadConnectionTimeout(Duration.ofSeconds(1)));
        Session s = db.blockingSession();
        assertDetected("publisher with calls in onNext", db, blackholeNow -> {
            CompletableFuture<Long> done = new CompletableFuture<>();
            db.session().stream(series(streamRows()), Map.of()).subscribe(new Flow.Subscriber<Record>() {
                long count;

                @Override
                public void onSubscribe(Flow.Subscription subscription) {
                    subscription.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(Record item) {
                    count++;
                    int n = item.get(0, Integer.class);
                    if (n == 1) {
                        s.all(ONE);
                        s.transaction(tx -> tx.all(ONE));
                    }
                    if (n == 1_000) {
                        blackholeNow.run();
                    }
                }

                @Override
                public void onError(Throwable throwable) {
                    done.completeExceptionally(throwable);
                }

                @Override
                public void onComplete() {
                    done.complete(count);
                }
            });
            return done;
        });
    }

    // ---------------------------------------------------------------------------------------------------------
    // helpers
    // ---------------------------------------------------------------------------------------------------------

    @FunctionalInterface
    private interface Blackholing {
        CompletionStage<?> start(Runnable blackholeNow);
    }

    /** Once {@code work} blackholes the network, its stage must fail within 1 s (dead-connection timeout) + bound. */
    private void assertDetected(String label, Database db, Blackholing work) throws Exception {
        Holder<Long> blackholed = new Holder<>();
        CompletableFuture<?> f = work.start(() -> {
            proxy.blackhole();
            blackholed.set(System.nanoTime());
        }).toCompletableFuture();
        try {
            assertEndsWithin(label, f, blackholed, 1_000 + CANCEL_BOUND + SLACK, "deadConnectionTimeout 1 s");
        } finally {
            proxy.heal();
            if (!f.isDone()) {
                proxy.reset();
            }
            awaitTrue(f::isDone, Duration.ofSeconds(10));
            awaitTrue(() -> db.activeConnections() == 0, Duration.ofSeconds(5));
        }
    }

    /** Once {@code f}'s work blackholed the network, it must fail within its timeout + the grace. */
    private void assertTimeoutEnds(String label, CompletableFuture<?> f, Holder<Long> blackholed, long timeoutMillis)
            throws Exception {
        fixture.assertEndsWithinThenHeal(label, f, blackholed, timeoutMillis + CANCEL_BOUND + SLACK,
                "statement timeout " + timeoutMillis + " ms");
    }

    /** A query of {@code n} rows, one column {@code n} from 1. */
    private String series(int n) {
        return postgres ? "select g as n from generate_series(1, " + n + ") g" : "select seq as n from seq_1_to_" + n;
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
