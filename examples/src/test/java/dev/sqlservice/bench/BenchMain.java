package dev.sqlservice.bench;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * Runs the JMH suite: {@code ./mvnw -Pbench [-Dbench.mode=full] [-Dbench.url=jdbc:postgresql://…]}.
 *
 * <p>Arguments: {@code --mode=quick|full}, {@code --url=<jdbc url or empty>} (empty: an embedded PostgreSQL 18 is
 * started and stopped), {@code --out=<dir>}; for manual runs also {@code --only=upsert,read,concurrency,memory,stream},
 * {@code --rounds=<n>} (measured rounds per scenario) and {@code --jfr} (each fork records a JFR profile into the
 * output directory).
 *
 * <p>This JVM only prepares: the suite itself runs in a child JVM on a private copy of the class path's
 * directories, with JMH's generated classes (see {@link Relaunch}).
 *
 * <p>Each scenario is one JMH benchmark ({@code round}) run in one fork; every invocation runs each variant of
 * the scenario once, interleaved, and reports each variant's time as a secondary result. The suite writes JMH's
 * JSON ({@code results.json}), the ratios to each scenario's baseline ({@code ratios.json}, {@code table.md}) and
 * a bar chart of the ratios ({@code ratios.png}).
 */
public final class BenchMain {

    /** Iterations and sizes per mode. */
    record Plan(String mode, int smallWarmup, int smallRounds, int largeN, int largeWarmup, int largeRounds,
            boolean mergeLoopAtLargeN, int readWarmup, int readRounds, int lookups, int concurrencyWarmup,
            int concurrencyRounds, int memoryRounds, int memoryN, int streamN, int streamRounds) {

        static Plan of(String mode) {
            return switch (mode) {
                // quick: upsert at N=1,000 and 20,000 (merge() loop at 1,000 only), memory at 200,000 records, stream 1,000,000 rows
                case "quick" -> new Plan(mode, 2, 5, 20_000, 1, 3, false, 1, 4, 1_000, 1, 3, 1, 200_000, 1_000_000, 3);
                case "full" -> new Plan(mode, 2, 8, 100_000, 1, 5, true, 2, 10, 3_000, 2, 10, 1, 1_000_000, 10_000_000, 3);
                default -> throw new IllegalArgumentException("--mode must be quick or full, got " + mode);
            };
        }

        /** The same plan with {@code rounds} measured rounds in every scenario (memory excepted). */
        Plan withRounds(int rounds) {
            return new Plan(mode, smallWarmup, rounds, largeN, largeWarmup, rounds, mergeLoopAtLargeN, readWarmup, rounds,
                    lookups, concurrencyWarmup, rounds, memoryRounds, memoryN, streamN, rounds);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        for (String arg : args) {
            if (!arg.startsWith("--")) {
                throw new IllegalArgumentException("unknown argument " + arg);
            }
            int eq = arg.indexOf('=');
            options.put(eq < 0 ? arg.substring(2) : arg.substring(2, eq), eq < 0 ? "true" : arg.substring(eq + 1));
        }
        Plan plan = Plan.of(options.getOrDefault("mode", "quick"));
        if (options.containsKey("rounds")) {
            plan = plan.withRounds(Integer.parseInt(options.get("rounds")));
        }
        Path out = Path.of(options.getOrDefault("out", "target/bench")).toAbsolutePath();
        String url = options.getOrDefault("url", "").trim();
        Set<String> only = Set.of(options.getOrDefault("only", "upsert,read,concurrency,memory,stream").split(","));
        boolean jfr = Boolean.parseBoolean(options.getOrDefault("jfr", "false"));
        Files.createDirectories(out);
        if (!Relaunch.inChild()) {
            // The suite runs in a child JVM on a private copy of the class path, with JMH's generated classes.
            System.exit(Relaunch.run(out, args));
        }

        int status = 1;
        EmbeddedPostgres embedded = null;
        try {
            if (url.isEmpty()) {
                System.out.println("[bench] starting an embedded PostgreSQL (zonky) ...");
                embedded = EmbeddedPostgres.builder().start();
                url = embedded.getJdbcUrl("postgres", "postgres");
            }
            Map<String, String> server = serverSettings(url);
            System.out.println("[bench] mode " + plan.mode() + ", server " + server + ", output " + out);
            long started = System.nanoTime();
            List<RunResult> results = new ArrayList<>();
            if (only.contains("upsert")) {
                results.addAll(run(url, out, jfr, "UpsertBench", plan.smallWarmup(), plan.smallRounds(),
                        Map.of("n", "1000", "mergeLoop", "true"), List.of()));
                results.addAll(run(url, out, jfr, "UpsertBench", plan.largeWarmup(), plan.largeRounds(),
                        Map.of("n", String.valueOf(plan.largeN()), "mergeLoop", String.valueOf(plan.mergeLoopAtLargeN())),
                        List.of()));
            }
            if (only.contains("read")) {
                results.addAll(run(url, out, jfr, "ReadBench", plan.readWarmup(), plan.readRounds(),
                        Map.of("lookups", String.valueOf(plan.lookups())), List.of()));
            }
            if (only.contains("concurrency")) {
                results.addAll(run(url, out, jfr, "ConcurrencyBench", plan.concurrencyWarmup(), plan.concurrencyRounds(),
                        Map.of(), List.of()));
            }
            if (only.contains("memory")) {
                results.addAll(run(url, out, jfr, "MemoryBench", 0, plan.memoryRounds(),
                        Map.of("n", String.valueOf(plan.memoryN())), List.of("-XX:+UseG1GC", "-Xmx4g")));
            }
            if (only.contains("stream")) {
                // 64 MiB: far too little for every row at once, so a variant that buffered them would fail.
                results.addAll(run(url, out, jfr, "StreamBench", 1, plan.streamRounds(),
                        Map.of("n", String.valueOf(plan.streamN())), List.of("-XX:+UseG1GC", "-Xmx64m")));
            }
            double minutes = (System.nanoTime() - started) / 60e9;

            try (PrintStream json = new PrintStream(Files.newOutputStream(out.resolve("results.json")), true, "UTF-8")) {
                ResultFormatFactory.getInstance(ResultFormatType.JSON, json).writeOut(results);
            }
            Report report = Report.of(results, plan, server, minutes);
            System.out.println();
            System.out.println(report.text());
            Files.writeString(out.resolve("ratios.json"), report.json());
            Files.writeString(out.resolve("table.md"), report.markdown());
            Chart.write(report, out.resolve("ratios.png"));
            System.out.println("[bench] wrote " + out.resolve("results.json") + ", " + out.resolve("ratios.json") + ", "
                    + out.resolve("table.md") + ", " + out.resolve("ratios.png"));
            status = 0;
        } catch (Throwable t) {
            t.printStackTrace();
        } finally {
            if (embedded != null) {
                embedded.close();
                System.out.println("[bench] embedded PostgreSQL stopped");
            }
        }
        System.exit(status);
    }

    private static Collection<RunResult> run(String url, Path out, boolean jfr, String benchmark, int warmup, int rounds,
            Map<String, String> params, List<String> extraJvmArgs) throws Exception {
        List<String> jvmArgs = new ArrayList<>(List.of("-Dbench.url=" + url, "-Dbench.out=" + out,
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-Dorg.jooq.no-logo=true", "-Dorg.jooq.no-tips=true"));
        jvmArgs.addAll(extraJvmArgs);
        // the library's own switches (-Dsqlservice.postgres.copyRows=…) reach the fork
        System.getProperties().stringPropertyNames().stream().filter(name -> name.startsWith("sqlservice."))
                .sorted().forEach(name -> jvmArgs.add("-D" + name + "=" + System.getProperty(name)));
        if (jfr) {
            jvmArgs.add("-XX:StartFlightRecording=filename=" + out.resolve(benchmark + params.getOrDefault("n", "")
                    + ".jfr") + ",settings=profile");
        }
        ChainedOptionsBuilder builder = new OptionsBuilder()
                .include(BenchMain.class.getPackageName() + "." + benchmark + ".round")
                .forks(1)
                .warmupIterations(warmup)
                .measurementIterations(rounds)
                .jvmArgsAppend(jvmArgs.toArray(String[]::new))
                .shouldFailOnError(true)
                .verbosity(VerboseMode.NORMAL);
        params.forEach(builder::param);
        Collection<RunResult> results = new Runner(builder.build()).run();
        if (results.isEmpty()) {
            throw new IllegalStateException("JMH ran nothing for " + benchmark);
        }
        return results;
    }

    private static Map<String, String> serverSettings(String url) throws Exception {
        Map<String, String> settings = new LinkedHashMap<>();
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            if (url.startsWith("jdbc:mariadb:")) {
                for (String name : Arrays.asList("version", "innodb_flush_log_at_trx_commit", "sync_binlog",
                        "innodb_buffer_pool_size")) {
                    try (ResultSet rs = s.executeQuery("select @@" + name)) {
                        rs.next();
                        settings.put(name, rs.getString(1));
                    }
                }
                return settings;
            }
            for (String name : Arrays.asList("server_version", "fsync", "synchronous_commit", "full_page_writes",
                    "shared_buffers")) {
                try (ResultSet rs = s.executeQuery("show " + name)) {
                    rs.next();
                    settings.put(name, rs.getString(1));
                }
            }
        }
        return settings;
    }

    private BenchMain() {}
}
