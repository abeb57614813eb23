package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sqlservice.testing.TestDatabase;
import java.sql.SQLTimeoutException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.jooq.Record;
import org.jooq.Result;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@ExampleDatabase
@Tag("reliability")
class TimeoutAndCancellationTest {

    private TestDatabase test;
    private boolean postgres;

    @BeforeEach
    void backend(TestDatabase test) {
        this.test = test;
        this.postgres = test.dialect().family() == SQLDialect.POSTGRES;
    }

    /** A statement that runs for about ten seconds unless cancelled, and fails when cancelled. */
    private String slowStatement(String marker) {
        return postgres
                ? "select pg_sleep(10) as " + marker
                : "select benchmark(30000000, md5('" + marker + "')) as " + marker;
    }

    /** How many statements containing the marker the server is running now (other than this query). */
    private long runningOnServer(Database db, String marker) {
        String sql = postgres
                ? "select count(*) as n from pg_stat_activity where state = 'active' and pid <> pg_backend_pid()"
                        + " and query like '%' || :marker || '%'"
                : "select count(*) as n from information_schema.processlist where command = 'Query'"
                        + " and id <> connection_id() and info like concat('%', :marker, '%')";
        return db.blockingSession().one(sql, Map.of("marker", marker)).get("n", Long.class);
    }

    private void awaitServerIdle(Database db, String marker) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (runningOnServer(db, marker) > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(runningOnServer(db, marker)).as("statements still running on the server").isZero();
    }

    private static Throwable causeOf(CompletionStage<?> stage) {
        assertThat(stage).failsWithin(Duration.ofSeconds(8));
        try {
            stage.toCompletableFuture().get();
            throw new AssertionError("succeeded");
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void per_call_timeout__fails_fast_with_a_timeout_error_and_the_server_stops_the_statement(Database db) throws Exception {
        CompletionStage<Result<Record>> stage = db.session().withStatementTimeout(Duration.ofMillis(200))
                .all(slowStatement("timeout_probe"));

        Throwable failure = causeOf(stage);
        assertThat(failure).isInstanceOf(DataAccessException.class).hasMessageContaining("timed out after 200 ms");
        assertThat(failure.getCause()).isInstanceOf(SQLTimeoutException.class);
        assertThat(((DataAccessException) failure).sqlState()).isEqualTo(postgres ? "57014" : "70100");
        awaitServerIdle(db, "timeout_probe");
        assertThat(db.activeConnections()).isZero();
    }

    @Test
    void builder_timeout__applies_to_every_call_and_a_fast_call_is_unaffected() throws Exception {
        try (Database db = test.builder().statementTimeout(Duration.ofMillis(300)).build()) {
            assertThat(db.session().one("select 1 as one").toCompletableFuture().get().get("one", Integer.class)).isEqualTo(1);

            Throwable failure = causeOf(db.session().first(slowStatement("builder_timeout_probe")));
            assertThat(failure.getCause()).isInstanceOf(SQLTimeoutException.class);
            assertThatThrownBy(() -> db.blockingSession().all(slowStatement("blocking_timeout_probe")))
                    .isInstanceOf(DataAccessException.class).hasCauseInstanceOf(SQLTimeoutException.class);
            awaitServerIdle(db, "timeout_probe");
        }
    }

    @Test
    void timeout__inside_a_transaction_rolls_the_work_back(Database db) {
        CompletionStage<Object> stage = db.session().withStatementTimeout(Duration.ofMillis(200)).transaction(tx -> {
            tx.execute("insert into users (id, name) values (1, 'Rolled back')");
            return tx.all(slowStatement("tx_timeout_probe"));
        });

        assertThat(causeOf(stage)).hasCauseInstanceOf(SQLTimeoutException.class);
        assertThat(db.blockingSession().all("select * from users")).isEmpty();
    }

    @Test
    void cancel__stops_the_statement_on_the_server_and_returns_the_connection(Database db) throws Exception {
        CompletableFuture<Result<Record>> future = db.session().all(slowStatement("cancel_probe")).toCompletableFuture();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (runningOnServer(db, "cancel_probe") == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(runningOnServer(db, "cancel_probe")).as("the statement started").isEqualTo(1);

        // The statement was sent outside a transaction, so it may take effect: cancel(true) asks the server and
        // does not claim more; the stage is cancelled once the server confirms.
        assertThat(future.cancel(true)).isFalse();

        future.handle((value, failure) -> null).get(8, TimeUnit.SECONDS);
        assertThat(future).isCancelled();
        awaitServerIdle(db, "cancel_probe");
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (db.activeConnections() > 0 && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        assertThat(db.activeConnections()).isZero();
        assertThat(db.session().one("select 2 as two").toCompletableFuture().get().get("two", Integer.class)).isEqualTo(2);
    }

    @Test
    void cancel__of_a_queued_call_runs_no_sql(TestDatabase test, Database monitor) throws Exception {
        try (Database db = test.builder().poolSize(1).build()) {
            CompletableFuture<Result<Record>> holder = db.session().all(slowStatement("holder_probe")).toCompletableFuture();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (runningOnServer(monitor, "holder_probe") == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            CompletableFuture<Integer> queued = db.session()
                    .execute("insert into users (id, name) values (1, 'Never')").toCompletableFuture();

            assertThat(queued.cancel(true)).isTrue();
            assertThat(holder.cancel(true)).as("a running statement is cancelled by the server, not by the call")
                    .isFalse();
            holder.handle((value, failure) -> null).get(8, TimeUnit.SECONDS);
            assertThat(holder).isCancelled();
            assertThat(queued).isCancelled();
            awaitServerIdle(monitor, "holder_probe");
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (db.activeConnections() > 0 && System.nanoTime() < until) {
                Thread.sleep(10);
            }

            assertThat(db.activeConnections()).isZero();
            assertThat(monitor.blockingSession().all("select * from users")).isEmpty();
        }
    }

    @Test
    void timeout__must_be_positive(Database db) {
        assertThatThrownBy(() -> db.session().withStatementTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timeout");
    }
}
