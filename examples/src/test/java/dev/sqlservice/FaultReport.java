package dev.sqlservice;

import static dev.sqlservice.FaultFixture.millisSince;
import static dev.sqlservice.FaultFixture.onOwnThread;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.jooq.exception.DataAccessException;

/**
 * What a caller sees when the network fails (issue 13), measured, not asserted: for each fault between the
 * library and a server on loopback (through a {@link FaultProxy}), how long the call took to end and with which
 * SQLState, how long after the heal the same {@link Database} served a call again, how long {@code close()}
 * took, and what it left: connections opened after {@code close()}, sessions still on the server.
 *
 * <pre>
 * ./mvnw -o test-compile exec:java -Dexec.mainClass=dev.sqlservice.FaultReport -Dexec.classpathScope=test \
 *     [-Dfaultreport.url=jdbc:mariadb://127.0.0.1:3306/test]
 * </pre>
 *
 * <p>The URL is the first argument, else the system property {@code faultreport.url}, else the local PostgreSQL,
 * {@code jdbc:postgresql://127.0.0.1:5432/test}. ({@code -Dexec.args} works only without {@code test-compile} in
 * the same command: that property also replaces the arguments of the pom's jOOQ code generation, an
 * {@code exec:exec} in {@code generate-sources}.) Credentials come from
 * {@code SQLSERVICE_TEST_USER} / {@code SQLSERVICE_TEST_PASSWORD} (never printed). It creates the table
 * {@code sqlservice_fault_report} in that database and drops it at the end. Every wait is capped, so a call that
 * would hang shows as "> N s" and the report goes on.
 */
public final class FaultReport {

    private static final Duration CALL_CAP = Duration.ofSeconds(15);
    private static final Duration CLOSE_CAP = Duration.ofSeconds(40);
    private static final String TABLE = "sqlservice_fault_report";

    private final String url;
    private final String user;
    private final String password;
    private final boolean postgres;
    private final List<Row> rows = new ArrayList<>();

    private FaultReport(String url, String user, String password) {
        this.url = url;
        this.user = user;
        this.password = password;
        this.postgres = url.startsWith("jdbc:postgresql:");
    }

    /**
     * Runs every fault once and prints the table.
     *
     * @param args optional: the JDBC URL of a server on 127.0.0.1
     * @throws Exception when the server cannot be reached at all
     */
    public static void main(String[] args) throws Exception {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
        }
        String url = args.length > 0 && !args[0].isBlank() ? args[0]
                : System.getProperty("faultreport.url", "jdbc:postgresql://127.0.0.1:5432/test");
        String user = System.getenv("SQLSERVICE_TEST_USER");
        String password = System.getenv("SQLSERVICE_TEST_PASSWORD");
        new FaultReport(url, user, password).run();
    }

    /** One line of the report. */
    private record Row(String fault, String ended, String sqlState, String outcome, String recovery, String close,
            String openedAfterClose, String leftOnServer) {}

    private void run() throws Exception {
        System.out.printf("Fault report for %s (sqlservice, current branch)%n", JdbcUrls.describe(url));
        admin(s -> s.execute("create table if not exists " + TABLE + " (id bigint primary key, note varchar(100))"));
        admin(s -> s.execute("delete from " + TABLE));
        try {
            blackhole(Duration.ofMillis(200));
            blackhole(null);
            blackhole(null, Duration.ofSeconds(5));
            cancelOnDeadNetwork();
            latency();
            reset();
            shortPartitionThenHeal();
            closeDuringPartition();
        } finally {
            admin(s -> s.execute("drop table if exists " + TABLE));
        }
        print();
    }

    // ---- the faults

    /** A 5 s statement running when the network goes silent, with or without a statement timeout. */
    private void blackhole(Duration statementTimeout) throws Exception {
        blackhole(statementTimeout, null);
    }

    /** The same, with the builder's deadConnectionTimeout set (null: its default, 60 s). */
    private void blackhole(Duration statementTimeout, Duration deadConnectionTimeout) throws Exception {
        String fault = (statementTimeout == null ? "blackhole, no statement timeout"
                : "blackhole, statementTimeout " + statementTimeout.toMillis() + " ms")
                + (deadConnectionTimeout == null ? "" : ", deadConnectionTimeout " + deadConnectionTimeout.toSeconds() + " s");
        try (FaultProxy proxy = proxy()) {
            Database.Builder builder = builder(proxy).poolSize(2).acquisitionTimeout(Duration.ofSeconds(5));
            if (statementTimeout != null) {
                builder.statementTimeout(statementTimeout);
            }
            if (deadConnectionTimeout != null) {
                builder.deadConnectionTimeout(deadConnectionTimeout);
            }
            Database db = builder.build();
            warm(db, 2);
            long start = System.nanoTime();
            CompletionStage<?> call = db.session().all(sleep(5));
            Thread.sleep(50); // sent, and before its deadline
            proxy.blackhole();
            Outcome outcome = await(call, start, CALL_CAP);
            proxy.heal();
            finish(fault, outcome, outcome.summary(), db, proxy);
        }
    }

    /** How long {@code cancel(true)} blocks the caller when the statement's network is dead. */
    private void cancelOnDeadNetwork() throws Exception {
        try (FaultProxy proxy = proxy()) {
            Database db = builder(proxy).poolSize(1).acquisitionTimeout(Duration.ofSeconds(5)).build();
            warm(db, 1);
            CompletableFuture<?> call = db.session().all(sleep(5)).toCompletableFuture();
            Thread.sleep(200);
            proxy.blackhole();
            long start = System.nanoTime();
            Outcome cancelling = await(onOwnThread("fault-report", () -> call.cancel(true)), start, CALL_CAP);
            proxy.heal();
            finish("blackhole, cancel(true) on the stage", cancelling.withState("-"),
                    "cancel(true) " + (cancelling.pending ? "still blocked" : "returned") + " after " + cancelling.millis
                            + " ms", db, proxy);
        }
    }

    /** 300 ms each way, five concurrent inserts with a 200 ms statement timeout: what was reported, what was written. */
    private void latency() throws Exception {
        try (FaultProxy proxy = proxy()) {
            Database db = builder(proxy).poolSize(5).acquisitionTimeout(Duration.ofSeconds(5))
                    .statementTimeout(Duration.ofMillis(200)).build();
            warm(db, 5);
            proxy.latency(Duration.ofMillis(300), Duration.ofMillis(300));
            long start = System.nanoTime();
            List<CompletionStage<Integer>> inserts = IntStream.rangeClosed(1, 5)
                    .mapToObj(id -> db.session().execute("insert into " + TABLE + " (id, note) values (:id, :note)",
                            Map.of("id", id, "note", "latency")))
                    .toList();
            List<Outcome> outcomes = new ArrayList<>();
            for (CompletionStage<Integer> insert : inserts) {
                outcomes.add(await(insert, start, CALL_CAP));
            }
            proxy.heal();
            Thread.sleep(1_000);
            int written = count("select count(*) from " + TABLE + " where note = 'latency'");
            long cancelledButWritten = IntStream.range(0, 5)
                    .filter(i -> outcomes.get(i).failure != null && outcomes.get(i).message().contains("cancelled on the server")
                            && rowExists(i + 1))
                    .count();
            long succeeded = outcomes.stream().filter(o -> !o.pending && o.failure == null).count();
            Outcome slowest = outcomes.stream().max((a, b) -> Long.compare(a.millis, b.millis)).orElseThrow();
            String states = outcomes.stream().map(Outcome::state).distinct().collect(Collectors.joining("/"));
            String summary = succeeded + "/5 succeeded, " + cancelledButWritten + "/5 reported \"cancelled on the server\""
                    + " but written; rows written " + written + "/5; ended after "
                    + outcomes.stream().map(o -> o.millis + "").collect(Collectors.joining(", ")) + " ms";
            finish("latency 300 ms each way, statementTimeout 200 ms, 5 inserts", slowest.withState(states), summary, db, proxy);
        }
    }

    /** An insert (1 s on the server) whose connection is reset 300 ms after it was sent. */
    private void reset() throws Exception {
        try (FaultProxy proxy = proxy()) {
            Database db = builder(proxy).poolSize(2).acquisitionTimeout(Duration.ofSeconds(5)).build();
            warm(db, 2);
            String insert = postgres
                    ? "insert into " + TABLE + " (id, note) select 100, 'reset' from pg_sleep(1)"
                    : "insert into " + TABLE + " (id, note) select 100, 'reset' from dual where sleep(1) = 0";
            long start = System.nanoTime();
            CompletionStage<Integer> call = db.session().execute(insert);
            Thread.sleep(300);
            proxy.reset();
            Outcome outcome = await(call, start, CALL_CAP);
            Thread.sleep(1_500);
            finish("reset (RST) 300 ms into an insert", outcome,
                    outcome.summary() + "; row written by the server anyway: " + rowExists(100), db, proxy);
        }
    }

    /** Calls sent into a 2 s partition, without statement timeout, then the network heals. */
    private void shortPartitionThenHeal() throws Exception {
        try (FaultProxy proxy = proxy()) {
            Database db = builder(proxy).poolSize(2).acquisitionTimeout(Duration.ofSeconds(5)).build();
            warm(db, 2);
            proxy.blackhole();
            long start = System.nanoTime();
            List<CompletionStage<?>> calls = IntStream.range(0, 2)
                    .<CompletionStage<?>>mapToObj(i -> db.session().one("select 1 as one"))
                    .toList();
            Thread.sleep(2_000);
            proxy.heal();
            List<Outcome> outcomes = new ArrayList<>();
            for (CompletionStage<?> call : calls) {
                outcomes.add(await(call, start, CALL_CAP));
            }
            Outcome last = outcomes.stream().max((a, b) -> Long.compare(a.millis, b.millis)).orElseThrow();
            finish("blackhole 2 s, then heal (select 1, no timeout)", last,
                    outcomes.stream().map(Outcome::summary).distinct().collect(Collectors.joining("; ")), db, proxy);
        }
    }

    /**
     * {@code close()} while the network is silent: the pool is still opening connections (blackholed right after
     * {@code build()}) and six calls without timeout are stuck or queued; the network heals only after
     * {@code close()} returned.
     */
    private void closeDuringPartition() throws Exception {
        try (FaultProxy proxy = proxy()) {
            Database db = builder(proxy).poolSize(4).acquisitionTimeout(Duration.ofSeconds(2)).build();
            proxy.blackhole();
            long start = System.nanoTime();
            List<CompletionStage<?>> calls = IntStream.range(0, 6)
                    .<CompletionStage<?>>mapToObj(i -> db.session().all(sleep(1)))
                    .toList();
            Thread.sleep(300);
            long closeStart = System.nanoTime();
            Outcome closing = await(onOwnThread("fault-report", () -> {
                db.close();
                return null;
            }), closeStart, CLOSE_CAP);
            int acceptedAtClose = proxy.acceptedConnections();
            List<Outcome> outcomes = new ArrayList<>();
            for (CompletionStage<?> call : calls) {
                outcomes.add(await(call, start, Duration.ofMillis(millisSince(start) + 1_000)));
            }
            proxy.heal();
            Thread.sleep(2_000);
            List<Long> left = serverSessions(proxy.upstreamPorts());
            Outcome last = outcomes.stream().max((a, b) -> Long.compare(a.millis, b.millis)).orElseThrow();
            String states = outcomes.stream().map(Outcome::state).distinct().collect(Collectors.joining("/"));
            rows.add(new Row("close() during a partition (acquisitionTimeout 2 s)", last.ended(), states,
                    outcomes.stream().map(Outcome::summary).distinct().collect(Collectors.joining("; ")),
                    "n/a (closed)", closing.pending ? "> " + CLOSE_CAP.toSeconds() + " s" : closing.millis + " ms",
                    String.valueOf(proxy.acceptedConnections() - acceptedAtClose),
                    left.size() + " (" + proxy.openConnections() + " open at the proxy)"));
            System.out.printf("  done: close() during a partition%n");
            left.forEach(this::terminate);
        }
    }

    /** Recovery (the network is healthy now), close(), and what is left: one row of the report. */
    private void finish(String fault, Outcome outcome, String summary, Database db, FaultProxy proxy) throws Exception {
        long healed = System.nanoTime();
        String recovery = "> 20 s";
        while (TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - healed) < 20_000) {
            Outcome probe = await(db.session().one("select 1 as one"), System.nanoTime(), Duration.ofSeconds(5));
            if (!probe.pending && probe.failure == null) {
                recovery = millisSince(healed) + " ms";
                break;
            }
            Thread.sleep(100);
        }
        long closeStart = System.nanoTime();
        Outcome closing = await(onOwnThread("fault-report", () -> {
            db.close();
            return null;
        }), closeStart, CLOSE_CAP);
        int acceptedAtClose = proxy.acceptedConnections();
        Thread.sleep(2_000);
        int openedAfter = proxy.acceptedConnections() - acceptedAtClose;
        List<Long> left = serverSessions(proxy.upstreamPorts());
        int openAtProxy = proxy.openConnections();
        rows.add(new Row(fault, outcome.ended(), outcome.state(), summary, recovery,
                closing.pending ? "> " + CLOSE_CAP.toSeconds() + " s" : closing.millis + " ms",
                String.valueOf(openedAfter), left.size() + " (" + openAtProxy + " open at the proxy)"));
        System.out.printf("  done: %s%n", fault);
        left.forEach(this::terminate);
    }

    // ---- output

    private void print() {
        System.out.println();
        String format = "| %-60s | %-10s | %-34s | %-19s | %-10s | %-18s | %-36s |%n";
        System.out.printf(format, "fault", "call ended", "SQLState", "recovery after heal", "close()", "opened after close",
                "server sessions left 2 s after close");
        System.out.printf(format, "-".repeat(60), "-".repeat(10), "-".repeat(34), "-".repeat(19), "-".repeat(10),
                "-".repeat(18), "-".repeat(36));
        for (Row row : rows) {
            System.out.printf(format, row.fault, row.ended, row.sqlState, row.recovery, row.close, row.openedAfterClose,
                    row.leftOnServer);
        }
        System.out.println();
        for (Row row : rows) {
            System.out.printf("%s:%n    %s%n", row.fault, row.outcome);
        }
    }

    // ---- plumbing

    private FaultProxy proxy() throws java.io.IOException {
        return new FaultProxy(FaultProxy.hostOf(url), FaultProxy.portOf(url));
    }

    private Database.Builder builder(FaultProxy proxy) {
        return Database.builder().url(proxy.proxiedUrl(url)).username(user).password(password);
    }

    private String sleep(int seconds) {
        return postgres ? "select pg_sleep(" + seconds + ") as slept" : "select sleep(" + seconds + ") as slept";
    }

    private static void warm(Database db, int connections) {
        List<CompletableFuture<Object>> holds = IntStream.range(0, connections)
                .mapToObj(i -> db.session().transaction(tx -> {
                    tx.execute("select 1");
                    try {
                        Thread.sleep(150);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return null;
                }).toCompletableFuture())
                .toList();
        holds.forEach(h -> h.orTimeout(15, TimeUnit.SECONDS).join());
    }

    /** How a call (or close, or cancel) ended, measured from {@code start}. */
    private record Outcome(Object value, Throwable failure, long millis, boolean pending, String stateOverride) {
        String state() {
            if (stateOverride != null) {
                return stateOverride;
            }
            if (pending) {
                return "-";
            }
            if (failure == null) {
                return "ok";
            }
            return failure instanceof DataAccessException e ? String.valueOf(e.sqlState()) : failure.getClass().getSimpleName();
        }

        String message() {
            return failure == null ? "" : String.valueOf(failure.getMessage());
        }

        String ended() {
            return pending ? "> " + millis / 1000 + " s" : millis + " ms";
        }

        String summary() {
            if (pending) {
                return "still running after " + millis + " ms";
            }
            if (failure == null) {
                return "succeeded after " + millis + " ms";
            }
            String message = message().replaceAll("\\s+", " ");
            return state() + " after " + millis + " ms: " + (message.length() > 140 ? message.substring(0, 140) + "…" : message);
        }

        Outcome withState(String state) {
            return new Outcome(value, failure, millis, pending, state);
        }
    }

    private static Outcome await(CompletionStage<?> stage, long start, Duration cap) throws InterruptedException {
        CompletableFuture<Outcome> ended = stage.toCompletableFuture().handle((value, failure) -> {
            Throwable cause = failure;
            while (cause instanceof CompletionException && cause.getCause() != null) {
                cause = cause.getCause();
            }
            return new Outcome(value, cause, millisSince(start), false, null);
        });
        try {
            return ended.get(Math.max(1, cap.toNanos() - (System.nanoTime() - start)), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return new Outcome(null, null, millisSince(start), true, null);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    private interface AdminWork {
        void run(Statement statement) throws SQLException;
    }

    private void admin(AdminWork work) throws SQLException {
        try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
            work.run(s);
        }
    }

    private int count(String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(url, user, password);
                Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            r.next();
            return r.getInt(1);
        }
    }

    private boolean rowExists(long id) {
        try (Connection c = DriverManager.getConnection(url, user, password);
                PreparedStatement s = c.prepareStatement("select count(*) from " + TABLE + " where id = ?")) {
            s.setLong(1, id);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return r.getInt(1) > 0;
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The server's ids of the sessions whose client port is one of {@code ports} (connections through the proxy). */
    private List<Long> serverSessions(Set<Integer> ports) throws SQLException {
        String sql = postgres
                ? "select pid, client_port from pg_stat_activity where client_port is not null and pid <> pg_backend_pid()"
                : "select id, host from information_schema.processlist where id <> connection_id()";
        List<Long> ids = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(url, user, password);
                Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            while (r.next()) {
                int port;
                if (postgres) {
                    port = r.getInt(2);
                } else {
                    String host = r.getString(2);
                    int colon = host == null ? -1 : host.lastIndexOf(':');
                    port = colon < 0 ? -1 : Integer.parseInt(host.substring(colon + 1));
                }
                if (ports.contains(port)) {
                    ids.add(r.getLong(1));
                }
            }
        }
        return ids;
    }

    private void terminate(long id) {
        String sql = postgres ? "select pg_terminate_backend(?)" : "kill connection ?";
        try (Connection c = DriverManager.getConnection(url, user, password); PreparedStatement s = c.prepareStatement(sql)) {
            if (postgres) {
                s.setInt(1, (int) id);
            } else {
                s.setLong(1, id);
            }
            s.execute();
        } catch (SQLException alreadyGone) {
            // it ended meanwhile
        }
    }
}
