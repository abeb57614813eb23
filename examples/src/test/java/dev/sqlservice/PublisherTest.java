package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.testing.TestDatabase;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The reactive stream: demand, the Reactive Streams rules, and the release of the connection on every path. */
@ExampleDatabase
class PublisherTest {

    private boolean postgres;
    private final StreamTest sql = new StreamTest();

    @BeforeEach
    void backend(TestDatabase test) {
        postgres = test.dialect().family() == SQLDialect.POSTGRES;
        sql.backend(test);
    }

    /** Records every signal, checks the protocol (onSubscribe first, no overlap, one terminal signal). */
    static final class Recorder implements Flow.Subscriber<Record> {
        final List<Long> rows = new CopyOnWriteArrayList<>();
        final List<String> violations = new CopyOnWriteArrayList<>();
        final CountDownLatch terminated = new CountDownLatch(1);
        final AtomicInteger terminals = new AtomicInteger();
        final AtomicBoolean inSignal = new AtomicBoolean();
        volatile Flow.Subscription subscription;
        volatile Throwable error;
        volatile boolean completed;
        volatile Consumer<Record> onRow = r -> {};

        private void enter(String signal) {
            if (!inSignal.compareAndSet(false, true)) {
                violations.add("concurrent " + signal);
            }
            if (!signal.equals("onSubscribe") && subscription == null) {
                violations.add(signal + " before onSubscribe");
            }
            if (terminals.get() > 0) {
                violations.add(signal + " after a terminal signal");
            }
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            enter("onSubscribe");
            subscription = s;
            inSignal.set(false);
        }

        @Override
        public void onNext(Record item) {
            enter("onNext");
            try {
                rows.add(StreamTest.i(item));
                onRow.accept(item);
            } finally {
                inSignal.set(false);
            }
        }

        @Override
        public void onError(Throwable t) {
            enter("onError");
            error = t;
            terminals.incrementAndGet();
            inSignal.set(false);
            terminated.countDown();
        }

        @Override
        public void onComplete() {
            enter("onComplete");
            completed = true;
            terminals.incrementAndGet();
            inSignal.set(false);
            terminated.countDown();
        }

        void await() throws InterruptedException {
            assertThat(terminated.await(15, TimeUnit.SECONDS)).as("terminal signal").isTrue();
            Thread.sleep(50); // a second terminal signal would show here
            assertThat(terminals.get()).isEqualTo(1);
            assertThat(violations).isEmpty();
        }

        /** Waits until {@code n} rows arrived. */
        void awaitRows(int n) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (rows.size() < n && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(rows).hasSize(n);
        }
    }

    @Test
    void publisher__delivers_every_row_in_order_and_completes(AsyncSession session, Database db) throws Exception {
        Recorder r = new Recorder();
        session.stream(sql.series(2_500), Map.of()).subscribe(r);
        r.subscription.request(Long.MAX_VALUE);
        r.await();
        assertThat(r.completed).isTrue();
        assertThat(r.rows).hasSize(2_500).isSorted().startsWith(1L).endsWith(2_500L);
        StreamTest.awaitReleased(db);
    }

    @Test
    void publisher__of_no_rows_completes_and_gives_the_connection_back(AsyncSession session, Database db)
            throws Exception {
        Recorder r = new Recorder();
        session.stream("select name from users", Map.of()).subscribe(r);
        r.subscription.request(10);
        r.await();
        assertThat(r.completed).isTrue();
        assertThat(r.rows).isEmpty();
        StreamTest.awaitReleased(db);
    }

    @Test
    void publisher__delivers_only_what_was_requested_and_holds_its_connection_meanwhile(AsyncSession session,
            Database db) throws Exception {
        Recorder r = new Recorder();
        session.stream(sql.series(5_000), Map.of()).subscribe(r);
        assertThat(db.activeConnections()).as("nothing runs before the first request").isZero();
        r.subscription.request(10);
        r.awaitRows(10);
        Thread.sleep(100);
        assertThat(r.rows).hasSize(10);
        assertThat(db.activeConnections()).isEqualTo(1);
        r.subscription.request(1_500);
        r.awaitRows(1_510);
        r.subscription.request(Long.MAX_VALUE);
        r.await();
        assertThat(r.rows).hasSize(5_000).isSorted();
        StreamTest.awaitReleased(db);
    }

    @Test
    void publisher__reads_from_the_server_only_the_rows_requested(AsyncSession session, Database db) throws Exception {
        assumeTrue(postgres, "MariaDB's server sends rows ahead of the client's reads, as far as the socket buffers"
                + " allow; the client still holds at most one fetch");
        // Each row the server computes takes an advisory lock, which another session sees in pg_locks.
        Session blocking = db.blockingSession();
        String computed = "select count(*) as v from pg_locks where locktype = 'advisory' and classid = 424242";
        Recorder r = new Recorder();
        session.stream("select i, pg_try_advisory_xact_lock(424242, i) as locked from generate_series(1, 100000) i",
                Map.of()).subscribe(r);
        r.subscription.request(7);
        r.awaitRows(7);
        // What was requested, and at most one row read ahead (to tell the end without another request).
        assertThat(blocking.one(computed).get("v", Long.class)).as("rows computed by the server").isIn(7L, 8L);
        r.subscription.request(30);
        r.awaitRows(37);
        assertThat(blocking.one(computed).get("v", Long.class)).isIn(37L, 38L);
        r.subscription.cancel();
        StreamTest.awaitReleased(db);
        assertThat(blocking.one(computed).get("v", Long.class)).as("the stream's transaction ended").isZero();
    }

    @Test
    void publisher__cancel_gives_the_connection_back_and_ends_the_signals(AsyncSession session, Database db)
            throws Exception {
        Recorder r = new Recorder();
        session.stream(sql.series(5_000), Map.of()).subscribe(r);
        r.subscription.request(100);
        r.awaitRows(100);
        r.subscription.cancel();
        StreamTest.awaitReleased(db);
        r.subscription.request(100);
        Thread.sleep(100);
        assertThat(r.rows).hasSize(100);
        assertThat(r.terminals.get()).isZero();
        assertThat(r.violations).isEmpty();
    }

    @Test
    void publisher__cancel_during_a_slow_fetch_stops_it_on_the_server(AsyncSession session, Database db)
            throws Exception {
        String slow = postgres ? "select i, case when i = 3 then pg_sleep(10) end as s from generate_series(1, 5) i"
                : "select seq as i, repeat('x', 20000) as padding, case when seq = 3 then sleep(10) end as s"
                        + " from seq_1_to_5";
        Recorder r = new Recorder();
        session.stream(slow, Map.of()).subscribe(r);
        r.subscription.request(3);
        Thread.sleep(500); // the third row is being computed
        long start = System.nanoTime();
        r.subscription.cancel();
        StreamTest.awaitReleased(db);
        assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(5));
        assertThat(r.terminals.get()).isZero();
    }

    @Test
    void publisher__request_of_zero_or_less_signals_IllegalArgumentException_and_gives_the_connection_back(
            AsyncSession session, Database db) throws Exception {
        for (long bad : new long[] {0, -1}) {
            Recorder r = new Recorder();
            session.stream(sql.series(5_000), Map.of()).subscribe(r);
            r.subscription.request(5);
            r.awaitRows(5);
            r.subscription.request(bad);
            r.await();
            assertThat(r.error).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3.9");
            StreamTest.awaitReleased(db);
        }
    }

    @Test
    void publisher__second_subscriber_gets_IllegalStateException(AsyncSession session, Database db) throws Exception {
        Flow.Publisher<Record> publisher = session.stream(sql.series(10), Map.of());
        Recorder first = new Recorder();
        publisher.subscribe(first);
        Recorder second = new Recorder();
        publisher.subscribe(second);
        second.await();
        assertThat(second.error).isInstanceOf(IllegalStateException.class);
        first.subscription.request(Long.MAX_VALUE);
        first.await();
        assertThat(first.rows).hasSize(10);
        StreamTest.awaitReleased(db);
    }

    @Test
    void publisher__subscriber_that_throws_is_cancelled_told_once_and_the_connection_given_back(AsyncSession session,
            Database db) throws Exception {
        Recorder r = new Recorder();
        r.onRow = row -> {
            if (StreamTest.i(row) == 1_500) {
                throw new IllegalStateException("subscriber failed");
            }
        };
        session.stream(sql.series(5_000), Map.of()).subscribe(r);
        r.subscription.request(Long.MAX_VALUE);
        r.await();
        assertThat(r.error).hasMessage("subscriber failed");
        assertThat(r.rows).hasSize(1_500);
        StreamTest.awaitReleased(db);
    }

    @Test
    void publisher__failing_half_way_signals_onError_after_the_rows_before_it(AsyncSession session, Database db)
            throws Exception {
        Recorder r = new Recorder();
        session.stream(sql.failingAtHalf(), Map.of()).subscribe(r);
        r.subscription.request(Long.MAX_VALUE);
        r.await();
        assertThat(r.error).isInstanceOf(DataAccessException.class);
        assertThat(r.rows.size()).isBetween(4_000, 5_000);
        assertThat(r.rows).isSorted().startsWith(1L);
        StreamTest.awaitReleased(db);
    }

    @Test
    void publisher__signals_one_at_a_time_when_requests_come_from_other_threads(AsyncSession session, Database db)
            throws Exception {
        Recorder r = new Recorder();
        r.onRow = row -> Thread.ofVirtual().start(() -> r.subscription.request(1));
        session.stream(sql.series(2_000), Map.of()).subscribe(r);
        for (int k = 0; k < 4; k++) {
            Thread.ofVirtual().start(() -> r.subscription.request(1));
        }
        r.await();
        assertThat(r.completed).isTrue();
        assertThat(r.rows).hasSize(2_000).isSorted();
        StreamTest.awaitReleased(db);
    }

    @Test
    void publisher__abandoned_by_its_subscriber_is_released_and_reported(AsyncSession session, Database db)
            throws Exception {
        long before = db.abandonedStreams();
        subscribeAndDrop(session);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((db.activeConnections() > 0 || db.abandonedStreams() == before) && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertThat(db.abandonedStreams()).isEqualTo(before + 1);
        StreamTest.awaitReleased(db);
    }

    private void subscribeAndDrop(AsyncSession session) throws InterruptedException {
        Recorder r = new Recorder();
        session.stream(sql.series(5_000), Map.of()).subscribe(r);
        r.subscription.request(3);
        r.awaitRows(3);
    }

    @Test
    void publisher__inside_transaction_work_is_refused_at_once(AsyncSession session, Database db) {
        db.blockingSession().transaction(tx -> {
            assertThatThrownBy(() -> session.stream("select 1", Map.of())).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("blocking stream()");
            return null;
        });
    }
}
