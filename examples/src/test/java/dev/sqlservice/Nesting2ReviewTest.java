package dev.sqlservice;

import static dev.sqlservice.FaultFixture.sqlState;
import static dev.sqlservice.FaultFixture.awaitFailure;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.sqlservice.FaultFixture.Holder;
import dev.sqlservice.testing.TestDatabase;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
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
 * Second review of the nested-call restore (issue 17, HEAD 685d99c): {@code Calls.run} nested in the same call
 * snapshots lease, committing, aborted, abortReason, sentOutsideTransaction and cancelRequested and restores them
 * when the nested run recorded another lease; {@code Calls.using} starts such a run without the enclosing
 * connection's state; a transaction's statements and stream batches record the transaction's lease.
 *
 * <p>Each test says {@code DEFECT} (fails on the reviewed HEAD) or {@code CHECKED} (passes; what it proves). The
 * network faults go through {@link FaultProxy} on 127.0.0.1 only; embedded PostgreSQL (the default).
 */
@ExampleDatabase
@Tag("reliability")
@Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class Nesting2ReviewTest {

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
        // written and checked on PostgreSQL (generate_series, pg_sleep, a stream batch that needs the network)
        org.junit.jupiter.api.Assumptions.assumeTrue(postgres, "the scenarios of this class are PostgreSQL's");
    }

    @AfterEach
    void tearDown() throws Exception {
        fixture.close();
    }

    // ---------------------------------------------------------------------------------------------------------
    // stream batches: Calls.reading records the stream's lease without Calls.using's clearing
    // ---------------------------------------------------------------------------------------------------------

    // DEFECT, fixed (Calls.reading records its connection as Calls.using does) (the batch counterpart of NestingReviewTest's fixed abort defect; not covered by the fix): a db1
    // transaction whose statement was aborted (statement timeout on a dead network, caught by the work) cannot read a
    // stream of db2 (another, healthy database) afterwards, and the refusal is reported as db1's failure. The stream's
    // open is fine (Cursor.leased calls Calls.using, which clears the enclosing connection's state), but each batch's
    // Calls.reading sets call.lease = the stream's lease directly, without Calls.using's clearing: the batch's run
    // inherits aborted = true (and abortReason, committing, sentOutsideTransaction, cancelRequested) from db1's
    // connection, Calls.start refuses the batch (08003, never sent), and the batch's translate reports db1's reason
    // ("statement timed out after 300 ms ... so its connection was aborted ... rolled back", 08006) for a stream of
    // another database that never failed.
    // Fix: in Calls.reading, record the lease as Calls.using does (same clearing when call.enclosing != null &&
    // lease != call.enclosing && call.lease == call.enclosing; simplest: call Calls.using(lease) instead of
    // assigning call.lease), so the batch starts from the stream connection's own state; Calls.run's restore puts
    // db1's back at exit, as now.
    @Test
    void abort_DEFECT__a_transaction_whose_statement_was_aborted_cannot_read_a_stream_of_another_database()
            throws Exception {
        Database db1 = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(2)
                .acquisitionTimeout(Duration.ofSeconds(3)));
        Database db2 = fixture.open(test.builder().poolSize(2));
        Holder<Throwable> own = new Holder<>();
        Holder<Throwable> nested = new Holder<>();
        Holder<Long> rows = new Holder<>();
        CompletableFuture<Object> f = abortedTransaction(db1, () -> {
            try (Stream<Record> s = db2.blockingSession().stream("select g from generate_series(1, 3) g")) {
                rows.set(s.count());
            } catch (RuntimeException e) {
                nested.set(e);
            }
        }, own);
        Throwable failure = awaitFailure(f, System.nanoTime(), 30_000);
        assertThat(own.get()).as("db1's statement was aborted").isNotNull();
        assertThat(sqlState(own.get())).as("db1's statement: %s", own.get()).isEqualTo("08006");
        assertThat(failure).as("the aborted db1 transaction still fails").isNotNull();
        assertThat(nested.get()).as("the db2 stream on a healthy connection of another database is read").isNull();
        assertThat(rows.get()).isEqualTo(3L);
    }

    // ---------------------------------------------------------------------------------------------------------
    // a transaction's stream opened inside a transaction of another database
    // ---------------------------------------------------------------------------------------------------------

    // DEFECT, fixed (a stream opened in a transaction records the transaction's connection) (the open counterpart of NestingReviewTest's fixed timeout defect; the fix covered Session.run and the
    // batches, not the open): a db1 transaction (statement timeout 500 ms) whose work runs a db2 transaction and,
    // inside it, opens a stream of the db1 transaction on a dead network is not aborted within its timeout plus the
    // grace. Cursor.inTransaction runs the query in a Calls.run that records no lease: the shared Call still records
    // db2's transaction lease, so the timeout's cancel marks db2's lease and the grace's abort closes db2's healthy
    // connection, while db1's query stays blocked (until the network heals); db1's lease is never marked.
    // Fix: in Cursor.inTransaction's Calls.run, Calls.using(transaction) before cursor.execute (as Session.run does
    // for a transaction's statements); the nested run then restores db2's lease at exit.
    @Test
    void timeout_DEFECT__a_stream_of_a_transaction_opened_inside_a_transaction_of_another_database_is_not_aborted()
            throws Exception {
        Database db1 = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(2)
                .acquisitionTimeout(Duration.ofSeconds(2)));
        Database db2 = fixture.open(test.builder().poolSize(2));
        Holder<Long> blackholed = new Holder<>();
        CompletableFuture<Object> f = db1.session().withStatementTimeout(Duration.ofMillis(500)).transaction(tx1 ->
                db2.blockingSession().transaction(tx2 -> {
                    tx1.all(ONE);
                    tx2.all(ONE);
                    proxy.blackhole();
                    blackholed.set(System.nanoTime());
                    try (Stream<Record> s = tx1.stream("select g from generate_series(1, 3) g")) {
                        return (Object) s.count();
                    }
                })).toCompletableFuture();
        assertTimeoutEnds("db1 stream opened inside a db2 transaction", f, blackholed, 500);
    }

    // CHECKED: the batches of the same stream (opened before the network dies, inside the db2 transaction) record
    // the db1 transaction's lease (Cursor.recorded): its next batch on a dead network is aborted within the timeout
    // plus the grace.
    @Test
    void timeout_checked__a_batch_of_a_transaction_stream_read_inside_a_transaction_of_another_database_is_aborted()
            throws Exception {
        Database db1 = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(2)
                .acquisitionTimeout(Duration.ofSeconds(2)));
        Database db2 = fixture.open(test.builder().poolSize(2));
        Holder<Long> blackholed = new Holder<>();
        CompletableFuture<Object> f = db1.session().withStatementTimeout(Duration.ofMillis(500)).transaction(tx1 ->
                db2.blockingSession().transaction(tx2 -> {
                    tx2.all(ONE);
                    try (Stream<Record> s = tx1.stream("select g from generate_series(1, 100000) g")) {
                        java.util.Iterator<Record> it = s.iterator();
                        it.next();
                        proxy.blackhole();
                        blackholed.set(System.nanoTime());
                        long n = 1;
                        while (it.hasNext()) {
                            it.next();
                            n++;
                        }
                        return (Object) n;
                    }
                })).toCompletableFuture();
        assertTimeoutEnds("db1 stream batch inside a db2 transaction", f, blackholed, 500);
    }

    // ---------------------------------------------------------------------------------------------------------
    // the restore hides an abort of the enclosing connection made during the nested run
    // ---------------------------------------------------------------------------------------------------------

    // DEFECT, fixed (an abort of the enclosing connection itself survives the restore) (the restore is wrong when the enclosing connection itself is used, and aborted, inside the nested
    // run): an asynchronous db1 transaction (statement timeout 300 ms) whose work runs a db2 transaction in which a
    // db1 statement is aborted on a dead network (caught: the work carries on) fails at commit with
    // "Cannot commit: Connection is closed" and NO SQLState, instead of Session.commit's "Cannot commit: the
    // connection was aborted, so the transaction was rolled back" (08006; withStatementTimeout's Javadoc: "the cause
    // is ... 08006 and the transaction rolls back"; commit's: 08007 only when it may have committed, else 08006 /
    // 08003). The db1 statement's run (nested in the db2 transaction's run) sets aborted = true for db1's lease; at
    // its exit the restore puts db2's state back (aborted = false), and at the db2 transaction's exit the restore
    // puts back db1's state as it was BEFORE the db2 transaction (aborted = false): the abort of db1's own
    // connection, made during the nested run, is lost. Calls.connectionAborted() then says false at commit, and the
    // pool's closed-connection error goes out untranslated: the caller cannot tell whether the transaction
    // committed (it did not: nothing is stored). Not a silent loss (the commit still fails on the closed
    // connection), but the promised outcome is hidden; the same transaction without the db2 transaction around the
    // statement reports 08006 (NestingReviewTest.abort_checked__...).
    // Fix: keep the abort with the connection: in Calls.run's restore, when previousLease was aborted during the
    // nested run (Lease.abort() already sets the lease's own aborted flag; expose it), restore aborted = true with
    // that abort's reason instead of the snapshot (or let Calls.connectionAborted() and Calls.start also consult
    // call.lease's own flag).
    @Test
    void abort_DEFECT__an_abort_of_the_transaction_connection_inside_another_databases_transaction_is_hidden()
            throws Exception {
        Database db1 = fixture.open(test.builder().url(proxy.proxiedUrl(test.url())).poolSize(2)
                .acquisitionTimeout(Duration.ofSeconds(3)));
        Database db2 = fixture.open(test.builder().poolSize(2));
        Holder<Throwable> own = new Holder<>();
        CompletableFuture<Object> f = db1.session().withStatementTimeout(Duration.ofMillis(300)).transaction(tx1 -> {
            tx1.execute(org.jooq.impl.DSL.insertInto(USERS, USERS.NAME).values("hidden-abort"));
            db2.blockingSession().transaction(tx2 -> {
                tx2.all(ONE);
                proxy.blackhole();
                try {
                    tx1.all(ONE);
                } catch (DataAccessException e) {
                    own.set(e);
                } finally {
                    proxy.heal();
                }
                return tx2.all(ONE).size();
            });
            return (Object) "done";
        }).toCompletableFuture();
        Throwable failure = awaitFailure(f, System.nanoTime(), 30_000);
        assertThat(own.get()).as("db1's statement was aborted").isNotNull();
        assertThat(sqlState(own.get())).as("db1's statement: %s", own.get()).isEqualTo("08006");
        assertThat(failure).as("the transaction does not report success").isNotNull();
        long stored = db2.blockingSession().one("select count(*) from users where name = 'hidden-abort'")
                .get(0, Long.class);
        assertThat(stored).as("nothing of the aborted transaction is stored").isZero();
        assertThat(sqlState(failure)).as("reported as rolled back (08006), not 'may have been applied': %s", failure)
                .isEqualTo("08006");
    }

    /** A db1 transaction (statement timeout 300 ms) whose second statement is aborted on a dead network. */
    private CompletableFuture<Object> abortedTransaction(Database db1, Runnable afterwards, Holder<Throwable> own) {
        return db1.session().withStatementTimeout(Duration.ofMillis(300)).transaction(tx -> {
            tx.execute(org.jooq.impl.DSL.insertInto(USERS, USERS.NAME).values("aborted-tx"));
            proxy.blackhole();
            try {
                tx.all(ONE);
            } catch (DataAccessException e) {
                own.set(e); // the work carries on (a fallback, or logging the failure elsewhere)
            } finally {
                proxy.heal();
            }
            afterwards.run();
            return (Object) "done";
        }).toCompletableFuture();
    }

    // ---------------------------------------------------------------------------------------------------------
    // helpers
    // ---------------------------------------------------------------------------------------------------------

    /** Once {@code f}'s work blackholed the network, it must fail within its timeout + the grace. */
    private void assertTimeoutEnds(String label, CompletableFuture<?> f, Holder<Long> blackholed, long timeoutMillis)
            throws Exception {
        fixture.assertEndsWithinThenHeal(label, f, blackholed, timeoutMillis + CANCEL_BOUND + SLACK,
                "statement timeout " + timeoutMillis + " ms");
    }

}
