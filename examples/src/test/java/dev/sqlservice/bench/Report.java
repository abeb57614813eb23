package dev.sqlservice.bench;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;

/**
 * Turns the JMH results into the tables: per variant the median of its per-round values (with min and max), and
 * its ratio to the scenario's baseline as the median of the per-round ratios (each round's variants ran
 * back to back, so each round gives one paired ratio), with their min and max.
 */
final class Report {

    /** The per-round values of one metric of one benchmark run (one fork). */
    record Series(String benchmark, Map<String, String> params, String metric, double[] values) {}

    /** One line of a table. {@code ratio} is null for the baseline's own line and for plain figures. */
    record Row(String group, String variant, String unit, double median, double min, double max, Double ratio,
            Double ratioMin, Double ratioMax, boolean baseline, boolean library, String note) {}

    /** A target of the issue, evaluated on this run. */
    record Target(String name, String measured, String met) {}

    private final List<Series> series;
    private final BenchMain.Plan plan;
    private final Map<String, String> server;
    private final double minutes;
    final List<Row> rows = new ArrayList<>();
    final List<Target> targets = new ArrayList<>();

    private Report(List<Series> series, BenchMain.Plan plan, Map<String, String> server, double minutes) {
        this.series = series;
        this.plan = plan;
        this.server = server;
        this.minutes = minutes;
    }

    static Report of(List<RunResult> results, BenchMain.Plan plan, Map<String, String> server, double minutes) {
        List<Series> series = new ArrayList<>();
        for (RunResult run : results) {
            String method = run.getParams().getBenchmark();
            String owner = method.substring(0, method.lastIndexOf('.'));
            String benchmark = owner.substring(owner.lastIndexOf('.') + 1);
            Map<String, String> params = new LinkedHashMap<>();
            for (String key : run.getParams().getParamsKeys()) {
                params.put(key, run.getParams().getParam(key));
            }
            Map<String, List<Double>> values = new LinkedHashMap<>();
            for (BenchmarkResult fork : run.getBenchmarkResults()) {
                for (IterationResult iteration : fork.getIterationResults()) {
                    for (String metric : iteration.getSecondaryResults().keySet()) {
                        values.computeIfAbsent(metric, k -> new ArrayList<>())
                                .add(iteration.getSecondaryResults().get(metric).getScore());
                    }
                }
            }
            values.forEach((metric, list) -> series.add(new Series(benchmark, params, metric,
                    list.stream().mapToDouble(Double::doubleValue).toArray())));
        }
        Report report = new Report(series, plan, server, minutes);
        report.build();
        return report;
    }

    // -------------------------------------------------------------------------------------------------------
    // Tables and targets
    // -------------------------------------------------------------------------------------------------------

    private void build() {
        List<String> upsertNs = series.stream().filter(s -> s.benchmark().equals("UpsertBench"))
                .map(s -> s.params().get("n")).distinct().sorted((a, b) -> Integer.compare(Integer.parseInt(a), Integer.parseInt(b)))
                .toList();
        List<String> upserts = List.of("saveAll", "batchMerge", "mergeLoop", "jdbcBatch", "copy", "copyRefresh",
                "librarySql");
        for (String n : upsertNs) {
            Map<String, String> p = Map.of("n", n);
            group("upsert N=" + thousands(n), "ms", "UpsertBench", p, "jdbcBatch", false, upserts, List.of("saveAll"));
            group("upsert N=" + thousands(n) + ": client CPU", "CPU ms", "UpsertBench", p, "jdbcBatch", false,
                    suffixed(upserts, "_cpu"), List.of("saveAll_cpu"));
        }
        String reads = "read all " + thousands(param("ReadBench", "n").orElse("?")) + " rows";
        List<String> whole = List.of("allAsync", "allBlocking", "jooqFetch", "jdbcLoop");
        group(reads, "ms", "ReadBench", Map.of(), "jooqFetch", false, whole, List.of("allAsync", "allBlocking"));
        group(reads + ": client CPU", "CPU ms", "ReadBench", Map.of(), "jooqFetch", false, suffixed(whole, "_cpu"),
                List.of("allAsync_cpu", "allBlocking_cpu"));
        group("first() by primary key", "µs/lookup", "ReadBench", Map.of(), "jooqFetchOptional", false,
                List.of("firstAsync", "firstBlocking", "firstPreparedAsync", "jooqFetchOptional", "jdbcFirst",
                        "jooqAsyncJoined"),
                List.of("firstAsync", "firstBlocking", "firstPreparedAsync"));
        List<String> concurrent = List.of("async", "asyncPrepared", "jdbcPool10", "jooqPool10", "blockingPool10",
                "jdbcVirtual", "asyncPlatform10", "asyncPreparedPlatform10");
        String c = thousands(param("ConcurrencyBench", "queries").orElse("?")) + " concurrent first(), pool of 10";
        group(c + ": throughput", "queries/s", "ConcurrencyBench", Map.of(), "jdbcPool10", true,
                suffixed(concurrent, "_qps"), List.of("async_qps", "asyncPrepared_qps", "blockingPool10_qps", "asyncPlatform10_qps",
                        "asyncPreparedPlatform10_qps"));
        group(c + ": client CPU per query", "CPU µs", "ConcurrencyBench", Map.of(), "jdbcPool10", false,
                suffixed(concurrent, "_cpuUs"), List.of("async_cpuUs", "asyncPrepared_cpuUs", "blockingPool10_cpuUs", "asyncPlatform10_cpuUs",
                        "asyncPreparedPlatform10_cpuUs"));
        group(c + ": client CPU per query, threads' clocks (ns; GC and JIT included)", "CPU µs", "ConcurrencyBench",
                Map.of(), "jdbcPool10", false, suffixed(concurrent, "_taskCpuUs"), List.of("async_taskCpuUs",
                        "asyncPrepared_taskCpuUs", "blockingPool10_taskCpuUs", "asyncPlatform10_taskCpuUs",
                        "asyncPreparedPlatform10_taskCpuUs"));
        group(c + ": server CPU per query", "CPU µs", "ConcurrencyBench", Map.of(), "jdbcPool10", false,
                suffixed(concurrent, "_serverCpuUs"), List.of("async_serverCpuUs", "asyncPrepared_serverCpuUs",
                        "blockingPool10_serverCpuUs", "asyncPlatform10_serverCpuUs", "asyncPreparedPlatform10_serverCpuUs"));
        group(c + ": client + server CPU per query", "CPU µs", "ConcurrencyBench", Map.of(), "jdbcPool10", false,
                suffixed(concurrent, "_totalCpuUs"), List.of("async_totalCpuUs", "asyncPrepared_totalCpuUs",
                        "blockingPool10_totalCpuUs", "asyncPlatform10_totalCpuUs", "asyncPreparedPlatform10_totalCpuUs"));
        group(c + ": p50 latency", "µs", "ConcurrencyBench", Map.of(), "jdbcPool10", false,
                suffixed(concurrent, "_p50us"), List.of("async_p50us", "asyncPrepared_p50us", "blockingPool10_p50us", "asyncPlatform10_p50us",
                        "asyncPreparedPlatform10_p50us"));
        group(c + ": p99 latency", "µs", "ConcurrencyBench", Map.of(), "jdbcPool10", false,
                suffixed(concurrent, "_p99us"), List.of("async_p99us", "asyncPrepared_p99us", "blockingPool10_p99us", "asyncPlatform10_p99us",
                        "asyncPreparedPlatform10_p99us"));
        List<String> serverBound = List.of("asyncServerBound", "jdbcPool10ServerBound");
        String sb = thousands(param("ConcurrencyBench", "queries").orElse("?"))
                + " concurrent first(), pool of 10, each query ≥ 1 ms on the server";
        group(sb + ": throughput", "queries/s", "ConcurrencyBench", Map.of(), "jdbcPool10ServerBound", true,
                suffixed(serverBound, "_qps"), List.of("asyncServerBound_qps"));
        group(sb + ": client CPU per query", "CPU µs", "ConcurrencyBench", Map.of(), "jdbcPool10ServerBound", false,
                suffixed(serverBound, "_cpuUs"), List.of("asyncServerBound_cpuUs"));
        for (String metric : List.of("peakThreads", "addedThreads", "workerThreads")) {
            String label = switch (metric) {
                case "peakThreads" -> "peak live platform threads (max over rounds)";
                case "addedThreads" -> "peak minus live before the variant (max over rounds)";
                default -> "platform threads that ran the queries";
            };
            for (String v : concurrent) {
                find("ConcurrencyBench", Map.of(), v + "_" + metric).ifPresent(s -> rows.add(new Row(c + ": " + label, v,
                        "threads", max(s.values()), min(s.values()), max(s.values()), null, null, null, false,
                        v.startsWith("async") || v.startsWith("blocking"), "")));
            }
        }
        memory();
        stream();
        evaluateTargets(upsertNs);
    }

    private static List<String> suffixed(List<String> names, String suffix) {
        return names.stream().map(n -> n + suffix).toList();
    }

    private void group(String title, String unit, String benchmark, Map<String, String> params, String baseline,
            boolean higherIsBetter, List<String> variants, List<String> library) {
        String baselineMetric = variants.stream().filter(v -> v.equals(baseline) || v.startsWith(baseline + "_"))
                .findFirst().orElse(baseline);
        Optional<Series> baseSeries = find(benchmark, params, baselineMetric);
        for (String variant : variants) {
            Optional<Series> s = find(benchmark, params, variant);
            if (s.isEmpty() || s.get().values().length == 0 || max(s.get().values()) <= 0) {
                continue;
            }
            double[] v = s.get().values();
            boolean isBaseline = baseSeries.isPresent() && baseSeries.get() == s.get();
            Double ratio = null;
            Double ratioMin = null;
            Double ratioMax = null;
            if (baseSeries.isPresent() && paired(v, baseSeries.get().values()).length > 0) {
                double[] r = paired(v, baseSeries.get().values());
                ratio = median(r);
                ratioMin = min(r);
                ratioMax = max(r);
            }
            String name = variant.contains("_") ? variant.substring(0, variant.indexOf('_')) : variant;
            rows.add(new Row(title, name, unit, median(v), min(v), max(v), ratio, ratioMin, ratioMax, isBaseline,
                    library.contains(variant), higherIsBetter ? "ratio > 1 is faster" : "ratio < 1 is faster"));
        }
    }

    private void memory() {
        Optional<String> n = param("MemoryBench", "n");
        if (n.isEmpty()) {
            return;
        }
        String title = "memory: saveAll of " + thousands(n.get()) + " records";
        String[][] metrics = {
            {"recordsMB", "MiB", "the records' own footprint (live heap)"},
            {"bytesPerRecord", "B", "per record"},
            {"saveAllMs", "ms", "saveAll time in run A"},
            {"sampledPeakMB", "MiB", "run A: peak used heap (garbage included) above the records"},
            {"oldGenPeakMB", "MiB", "run A: G1 old gen peak above its level before"},
            {"chunks", "", "run B: upsert statements"},
            {"chunkSqlKB", "KiB", "one chunk's SQL text"},
            {"chunkBindMB", "MiB", "one chunk's rows as sent: its JSON bind value, or its COPY text (chars)"},
            {"liveFirstChunkMB", "MiB", "live heap held beyond the records at the first chunk"},
            {"liveLastChunkMB", "MiB", "... at the last chunk"},
            {"liveMaxChunkMB", "MiB", "... maximum over the sampled chunks"},
            {"liveGrowthPerChunkMB", "MiB", "growth of what is held, per chunk"},
            {"liveAfterMB", "MiB", "live heap after saveAll returned, above the records before"},
        };
        for (String[] m : metrics) {
            find("MemoryBench", Map.of(), m[0]).ifPresent(s -> rows.add(new Row(title, m[0], m[1], median(s.values()),
                    min(s.values()), max(s.values()), null, null, null, false, false, m[2])));
        }
    }

    private void stream() {
        Optional<String> n = param("StreamBench", "n");
        if (n.isEmpty()) {
            return;
        }
        String title = "stream " + thousands(n.get()) + " rows, -Xmx64m";
        List<String> variants = List.of("stream", "publisher", "jooqFetchStream", "jdbcCursor");
        List<String> library = List.of("stream", "publisher");
        group(title, "ms", "StreamBench", Map.of(), "jooqFetchStream", false, variants, library);
        group(title + ": time to first row", "ms", "StreamBench", Map.of(), "jooqFetchStream", false,
                suffixed(variants, "_firstMs"), suffixed(library, "_firstMs"));
        group(title + ": peak heap used (garbage included)", "MiB", "StreamBench", Map.of(), "jooqFetchStream", false,
                suffixed(variants, "_peakMB"), suffixed(library, "_peakMB"));
    }

    private void evaluateTargets(List<String> upsertNs) {
        if (!upsertNs.isEmpty()) {
            String n = upsertNs.getLast();
            Map<String, String> p = Map.of("n", n);
            String at = " at N=" + thousands(n) + (n.equals("100000") ? "" : " (quick mode; the target is stated for N=100,000)");
            ratio("UpsertBench", p, "saveAll", "jdbcBatch").ifPresent(r -> targets.add(new Target(
                    "saveAll ≤ 1.0× the JDBC batch (issue 17)" + at, fmtRatio(r), verdict(r[0] <= 1.0))));
            ratio("UpsertBench", p, "saveAll", "copy").ifPresent(r -> targets.add(new Target(
                    "saveAll ≤ 1.4× the COPY path (issue 17)" + at, "saveAll / COPY = " + fmtRatio(r), verdict(r[0] <= 1.4))));
            String mergeN = upsertNs.reversed().stream()
                    .filter(m -> ratio("UpsertBench", Map.of("n", m), "mergeLoop", "saveAll").isPresent()).findFirst().orElse(n);
            String mergeAt = " at N=" + thousands(mergeN) + (mergeN.equals("100000") ? ""
                    : " (quick mode runs the merge() loop at N=1,000 only; the target is stated for N=100,000)");
            ratio("UpsertBench", Map.of("n", mergeN), "mergeLoop", "saveAll").ifPresent(r -> targets.add(new Target(
                    "saveAll ≥ 10× faster than the merge() loop" + mergeAt, "merge() loop / saveAll = " + fmtRatio(r),
                    verdict(r[0] >= 10))));
            ratio("UpsertBench", p, "saveAll", "batchMerge").ifPresent(r -> targets.add(new Target(
                    "saveAll beats batchMerge" + at, "saveAll / batchMerge = " + fmtRatio(r), verdict(r[0] < 1))));
            ratio("UpsertBench", p, "saveAll_cpu", "jdbcBatch_cpu").ifPresent(r -> targets.add(new Target(
                    "(report) saveAll's client CPU against the JDBC batch's" + at, fmtRatio(r), "reported")));
            ratio("UpsertBench", p, "saveAll", "copyRefresh").ifPresent(r -> targets.add(new Target(
                    "(report) saveAll against the COPY path with the refresh written by hand (copyRefresh)" + at,
                    fmtRatio(r), "reported")));
            ratio("UpsertBench", p, "copyRefresh", "copy").ifPresent(r -> targets.add(new Target(
                    "(report) what the refresh costs the COPY path (copyRefresh / copy)" + at, fmtRatio(r), "reported")));
            ratio("UpsertBench", p, "librarySql", "jdbcBatch").ifPresent(r -> targets.add(new Target(
                    "(report) sqlservice's SQL sent by hand (librarySql) against the JDBC batch" + at, fmtRatio(r),
                    "reported")));
        }
        for (String v : List.of("allAsync", "allBlocking")) {
            ratio("ReadBench", Map.of(), v, "jooqFetch").ifPresent(r -> targets.add(new Target(
                    "all() ≤ 1.0× plain jOOQ fetch() (" + v + ", issue 17)", fmtRatio(r), verdict(r[0] <= 1.0))));
            ratio("ReadBench", Map.of(), v, "jdbcLoop").ifPresent(r -> targets.add(new Target(
                    "(report) all()'s distance to raw JDBC (" + v + ")", v + " / JDBC loop = " + fmtRatio(r), "reported")));
        }
        Optional<double[]> qps = ratio("ConcurrencyBench", Map.of(), "async_qps", "jdbcPool10_qps");
        Optional<Series> asyncWorkers = find("ConcurrencyBench", Map.of(), "async_workerThreads");
        Optional<Series> asyncAdded = find("ConcurrencyBench", Map.of(), "async_addedThreads");
        Optional<Series> jdbcAdded = find("ConcurrencyBench", Map.of(), "jdbcPool10_addedThreads");
        if (qps.isPresent() && asyncWorkers.isPresent()) {
            double workers = max(asyncWorkers.get().values());
            boolean fewer = workers < 10;
            targets.add(new Target("async throughput ≥ 0.9× the fixed-pool JDBC baseline, with fewer platform threads",
                    "throughput " + fmtRatio(qps.get()) + "; platform threads running queries: " + (int) workers
                            + " carriers vs 10 (added at peak: " + (int) max(asyncAdded.get().values()) + " vs "
                            + (int) max(jdbcAdded.get().values()) + ")",
                    verdict(qps.get()[0] >= 0.9 && fewer) + (qps.get()[0] >= 0.9 ? "" : " (throughput)")
                            + (fewer ? "" : " (threads)")));
        }
        ratio("ConcurrencyBench", Map.of(), "async_cpuUs", "jdbcPool10_cpuUs").ifPresent(r -> targets.add(new Target(
                "(report) async's client CPU per query against the JDBC pool's", fmtRatio(r), "reported")));
        ratio("ConcurrencyBench", Map.of(), "asyncPrepared_qps", "jdbcPool10_qps").ifPresent(r -> targets.add(new Target(
                "async prepared point queries ≥ 0.9× the JDBC pool's throughput", fmtRatio(r), verdict(r[0] >= 0.9))));
        ratio("ConcurrencyBench", Map.of(), "asyncPrepared_cpuUs", "jdbcPool10_cpuUs").ifPresent(r -> targets.add(new Target(
                "async prepared point queries ≤ 1.5× the JDBC pool's client CPU per query", fmtRatio(r),
                verdict(r[0] <= 1.5))));
        ratio("ConcurrencyBench", Map.of(), "asyncPrepared_taskCpuUs", "jdbcPool10_taskCpuUs").ifPresent(r -> targets.add(
                new Target("(report) the same, client CPU from the threads' own clocks (nanoseconds, where the process"
                        + " counter above ticks every 10 ms)", fmtRatio(r), r[0] <= 1.5 ? "within 1.5×" : "above 1.5×")));
        ratio("ConcurrencyBench", Map.of(), "blockingPool10_qps", "jooqPool10_qps").ifPresent(r -> targets.add(new Target(
                "unprepared typed queries no slower than plain jOOQ on the same threads (throughput, blockingPool10 /"
                        + " jooqPool10, within 3%)", fmtRatio(r), verdict(r[0] >= 0.97))));
        ratio("ConcurrencyBench", Map.of(), "blockingPool10_cpuUs", "jooqPool10_cpuUs").ifPresent(r -> targets.add(
                new Target("(report) unprepared typed queries' client CPU per query against plain jOOQ's, same threads",
                        fmtRatio(r), "reported")));
        ratio("ReadBench", Map.of(), "firstAsync", "jooqFetchOptional").ifPresent(r -> targets.add(new Target(
                "a single joined first() ≤ 1.1× jOOQ's fetchOptional", fmtRatio(r), verdict(r[0] <= 1.1))));
        ratio("ReadBench", Map.of(), "firstPreparedAsync", "jooqFetchOptional").ifPresent(r -> targets.add(new Target(
                "(report) a single joined prepared first() against jOOQ's fetchOptional", fmtRatio(r), "reported")));
        ratio("ReadBench", Map.of(), "jooqAsyncJoined", "jooqFetchOptional").ifPresent(r -> targets.add(new Target(
                "(report) jOOQ's own fetchAsync on a virtual thread, joined at once, against fetchOptional", fmtRatio(r),
                "reported")));
        ratio("ReadBench", Map.of(), "firstAsync", "jooqAsyncJoined").ifPresent(r -> targets.add(new Target(
                "(report) a single joined first() against jOOQ's fetchAsync joined at once", fmtRatio(r), "reported")));
        ratio("ConcurrencyBench", Map.of(), "asyncPreparedPlatform10_qps", "jdbcPool10_qps").ifPresent(r -> targets.add(
                new Target("(report) async prepared point queries on an executor of 10 platform threads, throughput"
                        + " against the JDBC pool's", fmtRatio(r), "reported")));
        ratio("ConcurrencyBench", Map.of(), "asyncPrepared_qps", "jdbcVirtual_qps").ifPresent(r -> targets.add(
                new Target("(report) async prepared point queries against plain JDBC on a virtual thread per query (behind a fair"
                        + " semaphore of 10)",
                        fmtRatio(r), "reported")));
        ratio("ConcurrencyBench", Map.of(), "jooqPool10_qps", "jdbcPool10_qps").ifPresent(r -> targets.add(new Target(
                "(report) plain jOOQ on the same 10 platform threads, throughput against JDBC", fmtRatio(r), "reported")));
        ratio("ConcurrencyBench", Map.of(), "asyncServerBound_qps", "jdbcPool10ServerBound_qps").ifPresent(r -> targets.add(
                new Target("(report) async throughput against the JDBC pool when each query holds its connection ≥ 1 ms"
                        + " on the server (the pool, not client CPU, is the limit)", fmtRatio(r),
                        r[0] >= 0.9 ? "≥ 0.9×" : "below 0.9×")));
        for (String v : List.of("stream", "publisher")) {
            String rows = thousands(param("StreamBench", "n").orElse("?")) + " rows";
            ratio("StreamBench", Map.of(), v, "jooqFetchStream").ifPresent(r -> targets.add(new Target(
                    v + " of " + rows + " no slower than jOOQ's fetchStream (same fetch size)", fmtRatio(r),
                    verdict(r[0] <= 1.05))));
            ratio("StreamBench", Map.of(), v, "jdbcCursor").ifPresent(r -> targets.add(new Target(
                    "(report) " + v + "'s distance to a raw JDBC cursor loop", fmtRatio(r), "reported")));
            find("StreamBench", Map.of(), v + "_peakMB").ifPresent(s -> targets.add(new Target(
                    v + " of " + rows + " in a 64 MiB heap", String.format(Locale.ROOT, "peak heap used %.1f MiB",
                            max(s.values())), verdict(max(s.values()) < 64))));
        }
        Optional<Series> first = find("MemoryBench", Map.of(), "liveFirstChunkMB");
        Optional<Series> last = find("MemoryBench", Map.of(), "liveLastChunkMB");
        Optional<Series> max = find("MemoryBench", Map.of(), "liveMaxChunkMB");
        Optional<Series> bind = find("MemoryBench", Map.of(), "chunkBindMB");
        Optional<Series> sql = find("MemoryBench", Map.of(), "chunkSqlKB");
        Optional<Series> records = find("MemoryBench", Map.of(), "recordsMB");
        if (first.isPresent() && last.isPresent() && bind.isPresent() && records.isPresent()) {
            double chunk = max(bind.get().values()) + max(sql.get().values()) / 1024;
            double growth = max(last.get().values()) - min(first.get().values());
            double held = max(max.get().values());
            targets.add(new Target("saveAll of " + thousands(param("MemoryBench", "n").orElse("?"))
                    + " records never holds more than one chunk's SQL and binds at a time",
                    String.format(Locale.ROOT, "held beyond the records: %.1f MiB at the first chunk, %.1f MiB at the last "
                            + "(max %.1f MiB = %.0f%% of the records' %.1f MiB); one chunk's SQL + binds = %.2f MiB",
                            min(first.get().values()), max(last.get().values()), held,
                            100 * held / max(records.get().values()), max(records.get().values()), chunk),
                    verdict(growth <= chunk && held <= 3 * chunk + 16)));
        }
    }

    private static String verdict(boolean met) {
        return met ? "met" : "NOT met";
    }

    private Optional<double[]> ratio(String benchmark, Map<String, String> params, String a, String b) {
        Optional<Series> x = find(benchmark, params, a);
        Optional<Series> y = find(benchmark, params, b);
        if (x.isEmpty() || y.isEmpty() || max(x.get().values()) <= 0 || max(y.get().values()) <= 0) {
            return Optional.empty();
        }
        double[] r = paired(x.get().values(), y.get().values());
        return r.length == 0 ? Optional.empty() : Optional.of(new double[] {median(r), min(r), max(r)});
    }

    private Optional<Series> find(String benchmark, Map<String, String> params, String metric) {
        return series.stream().filter(s -> s.benchmark().equals(benchmark) && s.metric().equals(metric))
                .filter(s -> params.entrySet().stream().allMatch(e -> e.getValue().equals(s.params().get(e.getKey()))))
                .findFirst();
    }

    private Optional<String> param(String benchmark, String name) {
        return series.stream().filter(s -> s.benchmark().equals(benchmark)).map(s -> s.params().get(name))
                .filter(v -> v != null).findFirst();
    }

    // -------------------------------------------------------------------------------------------------------
    // Output
    // -------------------------------------------------------------------------------------------------------

    String text() {
        StringBuilder s = new StringBuilder();
        s.append(header()).append('\n');
        String group = null;
        for (Row r : rows) {
            if (!r.group().equals(group)) {
                group = r.group();
                s.append('\n').append(group).append('\n');
            }
            s.append(String.format(Locale.ROOT, "  %-18s %12s %-10s [%s – %s]  %s%s%n", r.variant(), num(r.median()), r.unit(),
                    num(r.min()), num(r.max()), r.ratio() == null ? r.note() : "×" + fmt(r.ratio()) + " ["
                            + fmt(r.ratioMin()) + "–" + fmt(r.ratioMax()) + "]" + (r.baseline() ? " (baseline)" : ""),
                    r.library() ? "  <- sqlservice" : ""));
        }
        s.append("\nTargets\n");
        for (Target t : targets) {
            s.append("  [").append(t.met()).append("] ").append(t.name()).append(": ").append(t.measured()).append('\n');
        }
        return s.toString();
    }

    private String header() {
        if (server.containsKey("innodb_flush_log_at_trx_commit")) {
            return String.format(Locale.ROOT, "sqlservice benchmarks, %s mode, %s; %d cores, JDK %s (%s), MariaDB %s "
                            + "(innodb_flush_log_at_trx_commit=%s, sync_binlog=%s, innodb_buffer_pool_size=%s); %.1f min",
                    plan.mode(), LocalDate.now(), Runtime.getRuntime().availableProcessors(),
                    System.getProperty("java.version"), System.getProperty("java.vendor"), server.get("version"),
                    server.get("innodb_flush_log_at_trx_commit"), server.get("sync_binlog"),
                    server.get("innodb_buffer_pool_size"), minutes);
        }
        return String.format(Locale.ROOT, "sqlservice benchmarks, %s mode, %s; %d cores, JDK %s (%s), PostgreSQL %s "
                        + "(fsync=%s, synchronous_commit=%s, shared_buffers=%s); %.1f min",
                plan.mode(), LocalDate.now(), Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                System.getProperty("java.vendor"), server.get("server_version"), server.get("fsync"),
                server.get("synchronous_commit"), server.get("shared_buffers"), minutes);
    }

    String markdown() {
        StringBuilder s = new StringBuilder();
        s.append(header()).append("\n\n");
        s.append("| scenario | variant | median | min – max | ratio to baseline (median of per-round ratios) [min – max] |\n");
        s.append("|---|---|---:|---:|---|\n");
        for (Row r : rows) {
            s.append("| ").append(r.group()).append(" | ").append(r.library() ? "**" + r.variant() + "**" : r.variant())
                    .append(" | ").append(num(r.median())).append(' ').append(r.unit()).append(" | ")
                    .append(num(r.min())).append(" – ").append(num(r.max())).append(" | ")
                    .append(r.ratio() == null ? r.note() : fmt(r.ratio()) + " [" + fmt(r.ratioMin()) + " – "
                            + fmt(r.ratioMax()) + "]" + (r.baseline() ? " (baseline)" : ""))
                    .append(" |\n");
        }
        s.append("\n| target | measured | verdict |\n|---|---|---|\n");
        for (Target t : targets) {
            s.append("| ").append(t.name()).append(" | ").append(t.measured()).append(" | ").append(t.met()).append(" |\n");
        }
        return s.toString();
    }

    String json() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("mode", plan.mode());
        root.put("date", LocalDate.now().toString());
        root.put("cores", Runtime.getRuntime().availableProcessors());
        root.put("java", System.getProperty("java.version") + " " + System.getProperty("java.vendor"));
        root.put("server", server);
        root.put("minutes", minutes);
        List<Object> list = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("scenario", r.group());
            m.put("variant", r.variant());
            m.put("unit", r.unit());
            m.put("median", r.median());
            m.put("min", r.min());
            m.put("max", r.max());
            m.put("ratio", r.ratio());
            m.put("ratioMin", r.ratioMin());
            m.put("ratioMax", r.ratioMax());
            m.put("baseline", r.baseline());
            m.put("sqlservice", r.library());
            m.put("note", r.note());
            list.add(m);
        }
        root.put("rows", list);
        List<Object> t = new ArrayList<>();
        for (Target target : targets) {
            t.add(Map.of("target", target.name(), "measured", target.measured(), "verdict", target.met()));
        }
        root.put("targets", t);
        Map<String, Object> raw = new LinkedHashMap<>();
        for (Series s : series) {
            raw.put(s.benchmark() + s.params() + ":" + s.metric(), Arrays.stream(s.values()).boxed().toList());
        }
        root.put("perRound", raw);
        StringBuilder out = new StringBuilder();
        write(out, root, "");
        return out.append('\n').toString();
    }

    private static void write(StringBuilder out, Object value, String indent) {
        switch (value) {
            case null -> out.append("null");
            case Map<?, ?> map -> {
                out.append("{");
                String inner = indent + "  ";
                boolean first = true;
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    out.append(first ? "\n" : ",\n").append(inner);
                    string(out, String.valueOf(e.getKey()));
                    out.append(": ");
                    write(out, e.getValue(), inner);
                    first = false;
                }
                out.append(map.isEmpty() ? "}" : "\n" + indent + "}");
            }
            case List<?> items -> {
                boolean scalars = items.stream().noneMatch(i -> i instanceof Map || i instanceof List);
                out.append("[");
                String inner = indent + "  ";
                for (int i = 0; i < items.size(); i++) {
                    out.append(i == 0 ? "" : ",").append(scalars ? (i == 0 ? "" : " ") : "\n" + inner);
                    write(out, items.get(i), inner);
                }
                out.append(scalars || items.isEmpty() ? "]" : "\n" + indent + "]");
            }
            case Double d -> out.append(Double.isFinite(d) ? String.format(Locale.ROOT, "%.6g", d).replaceAll("\\.?0+($|e)", "$1") : "null");
            case Number num -> out.append(num);
            case Boolean b -> out.append(b);
            default -> string(out, value.toString());
        }
    }

    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    // -------------------------------------------------------------------------------------------------------
    // Numbers
    // -------------------------------------------------------------------------------------------------------

    /** Per-round ratios a/b; rounds where either value is zero (below the CPU clock's 10 ms) are left out. */
    static double[] paired(double[] a, double[] b) {
        int n = Math.min(a.length, b.length);
        return java.util.stream.IntStream.range(0, n).filter(i -> a[i] > 0 && b[i] > 0).mapToDouble(i -> a[i] / b[i])
                .toArray();
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n == 0 ? Double.NaN : n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }

    static String fmt(double ratio) {
        return String.format(Locale.ROOT, ratio >= 10 ? "%.1f" : "%.2f", ratio);
    }

    private static String fmtRatio(double[] r) {
        return "×" + fmt(r[0]) + " [" + fmt(r[1]) + "–" + fmt(r[2]) + "]";
    }

    static String num(double v) {
        double a = Math.abs(v);
        return String.format(Locale.ROOT, a >= 1000 ? "%,.0f" : a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : "%.2f", v);
    }

    static String thousands(String n) {
        try {
            return String.format(Locale.ROOT, "%,d", Long.parseLong(n));
        } catch (NumberFormatException e) {
            return n;
        }
    }
}
