package dev.sqlservice.bench;

import static dev.sqlservice.bench.BenchItems.BENCH_ITEMS;
import static org.jooq.impl.DSL.selectFrom;

import com.zaxxer.hikari.HikariDataSource;
import dev.sqlservice.AsyncSession;
import dev.sqlservice.Database;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;

/**
 * A profiling harness, not part of the suite: runs one library path in a loop so that a JFR recording shows
 * where its time goes, and splits each call into the time spent inside JDBC {@code execute*} (the server and
 * the network) and the rest (the client).
 *
 * <pre>
 * java -XX:StartFlightRecording=filename=saveAll.jfr,settings=profile -cp … dev.sqlservice.bench.ProfileMain \
 *     --what=saveAll|upsertAB [--copyab|--variants=saveAll,saveCursor,…]|abRows|abBinds|abTimes|abFirstTimes|abDispatch|abMaxRows|abAll|all|jooqAll|allVsFetch|serverBound|first|async|asyncPlatform|jooqPool|intoArray --n=20000 --repeat=10 [--url=jdbc:postgresql://…]
 * jfr print --events jdk.ExecutionSample saveAll.jfr   # or: jfr view hot-methods saveAll.jfr
 * </pre>
 */
public final class ProfileMain {

    /** Sets the row count from which saveAll sends a statement's rows by COPY (package-private in the core). */
    private static void copyRows(String name, int rows) throws ReflectiveOperationException {
        java.lang.reflect.Field field = Class.forName("dev.sqlservice.PostgresBackend$Statements").getDeclaredField(name);
        field.setAccessible(true);
        field.setInt(null, rows);
    }

    /** abDispatch's variant: a database that runs each call on a virtual thread of its own (Builder.executor). */
    private static Database perCallDb;
    private static dev.sqlservice.PreparedQuery<BenchItemsRecord> byIdPerCall;
    private static final ExecutorService VIRTUAL = Executors.newVirtualThreadPerTaskExecutor();

    /** abPool's third variant: plain jOOQ with the database's visit listeners on its configuration. */
    private static DSLContext jooqWithListeners;

    /** abPool's fourth variant: plain jOOQ whose SQL carries the backend's prefix (MariaDB's SET STATEMENT). */
    private static DSLContext jooqWithPrefix;

    /** abBurst's experiment: a database whose default dispatcher runs its workers on platform threads. */
    private static Database platformWorkersDb;
    private static dev.sqlservice.PreparedQuery<BenchItemsRecord> byIdPlatformWorkers;

    /**
     * Replaces the default dispatcher of {@code db} by one whose workers (at most the pool size) are platform
     * threads instead of virtual threads: an experiment, reached by reflection (the core has no such setting).
     */
    private static Database withPlatformWorkers(Database db) throws ReflectiveOperationException {
        Class<?> dispatcher = Class.forName("dev.sqlservice.Dispatcher");
        java.lang.reflect.Field timer = Database.class.getDeclaredField("timer");
        timer.setAccessible(true);
        var constructor = dispatcher.getDeclaredConstructor(int.class, java.time.Duration.class,
                java.util.concurrent.ScheduledExecutorService.class, java.util.concurrent.ThreadFactory.class);
        constructor.setAccessible(true);
        Object platform = constructor.newInstance(10, java.time.Duration.ofSeconds(30), timer.get(db),
                Thread.ofPlatform().daemon().name("platform-worker-", 0).factory());
        for (String name : List.of("ownedExecutor", "executor")) {
            java.lang.reflect.Field field = Database.class.getDeclaredField(name);
            field.setAccessible(true);
            field.set(db, platform);
        }
        return db;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            options.put(arg.substring(2, eq < 0 ? arg.length() : eq), eq < 0 ? "true" : arg.substring(eq + 1));
        }
        String what = options.getOrDefault("what", "saveAll");
        int n = Integer.parseInt(options.getOrDefault("n", "20000"));
        int repeat = Integer.parseInt(options.getOrDefault("repeat", "10"));
        String url = options.getOrDefault("url", "");
        EmbeddedPostgres embedded = null;
        if (url.isEmpty()) {
            embedded = EmbeddedPostgres.builder().start();
            url = embedded.getJdbcUrl("postgres", "postgres");
        }
        System.setProperty("bench.url", url);
        AtomicLong jdbcNanos = new AtomicLong();
        try (HikariDataSource pool = Bench.pool(10, "profile-jdbc");
                HikariDataSource libraryPool = Bench.pool(10, "profile-library");
                // --owned: the database creates its own pool from the URL, as in the JMH suite (and so watches
                // its connections' liveness); otherwise it runs on a pool handed in
                Database db = options.containsKey("owned") ? Database.builder().url(Bench.rewriteUrl()).poolSize(10).build()
                        : Database.builder().dataSource(options.containsKey("shared") ? pool : options.containsKey("untimed") ? libraryPool : timed(libraryPool, jdbcNanos)).dialect(Bench.dialect())
                        .poolSize(10).build();
                ExecutorService executor = Executors.newFixedThreadPool(10);
                Database platformDb = Database.builder().url(Bench.rewriteUrl()).poolSize(10).executor(executor).build()) {
            DSLContext jooq = Bench.jooq(pool);
            Bench.createTable(pool);
            if (!what.equals("saveAll") && !what.equals("upsertAB") && !what.equals("intoArray")) {
                Bench.fill(pool, Math.max(n, 100_000));
            }
            AsyncSession session = db.session();
            for (int i = 0; i < repeat; i++) {
                if (what.equals("saveAll")) {
                    Bench.resetHalf(pool, n);
                }
                if (what.equals("upsertAB")) {
                    // saveAll, the JDBC batch and the COPY (LOAD DATA) path in rotation: process CPU and time of each
                    // --copyab: saveAll with every chunk sent as JSON (saveJson) or by COPY (saveCopy), A/B
                    for (String variant : Bench.rotation(options.containsKey("variants")
                            ? List.of(options.get("variants").split(","))
                            : options.containsKey("copyab")
                            ? List.of("saveJson", "saveCopy", "saveCopyBig", "jdbcBatch", "copy")
                            : options.containsKey("sql")
                            ? List.of("saveAll", "jdbcBatch", "copy", "librarySql", "libNoReturn", "libDiffering")
                            : List.of("saveAll", "jdbcBatch", "copy"), i)) {
                        Bench.resetHalf(pool, n);
                        List<BenchItemsRecord> batch = Bench.records(n, i);
                        System.gc();
                        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
                        long cpu = Bench.cpuNanos();
                        long own = threads.getCurrentThreadCpuTime();
                        long allocated = threads.getCurrentThreadAllocatedBytes();
                        long t0 = System.nanoTime();
                        switch (variant) {
                            case "saveAll" -> db.blockingSession().saveAll(batch);
                            case "saveJson", "saveCopy", "saveCopyBig" -> {
                                copyRows("copyRows", variant.equals("saveJson") ? Integer.MAX_VALUE : 1);
                                copyRows("copyRowsPerStatement", variant.equals("saveCopyBig")
                                        ? Integer.parseInt(options.getOrDefault("copychunk", "50000")) : 10_000);
                                db.blockingSession().saveAll(batch);
                            }
                            case "saveAhead", "saveInTurn" -> {
                                // the COPY text of the next statement written ahead, or in turn (A/B)
                                java.lang.reflect.Field ahead = Class.forName("dev.sqlservice.PostgresBackend$Statements")
                                        .getDeclaredField("copyTextAhead");
                                ahead.setAccessible(true);
                                boolean before = ahead.getBoolean(null);
                                ahead.setBoolean(null, variant.equals("saveAhead"));
                                copyRows("copyRows", 5_000);
                                copyRows("copyRowsPerStatement", 10_000);
                                try {
                                    db.blockingSession().saveAll(batch);
                                } finally {
                                    ahead.setBoolean(null, before);
                                }
                            }
                            case "saveCursor" -> {
                                // saveAll with the returned rows read through jOOQ's cursor (DirectRows off), A/B
                                java.lang.reflect.Field direct = Class.forName("dev.sqlservice.DirectRows")
                                        .getDeclaredField("unpreparedEnabled");
                                direct.setAccessible(true);
                                direct.setBoolean(null, false);
                                try {
                                    db.blockingSession().saveAll(batch);
                                } finally {
                                    direct.setBoolean(null, true);
                                }
                            }
                            case "copyRefresh" -> Bench.copyUpsert(pool, batch, true);
                            case "jdbcBatch" -> Bench.jdbcBatch(pool, batch);
                            case "librarySql" -> Bench.librarySql(pool, batch, true);
                            case "libNoReturn" -> Bench.librarySql(pool, batch, false);
                            case "libDiffering" -> Bench.librarySql(pool, batch, Bench.LIBRARY_SQL_DIFFERING);
                            default -> Bench.copyUpsert(pool, batch);
                        }
                        System.out.printf(Locale.ROOT, "  %-9s n=%d #%d: %7.1f ms, process CPU %7.1f ms, thread CPU %7.1f ms, allocated %7.1f MB%n",
                                variant, n, i, Bench.millisSince(t0), (Bench.cpuNanos() - cpu) / 1e6,
                                (threads.getCurrentThreadCpuTime() - own) / 1e6,
                                (threads.getCurrentThreadAllocatedBytes() - allocated) / 1e6);
                    }
                    continue;
                }
                List<BenchItemsRecord> records = what.equals("saveAll") ? Bench.records(n, i) : null;
                long[] keys = Bench.keys(n, 100_000, i);
                jdbcNanos.set(0);
                long start = System.nanoTime();
                switch (what) {
                    case "saveAll" -> db.blockingSession().saveAll(records);
                    case "all" -> db.blockingSession().all(selectFrom(BENCH_ITEMS));
                    case "jooqAll" -> jooq.selectFrom(BENCH_ITEMS).fetch();
                    case "allVsFetch" -> {
                        // the calling thread's own CPU time and allocation (GC and JIT threads excluded), A/B in turn
                        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
                        for (int ab = 0; ab < 2; ab++) {
                            boolean library = (ab + i) % 2 == 0;
                            System.gc();
                            long cpu0 = threads.getCurrentThreadCpuTime();
                            long bytes0 = threads.getCurrentThreadAllocatedBytes();
                            long wall0 = System.nanoTime();
                            int rows = library ? db.blockingSession().all(selectFrom(BENCH_ITEMS)).size()
                                    : jooq.selectFrom(BENCH_ITEMS).fetch().size();
                            System.out.printf(Locale.ROOT, "  %s: %d rows, %.1f ms, thread CPU %.1f ms, allocated %.1f MB%n",
                                    library ? "session.all " : "jOOQ fetch()", rows, (System.nanoTime() - wall0) / 1e6,
                                    (threads.getCurrentThreadCpuTime() - cpu0) / 1e6,
                                    (threads.getCurrentThreadAllocatedBytes() - bytes0) / 1e6);
                        }
                    }
                    case "abAll" -> {
                        // session.all(selectFrom(T)) of every row with its rows read directly (DirectRows.ofQuery)
                        // and through jOOQ's cursor, against jOOQ's fetch(), order rotated per round: the calling
                        // thread's own CPU time and the wall time of each (GC and JIT threads excluded from CPU)
                        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
                        java.lang.reflect.Field direct = Class.forName("dev.sqlservice.DirectRows").getDeclaredField("unpreparedEnabled");
                        direct.setAccessible(true);
                        String[] names = {"jooqFetch", "allDirect", "allCursor"};
                        StringBuilder line = new StringBuilder("  abAll round " + i + ":");
                        for (int j = 0; j < names.length; j++) {
                            int v = (j + i) % names.length;
                            direct.setBoolean(null, v == 1);
                            System.gc();
                            long cpu0 = threads.getCurrentThreadCpuTime();
                            long wall0 = System.nanoTime();
                            int rows = v == 0 ? jooq.selectFrom(BENCH_ITEMS).fetch().size()
                                    : db.blockingSession().all(selectFrom(BENCH_ITEMS)).size();
                            line.append(String.format(Locale.ROOT, " %s=%.2f/%.2f", names[v],
                                    (System.nanoTime() - wall0) / 1e6, (threads.getCurrentThreadCpuTime() - cpu0) / 1e6));
                            if (rows == 0) {
                                throw new IllegalStateException("no rows");
                            }
                        }
                        direct.setBoolean(null, true);
                        System.out.println(line);
                    }
                    case "serverBound" -> {
                        // 10 connections, each query holding its connection for >= 1 ms of server time (pg_sleep,
                        // no CPU): the pool, not the client's CPU, limits throughput. async vs JDBC on 10 platform
                        // threads, in alternating order.
                        String slow = "(select true from pg_sleep(0.001))";
                        for (int ab = 0; ab < 2; ab++) {
                            boolean library = (ab + i) % 2 == 0;
                            CompletableFuture<?>[] all = new CompletableFuture<?>[keys.length];
                            long t0 = System.nanoTime();
                            for (int k = 0; k < keys.length; k++) {
                                long key = keys[k];
                                all[k] = library
                                        ? session.first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)).and(slow)).toCompletableFuture()
                                        : CompletableFuture.supplyAsync(() -> {
                                            try (java.sql.Connection c = pool.getConnection();
                                                    PreparedStatement ps = c.prepareStatement(
                                                            "select id, name, qty, price, tags, updated_at from bench_items where id = ? and " + slow)) {
                                                ps.setLong(1, key);
                                                try (java.sql.ResultSet rs = ps.executeQuery()) {
                                                    return rs.next() ? Bench.Item.read(rs) : null;
                                                }
                                            } catch (java.sql.SQLException e) {
                                                throw new IllegalStateException(e);
                                            }
                                        }, executor);
                            }
                            CompletableFuture.allOf(all).join();
                            double seconds = (System.nanoTime() - t0) / 1e9;
                            System.out.printf(Locale.ROOT, "  %s: %,.0f queries/s%n", library ? "async       " : "jdbcPool10  ",
                                    keys.length / seconds);
                        }
                    }
                    case "first" -> {
                        for (long key : keys) {
                            db.blockingSession().first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)));
                        }
                    }
                    case "firstPrepared", "firstUnprepared", "firstJooq", "firstJdbc" -> {
                        // one thread, one lookup after another: the calling thread's CPU per lookup
                        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
                        org.jooq.Param<Long> id = DSL.param("id", Long.class);
                        dev.sqlservice.PreparedQuery<BenchItemsRecord> byId =
                                db.prepare(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(id)));
                        long cpu0 = threads.getCurrentThreadCpuTime();
                        for (long key : keys) {
                            switch (what) {
                                case "firstPrepared" -> db.blockingSession().first(byId.bind(id, key));
                                case "firstUnprepared" -> db.blockingSession().first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)));
                                case "firstJooq" -> jooq.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)).fetchOptional();
                                default -> Bench.jdbcFirst(pool, key);
                            }
                        }
                        System.out.printf(Locale.ROOT, "  %s: thread CPU %.1f µs per lookup%n", what,
                                (threads.getCurrentThreadCpuTime() - cpu0) / 1e3 / keys.length);
                    }
                    case "abFirst" -> {
                        // the four lookups interleaved in blocks of 500 keys, order rotated per block: the calling
                        // thread's CPU per lookup of each, so that load changes hit all alike
                        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
                        org.jooq.Param<Long> id = DSL.param("id", Long.class);
                        dev.sqlservice.PreparedQuery<BenchItemsRecord> byId =
                                db.prepare(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(id)));
                        String[] names = {"jdbc", "jooq", "unprepared", "prepared", "directJooqMapping"};
                        long[] cpu = new long[5];
                        for (int block = 0; block * 500 < keys.length; block++) {
                            for (int j = 0; j < 5; j++) {
                                int v = (j + block) % 5;
                                long c0 = threads.getCurrentThreadCpuTime();
                                for (int k = block * 500; k < Math.min(keys.length, block * 500 + 500); k++) {
                                    long key = keys[k];
                                    switch (v) {
                                        case 0 -> Bench.jdbcFirst(pool, key);
                                        case 1 -> jooq.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)).fetchOptional();
                                        case 2 -> db.blockingSession().first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)));
                                        case 3 -> db.blockingSession().first(byId.bind(id, key));
                                        default -> {
                                            // the experiment: JDBC execution, jOOQ's binding and row mapping
                                            try (java.sql.Connection c = pool.getConnection();
                                                    PreparedStatement ps = c.prepareStatement(byId.sql())) {
                                                DSLContext d = DSL.using(c, Bench.dialect());
                                                d.bindContext(ps).visit(DSL.val(key, BENCH_ITEMS.ID.getDataType()));
                                                try (java.sql.ResultSet rs = ps.executeQuery()) {
                                                    rs.setFetchSize(1);
                                                    org.jooq.Result<org.jooq.Record> r = d.fetch(rs, BENCH_ITEMS.fields());
                                                    if (r.into(BENCH_ITEMS).isEmpty()) {
                                                        throw new IllegalStateException("no row");
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                                cpu[v] += threads.getCurrentThreadCpuTime() - c0;
                            }
                        }
                        StringBuilder line = new StringBuilder("  thread CPU per lookup:");
                        for (int v = 0; v < 5; v++) {
                            line.append(String.format(Locale.ROOT, " %s %.1f µs (×%.2f of jdbc);", names[v],
                                    cpu[v] / 1e3 / keys.length, (double) cpu[v] / cpu[0]));
                        }
                        System.out.println(line);
                    }
                    case "abFirstTimes" -> {
                        // one thread, blocking prepared lookups with PostgresTimestamps on and off against JDBC, in
                        // blocks of 500 keys, order rotated per block: the calling thread's CPU per lookup (exact,
                        // where the process counter of the bursts is 10 ms coarse)
                        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
                        org.jooq.Param<Long> id = DSL.param("id", Long.class);
                        dev.sqlservice.PreparedQuery<BenchItemsRecord> byId =
                                db.prepare(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(id)));
                        java.lang.reflect.Field binary = Class.forName("dev.sqlservice.PostgresTimestamps").getDeclaredField("enabled");
                        binary.setAccessible(true);
                        String[] names = {"jdbc", "preparedTimesBinary", "preparedTimesText"};
                        long[] cpu = new long[names.length];
                        for (int block = 0; block * 500 < keys.length; block++) {
                            for (int j = 0; j < names.length; j++) {
                                int v = (j + block) % names.length;
                                binary.setBoolean(null, v == 1);
                                long c0 = threads.getCurrentThreadCpuTime();
                                for (int k = block * 500; k < Math.min(keys.length, block * 500 + 500); k++) {
                                    if (v == 0) {
                                        Bench.jdbcFirst(pool, keys[k]);
                                    } else {
                                        db.blockingSession().first(byId.bind(id, keys[k]));
                                    }
                                }
                                cpu[v] += threads.getCurrentThreadCpuTime() - c0;
                            }
                        }
                        binary.setBoolean(null, true);
                        StringBuilder line = new StringBuilder("  thread CPU per lookup:");
                        for (int v = 0; v < names.length; v++) {
                            line.append(String.format(Locale.ROOT, " %s %.2f µs (×%.3f of jdbc);", names[v],
                                    cpu[v] / 1e3 / keys.length, (double) cpu[v] / cpu[0]));
                        }
                        System.out.println(line);
                    }
                    case "abJoined" -> {
                        // one lookup at a time, each variant once per key in a rotated order (as ReadBench): wall
                        // time per lookup, and the process CPU of each variant over the whole round
                        org.jooq.Param<Long> id = DSL.param("id", Long.class);
                        dev.sqlservice.PreparedQuery<BenchItemsRecord> byId =
                                db.prepare(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(id)));
                        String[] names = {"jooqFetchOptional", "blockingUnprepared", "blockingPrepared",
                                "joinedUnprepared", "joinedPrepared", "jdbc"};
                        long[] nanos = new long[names.length];
                        java.util.Set<String> only = options.containsKey("only")
                                ? java.util.Set.of(options.get("only").split(",")) : java.util.Set.of(names);
                        for (int k = 0; k < keys.length; k++) {
                            long key = keys[k];
                            for (int j = 0; j < names.length; j++) {
                                int v = (j + k) % names.length;
                                if (!only.contains(names[v])) {
                                    continue;
                                }
                                long t0 = System.nanoTime();
                                Object row = switch (v) {
                                    case 0 -> jooq.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)).fetchOptional().orElseThrow();
                                    case 1 -> db.blockingSession().first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key))).orElseThrow();
                                    case 2 -> db.blockingSession().first(byId.bind(id, key)).orElseThrow();
                                    case 3 -> session.first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)))
                                            .toCompletableFuture().join().orElseThrow();
                                    case 4 -> session.first(byId.bind(id, key)).toCompletableFuture().join().orElseThrow();
                                    default -> Bench.jdbcFirst(pool, key);
                                };
                                nanos[v] += System.nanoTime() - t0;
                                if (row == null) {
                                    throw new IllegalStateException();
                                }
                            }
                        }
                        // ratios to the first variant run (jooqFetchOptional unless --only leaves it out)
                        int base = java.util.stream.IntStream.range(0, names.length).filter(v -> only.contains(names[v]))
                                .findFirst().orElseThrow(() -> new IllegalArgumentException("--only names no variant"));
                        StringBuilder line = new StringBuilder("  wall per lookup (ratios to " + names[base] + "):");
                        for (int v = 0; v < names.length; v++) {
                            if (only.contains(names[v])) {
                                line.append(String.format(Locale.ROOT, " %s %.1f µs (×%.2f);", names[v],
                                        nanos[v] / 1e3 / keys.length, (double) nanos[v] / nanos[base]));
                            }
                        }
                        System.out.println(line);
                    }
                    case "abBurst" -> {
                        // 10,000 prepared lookups at once, per variant in a rotated order: process CPU per query
                        org.jooq.Param<Long> id = DSL.param("id", Long.class);
                        dev.sqlservice.PreparedQuery<BenchItemsRecord> byId =
                                db.prepare(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(id)));
                        dev.sqlservice.PreparedQuery<BenchItemsRecord> byIdPlatform =
                                platformDb.prepare(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(id)));
                        String[] names = {"jdbcPool10", "blockingPool10", "asyncVirtual", "asyncPlatform10", "asyncPlatformWorkers"};
                        if (platformWorkersDb == null) {
                            platformWorkersDb = withPlatformWorkers(Database.builder().url(Bench.rewriteUrl()).poolSize(10).build());
                            byIdPlatformWorkers = platformWorkersDb.prepare(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(id)));
                        }
                        System.out.println(burst(names, i, keys, (v, key, threads10) -> switch (v) {
                            case 0 -> jdbcFirstOn(threads10, pool, key);
                            case 1 -> CompletableFuture.supplyAsync(() -> db.blockingSession().first(byId.bind(id, key)), threads10);
                            case 2 -> session.first(byId.bind(id, key)).toCompletableFuture();
                            case 3 -> platformDb.session().first(byIdPlatform.bind(id, key)).toCompletableFuture();
                            default -> platformWorkersDb.session().first(byIdPlatformWorkers.bind(id, key)).toCompletableFuture();
                        }, null));
                    }
                    case "abDispatch" -> {
                        // 10,000 prepared lookups at once: the default dispatcher (at most pool-size workers taking
                        // queued calls) against a virtual thread per call (Builder.executor: every call parks on the
                        // connection semaphore), plain JDBC on a virtual thread per query behind a fair semaphore of
                        // 10, and plain JDBC on 10 platform threads; all on the same pool (run with --shared)
                        org.jooq.Param<Long> id = DSL.param("id", Long.class);
                        dev.sqlservice.PreparedQuery<BenchItemsRecord> byId =
                                db.prepare(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(id)));
                        if (perCallDb == null) {
                            perCallDb = Database.builder().dataSource(pool).dialect(Bench.dialect()).poolSize(10)
                                    .executor(Executors.newVirtualThreadPerTaskExecutor()).build();
                            byIdPerCall = perCallDb.prepare(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(id)));
                        }
                        java.util.concurrent.Semaphore permits = new java.util.concurrent.Semaphore(10, true);
                        // --libraryPool: plain JDBC on the database's own pool, as ConcurrencyBench (Bench.poolOf)
                        javax.sql.DataSource jdbcPool = options.containsKey("libraryPool") ? Bench.poolOf(db) : pool;
                        if (options.containsKey("pollute") && i == 0) {
                            // the JMH suite's fork also runs unprepared, blocking and plain jOOQ lookups through the
                            // same code before and between these: their call sites' profiles, here first
                            ExecutorService ten = Executors.newFixedThreadPool(10);
                            for (int round = 0; round < 3; round++) {
                                CompletableFuture<?>[] mixed = new CompletableFuture<?>[keys.length];
                                for (int k = 0; k < keys.length; k++) {
                                    long key = keys[k];
                                    mixed[k] = switch (k % 4) {
                                        case 0 -> session.first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key))).toCompletableFuture();
                                        case 1 -> CompletableFuture.supplyAsync(() -> db.blockingSession().first(
                                                selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key))), ten);
                                        case 2 -> CompletableFuture.supplyAsync(() -> db.blockingSession().first(byId.bind(id, key)), ten);
                                        default -> CompletableFuture.supplyAsync(() -> jooq.selectFrom(BENCH_ITEMS)
                                                .where(BENCH_ITEMS.ID.eq(key)).fetchOptional(), ten);
                                    };
                                }
                                CompletableFuture.allOf(mixed).join();
                            }
                            ten.close();
                        }
                        if (options.containsKey("serverBound")) {
                            // ConcurrencyBench's asyncServerBound, once per round before the variants: 10,000 calls
                            // that hold their connection at least 1 ms each on the server
                            CompletableFuture<?>[] bound = new CompletableFuture<?>[keys.length];
                            for (int k = 0; k < keys.length; k++) {
                                bound[k] = session.first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(keys[k]))
                                        .and("(select true from pg_sleep(0.001))")).toCompletableFuture();
                            }
                            CompletableFuture.allOf(bound).join();
                        }
                        String[] names = {"jdbcPool10", "jdbcVirtual", "asyncDispatcher", "asyncPerCall"};
                        System.out.println(burst(names, i, keys, (v, key, threads10) -> switch (v) {
                            case 0 -> jdbcFirstOn(threads10, jdbcPool, key);
                            case 1 -> CompletableFuture.supplyAsync(() -> {
                                permits.acquireUninterruptibly();
                                try {
                                    return Bench.jdbcFirst(jdbcPool, key);
                                } catch (java.sql.SQLException e) {
                                    throw new IllegalStateException(e);
                                } finally {
                                    permits.release();
                                }
                            }, VIRTUAL);
                            case 2 -> session.first(byId.bind(id, key)).toCompletableFuture();
                            default -> perCallDb.session().first(byIdPerCall.bind(id, key)).toCompletableFuture();
                        }, null));
                    }
                    case "abMaxRows" -> {
                        // what first()'s JDBC row limit costs: plain JDBC on 10 platform threads with and without
                        // setMaxRows(1) (the library's first() sets it on its statement), the same JDBC with the
                        // library's SQL text, and the library's async prepared first(); server CPU per query too
                        org.jooq.Param<Long> id = DSL.param("id", Long.class);
                        dev.sqlservice.PreparedQuery<BenchItemsRecord> byId =
                                db.prepare(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(id)));
                        javax.sql.DataSource jdbcPool = Bench.poolOf(db);
                        String librarySql = db.dsl().renderNamedOrInlinedParams(selectFrom(BENCH_ITEMS)
                                .where(BENCH_ITEMS.ID.eq(id))).replace(":id", "?");
                        String[] names = {"jdbcPool10", "jdbcMaxRows1", "jdbcLibrarySqlMaxRows1", "asyncPrepared"};
                        System.out.println(burst(names, i, keys, (v, key, threads10) -> switch (v) {
                            case 0 -> jdbcFirstOn(threads10, jdbcPool, key);
                            case 1, 2 -> CompletableFuture.supplyAsync(() -> {
                                try (java.sql.Connection c = jdbcPool.getConnection();
                                        java.sql.PreparedStatement ps = c.prepareStatement(
                                                v == 1 ? Bench.SELECT_BY_ID_SQL : librarySql)) {
                                    ps.setMaxRows(1);
                                    ps.setLong(1, key);
                                    try (java.sql.ResultSet rs = ps.executeQuery()) {
                                        return rs.next() ? (v == 1 ? Bench.Item.read(rs) : rs.getLong(1)) : null;
                                    }
                                } catch (java.sql.SQLException e) {
                                    throw new IllegalStateException(e);
                                }
                            }, threads10);
                            default -> session.first(byId.bind(id, key)).toCompletableFuture();
                        }, null));
                    }
                    case "abRows", "abBinds", "abTimes" -> {
                        // 10,000 prepared lookups at once, per variant in a rotated order, a library switch on or off
                        // (abRows: DirectRows, rows read without jOOQ's cursor; abBinds: DirectBinds, values set
                        // without jOOQ's bind context; abTimes: PostgresTimestamps, binary timestamptz without text),
                        // asynchronous and blocking on 10 platform threads, against
                        // plain JDBC; process CPU per query and throughput
                        boolean rows = what.equals("abRows");
                        boolean times = what.equals("abTimes");
                        org.jooq.Param<Long> id = DSL.param("id", Long.class);
                        dev.sqlservice.PreparedQuery<BenchItemsRecord> byId =
                                db.prepare(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(id)));
                        java.lang.reflect.Field direct = Class.forName(rows ? "dev.sqlservice.DirectRows"
                                : times ? "dev.sqlservice.PostgresTimestamps" : "dev.sqlservice.DirectBinds")
                                .getDeclaredField("enabled");
                        direct.setAccessible(true);
                        String on = rows ? "RowsDirect" : times ? "TimesBinary" : "BindsDirect";
                        String off = rows ? "RowsCursor" : times ? "TimesText" : "BindsJooq";
                        String[] names = {"jdbcPool10", "async" + on, "async" + off, "blocking" + on, "blocking" + off};
                        System.out.println(burst(names, i, keys, (v, key, threads10) -> switch (v) {
                            case 0 -> jdbcFirstOn(threads10, pool, key);
                            case 1, 2 -> session.first(byId.bind(id, key)).toCompletableFuture();
                            default -> CompletableFuture.supplyAsync(() -> db.blockingSession().first(byId.bind(id, key)), threads10);
                        }, v -> {
                            try {
                                direct.setBoolean(null, v == 1 || v == 3);
                            } catch (IllegalAccessException e) {
                                throw new IllegalStateException(e);
                            }
                        }));
                        direct.setBoolean(null, true);
                    }
                    case "abPool" -> {
                        // plain jOOQ against the blocking session, unprepared, 10,000 lookups on 10 platform threads,
                        // alternating: process CPU per query and throughput, the library's against jOOQ's
                        // third: plain jOOQ with the library's own visit listeners on its configuration (MariaDB's
                        // timestamp adaptation; none on PostgreSQL), what a VisitListener costs jOOQ's rendering
                        if (jooqWithListeners == null) {
                            jooqWithListeners = jooq.configuration().derive(
                                    db.dsl().configuration().visitListenerProviders()).dsl();
                        }
                        DSLContext listened = jooqWithListeners;
                        // fourth: plain jOOQ whose SQL carries MariaDB's SET STATEMENT prefix, as the library sends it
                        // (the row limit of first() included); on PostgreSQL the same SQL as jOOQ's
                        if (jooqWithPrefix == null) {
                            jooqWithPrefix = jooq.configuration().derive(org.jooq.ExecuteListener.onRenderEnd(ctx -> {
                                try {
                                    java.lang.reflect.Method statementSql = Class.forName("dev.sqlservice.Backend")
                                            .getDeclaredMethod("statementSql", String.class, int.class);
                                    statementSql.setAccessible(true);
                                    java.lang.reflect.Method backend = Database.class.getDeclaredMethod("backend");
                                    backend.setAccessible(true);
                                    ctx.sql((String) statementSql.invoke(backend.invoke(db), ctx.sql(), 1));
                                } catch (ReflectiveOperationException e) {
                                    throw new IllegalStateException(e);
                                }
                            })).dsl();
                        }
                        DSLContext prefixed = jooqWithPrefix;
                        System.out.println(burst(new String[] {"jooqPool10", "blockingPool10", "jooqWithListeners", "jooqWithPrefix"}, i, keys,
                                (v, key, threads10) -> CompletableFuture.supplyAsync(switch (v) {
                                    case 1 -> () -> db.blockingSession().first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)));
                                    case 2 -> () -> listened.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)).fetchOptional();
                                    case 3 -> () -> prefixed.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)).fetchOptional();
                                    default -> () -> jooq.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)).fetchOptional();
                                }, threads10), null));
                    }
                    case "asyncPrepared" -> {
                        org.jooq.Param<Long> id = DSL.param("id", Long.class);
                        dev.sqlservice.PreparedQuery<BenchItemsRecord> byId =
                                db.prepare(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(id)));
                        CompletableFuture<?>[] all = new CompletableFuture<?>[keys.length];
                        long cpu0 = Bench.cpuNanos();
                        for (int k = 0; k < keys.length; k++) {
                            all[k] = session.first(byId.bind(id, keys[k])).toCompletableFuture();
                        }
                        CompletableFuture.allOf(all).join();
                        System.out.printf(Locale.ROOT, "  asyncPrepared: process CPU %.1f µs per query%n",
                                (Bench.cpuNanos() - cpu0) / 1e3 / keys.length);
                    }
                    case "async" -> {
                        CompletableFuture<?>[] all = new CompletableFuture<?>[keys.length];
                        long cpu0 = Bench.cpuNanos();
                        for (int k = 0; k < keys.length; k++) {
                            all[k] = session.first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(keys[k]))).toCompletableFuture();
                        }
                        CompletableFuture.allOf(all).join();
                        System.out.printf(Locale.ROOT, "  async: process CPU %.1f µs per query%n",
                                (Bench.cpuNanos() - cpu0) / 1e3 / keys.length);
                    }
                    case "asyncPlatform" -> {
                        CompletableFuture<?>[] all = new CompletableFuture<?>[keys.length];
                        for (int k = 0; k < keys.length; k++) {
                            all[k] = platformDb.session().first(selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(keys[k])))
                                    .toCompletableFuture();
                        }
                        CompletableFuture.allOf(all).join();
                    }
                    case "jdbcPool" -> {
                        CompletableFuture<?>[] all = new CompletableFuture<?>[keys.length];
                        long cpu0 = Bench.cpuNanos();
                        for (int k = 0; k < keys.length; k++) {
                            long key = keys[k];
                            all[k] = CompletableFuture.supplyAsync(() -> {
                                try {
                                    return Bench.jdbcFirst(pool, key);
                                } catch (java.sql.SQLException e) {
                                    throw new IllegalStateException(e);
                                }
                            }, executor);
                        }
                        CompletableFuture.allOf(all).join();
                        System.out.printf(Locale.ROOT, "  jdbcPool: process CPU %.1f µs per query%n",
                                (Bench.cpuNanos() - cpu0) / 1e3 / keys.length);
                    }
                    case "jooqPool" -> {
                        CompletableFuture<?>[] all = new CompletableFuture<?>[keys.length];
                        for (int k = 0; k < keys.length; k++) {
                            long key = keys[k];
                            all[k] = CompletableFuture.supplyAsync(
                                    () -> jooq.selectFrom(BENCH_ITEMS).where(BENCH_ITEMS.ID.eq(key)).fetchOptional(), executor);
                        }
                        CompletableFuture.allOf(all).join();
                    }
                    case "intoArray" -> {
                        // the snapshot saveAll takes of each record: values and originals via intoArray()
                        List<BenchItemsRecord> detached = Bench.records(n, i);
                        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
                        long bytes = threads.getCurrentThreadAllocatedBytes();
                        long t0 = System.nanoTime();
                        long sink = 0;
                        for (BenchItemsRecord r : detached) {
                            sink += r.intoArray().length + r.original().intoArray().length;
                        }
                        long t1 = System.nanoTime();
                        long bytes1 = threads.getCurrentThreadAllocatedBytes();
                        for (BenchItemsRecord r : detached) {
                            Object[] values = new Object[r.size()];
                            Object[] originals = new Object[r.size()];
                            for (int f = 0; f < values.length; f++) {
                                values[f] = r.get(f);
                                originals[f] = r.original(f);
                            }
                            sink += values.length + originals.length;
                        }
                        long t2 = System.nanoTime();
                        long bytes2 = threads.getCurrentThreadAllocatedBytes();
                        System.out.printf(Locale.ROOT, "intoArray()+original().intoArray(): %.2f µs and %,d bytes per record;"
                                + " get(i)/original(i) loop: %.3f µs and %,d bytes per record (%d)%n",
                                (t1 - t0) / 1e3 / n, (bytes1 - bytes) / n, (t2 - t1) / 1e3 / n, (bytes2 - bytes1) / n, sink);
                    }
                    default -> throw new IllegalArgumentException(what);
                }
                double total = Bench.millisSince(start);
                double jdbc = jdbcNanos.get() / 1e6;
                System.out.printf(Locale.ROOT, "%s n=%d #%d: %.1f ms total, %.1f ms inside JDBC execute (%.0f%%), %.1f ms outside%n",
                        what, n, i, total, jdbc, 100 * jdbc / total, total - jdbc);
            }
        } finally {
            if (embedded != null) {
                embedded.close();
            }
        }
    }

    /** A data source whose prepared statements add the time spent in execute* to {@code nanos}. */
    static DataSource timed(DataSource target, AtomicLong nanos) {
        return (DataSource) Proxy.newProxyInstance(ProfileMain.class.getClassLoader(), new Class<?>[] {DataSource.class},
                (proxy, method, args) -> {
                    Object result = invoke(method, target, args);
                    if (!(result instanceof Connection c)) {
                        return result;
                    }
                    return Proxy.newProxyInstance(ProfileMain.class.getClassLoader(), new Class<?>[] {Connection.class},
                            (p2, m2, a2) -> {
                                Object r2 = invoke(m2, c, a2);
                                if (!(r2 instanceof PreparedStatement ps)) {
                                    return r2;
                                }
                                return Proxy.newProxyInstance(ProfileMain.class.getClassLoader(),
                                        new Class<?>[] {PreparedStatement.class}, (p3, m3, a3) -> {
                                            if (!m3.getName().startsWith("execute")) {
                                                return invoke(m3, ps, a3);
                                            }
                                            long start = System.nanoTime();
                                            try {
                                                return invoke(m3, ps, a3);
                                            } finally {
                                                nanos.addAndGet(System.nanoTime() - start);
                                            }
                                        });
                            });
                });
    }

    private static Object invoke(java.lang.reflect.Method method, Object target, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private ProfileMain() {}

    /** Plain JDBC's lookup of {@code key} on {@code threads}: borrow, prepare, bind, read, close. */
    private static CompletableFuture<?> jdbcFirstOn(ExecutorService threads, javax.sql.DataSource pool, long key) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return Bench.jdbcFirst(pool, key);
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException(e);
            }
        }, threads);
    }

    /** One variant's call for a key, on the variant's own 10 platform threads when it uses them. */
    private interface BurstCall {
        CompletableFuture<?> call(int variant, long key, ExecutorService threads10);
    }

    /**
     * Issues every key at once per variant, the variants in an order rotated by {@code round}, after
     * {@code beforeVariant} (may be null) and a GC; returns the line of process CPU per query and throughput, each
     * against variant 0's.
     */
    /** --callbacks: every call of a burst gets a completion callback, as in ConcurrencyBench. */
    private static boolean CALLBACKS = Boolean.getBoolean("profile.callbacks");

    /** -Dprofile.windows: each burst prints its variant's start and end (epoch ms), to cut a JFR recording by variant. */
    private static final boolean WINDOWS = Boolean.getBoolean("profile.windows");

    private static String burst(String[] names, int round, long[] keys, BurstCall call,
            java.util.function.IntConsumer beforeVariant) {
        int n = names.length;
        double[] us = new double[n];
        double[] threadUs = new double[n];
        double[] perSecond = new double[n];
        double[] serverUs = new double[n];
        for (int j = 0; j < n; j++) {
            int v = (j + round) % n;
            if (beforeVariant != null) {
                beforeVariant.accept(v);
            }
            System.gc();
            ExecutorService threads10 = Executors.newFixedThreadPool(10);
            CompletableFuture<?>[] all = new CompletableFuture<?>[keys.length];
            // the executor's threads exist before the first reading and until after the last (prestarted, closed
            // after): the per-thread clocks see all of their time
            ((java.util.concurrent.ThreadPoolExecutor) threads10).prestartAllCoreThreads();
            long c0 = Bench.cpuNanos();
            long tc0 = Bench.tasksCpuNanos();
            long s0 = Bench.serverCpuNanos();
            long t0 = System.nanoTime();
            long wallStart = System.currentTimeMillis();
            long[] latency = new long[keys.length];
            java.util.concurrent.atomic.AtomicInteger found = new java.util.concurrent.atomic.AtomicInteger();
            for (int k = 0; k < keys.length; k++) {
                if (CALLBACKS) {
                    // as ConcurrencyBench's fireAndJoin: each call timed by a callback on its completion
                    int index = k;
                    long issued = System.nanoTime();
                    all[k] = call.call(v, keys[k], threads10).whenComplete((row, failure) -> {
                        latency[index] = System.nanoTime() - issued;
                        if (row != null) {
                            found.incrementAndGet();
                        }
                    });
                } else {
                    all[k] = call.call(v, keys[k], threads10);
                }
            }
            CompletableFuture.allOf(all).join();
            us[v] = (Bench.cpuNanos() - c0) / 1e3 / keys.length;
            threadUs[v] = (Bench.tasksCpuNanos() - tc0) / 1e3 / keys.length;
            perSecond[v] = keys.length / ((System.nanoTime() - t0) / 1e9);
            serverUs[v] = (Bench.serverCpuNanos() - s0) / 1e3 / keys.length;
            if (WINDOWS) {
                // for a recording: which samples belong to which variant's burst (epoch milliseconds)
                System.out.println("window " + names[v] + " " + wallStart + " " + System.currentTimeMillis());
            }
            threads10.close();
        }
        StringBuilder line = new StringBuilder(" ");
        for (int v = 0; v < n; v++) {
            line.append(String.format(Locale.ROOT,
                    " %s %.1f µs (×%.2f) %,.0f q/s (×%.2f) threads %.2f µs (×%.3f) server %.1f µs (×%.2f);",
                    names[v], us[v], us[v] / us[0], perSecond[v], perSecond[v] / perSecond[0], threadUs[v],
                    threadUs[v] / threadUs[0], serverUs[v], serverUs[v] / serverUs[0]));
        }
        return line.toString();
    }
}
