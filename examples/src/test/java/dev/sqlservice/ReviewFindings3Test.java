package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.testing.TestDatabase;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Defects found by the third independent review (the streaming feature, issue 16: Streams, Session.stream,
 * AsyncSession.stream/forEach). Each test names the behaviour it guarantees and fails on the reviewed code.
 */
@ExampleDatabase
class ReviewFindings3Test {

    private boolean postgres;
    private final StreamTest sql = new StreamTest();

    @BeforeEach
    void backend(TestDatabase test) {
        postgres = test.dialect().family() == SQLDialect.POSTGRES;
        sql.backend(test);
    }

    // DEFECT (Reactive Streams rule 1.3: onSubscribe, onNext, onError and onComplete MUST be signaled serially;
    // README: "Signals come from one thread at a time, in order: onSubscribe, then onNext per row"):
    // Streams.Publisher.subscribe calls onSubscribe on the caller's thread; a request(n) made inside onSubscribe
    // (the usual pattern: Reactor's LambdaSubscriber, RxJava's DisposableSubscriber, JDK's SubmissionPublisher
    // consumers) starts the drain loop on a new virtual thread at once (Streams.Subscription.drain), which calls
    // onNext while onSubscribe has not returned yet: two signals run concurrently on one subscriber.
    @Test
    void publisher__signals_no_onNext_before_onSubscribe_has_returned(AsyncSession session, Database db)
            throws Exception {
        AtomicBoolean inOnSubscribe = new AtomicBoolean();
        List<String> violations = new CopyOnWriteArrayList<>();
        CountDownLatch firstRow = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(1);
        session.stream(sql.series(10), Map.of()).subscribe(new Flow.Subscriber<Record>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                inOnSubscribe.set(true);
                s.request(Long.MAX_VALUE);
                try {
                    // A subscriber still initialising after its request (2 s is far more than the query takes).
                    firstRow.await(2, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                inOnSubscribe.set(false);
            }

            @Override
            public void onNext(Record item) {
                if (inOnSubscribe.get()) {
                    violations.add("onNext(" + StreamTest.i(item) + ") while onSubscribe was still running");
                }
                firstRow.countDown();
            }

            @Override
            public void onError(Throwable t) {
                done.countDown();
            }

            @Override
            public void onComplete() {
                done.countDown();
            }
        });
        assertThat(done.await(15, TimeUnit.SECONDS)).isTrue();
        assertThat(violations).as("signals overlapping onSubscribe").isEmpty();
        StreamTest.awaitReleased(db);
    }

    // DEFECT (connection pinned; README: "A stream holds one pooled connection ... until its last row"; "it releases
    // on completion"): a subscriber that requests exactly the number of rows the query has gets every row, but
    // Streams.Subscription.emit (Streams.java:533-536, 568) completes only when a fetch returns fewer rows than
    // asked, and it fetches only while demand > 0: after the last row the cursor is not known to be exhausted,
    // onComplete never comes, and the pooled connection (with PostgreSQL's read-only transaction open) stays
    // borrowed until the subscriber happens to request again or cancels.
    @Test
    void publisher__that_delivered_every_row_completes_and_gives_the_connection_back_without_further_demand(
            AsyncSession session, Database db) throws Exception {
        PublisherTest.Recorder r = new PublisherTest.Recorder();
        session.stream(sql.series(3), Map.of()).subscribe(r);
        r.subscription.request(3);
        r.awaitRows(3);
        assertThat(r.terminated.await(5, TimeUnit.SECONDS)).as("onComplete after the last of 3 rows, 3 requested")
                .isTrue();
        assertThat(r.completed).isTrue();
        StreamTest.awaitReleased(db);
    }

    // DEFECT (README: "The statement timeout ... apply to every fetch (the consumer's time between fetches does not
    // count)"; issue 16: streams must survive slow consumers): on MariaDB the server writes rows ahead until the
    // TCP buffers are full and then blocks in its write; after net_write_timeout (60 s by default) without the
    // client reading, the server aborts the connection. A consumer that pauses longer than that between fetches
    // (an exporter waiting on a slow sink) loses the stream half-way with a connection error, although nothing
    // of the library's timeouts expired. MariaDbBackend.streamsOnlyInTransactions streams
    // straight off the socket and the stream's session raises neither net_write_timeout nor buffers.
    @Test
    @Tag("slow")
    void mariadb__stream_whose_consumer_pauses_longer_than_net_write_timeout_still_returns_every_row(Session session,
            Database db) throws Exception {
        assumeTrue(!postgres, "PostgreSQL's cursor computes rows only when fetched: the server waits idle");
        int total = 40_000; // ~40 MB: far beyond the loopback socket buffers
        long n = 0;
        try (Stream<Record> rows = session.stream("select seq as i, repeat('x', 1000) as padding from seq_1_to_"
                + total + " order by seq")) {
            Iterator<Record> it = rows.iterator();
            it.next();
            n++;
            Thread.sleep(65_000); // the consumer is slow once, longer than MariaDB's default net_write_timeout
            for (; it.hasNext(); n++) {
                it.next();
            }
        }
        assertThat(n).isEqualTo(total);
        StreamTest.awaitReleased(db);
    }
}
