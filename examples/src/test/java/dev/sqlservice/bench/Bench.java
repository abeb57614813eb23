package dev.sqlservice.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * What every benchmark shares: the connection settings handed down by {@link BenchMain}, the table, the data,
 * and the hand-written JDBC paths the library is compared with.
 */
final class Bench {

    /** Column list in table order, for the hand-written SQL. */
    static final String COLUMNS = "id, name, qty, price, tags, updated_at";

    static final String UPSERT_SQL = "insert into bench_items (" + COLUMNS + ") values (?, ?, ?, ?, ?, ?)"
            + " on conflict (id) do update set name = excluded.name, qty = excluded.qty, price = excluded.price,"
            + " tags = excluded.tags, updated_at = excluded.updated_at";

    /** MariaDB's upsert: {@code INSERT … ON DUPLICATE KEY UPDATE c = VALUES(c)}. */
    static final String UPSERT_SQL_MARIADB = "insert into bench_items (" + COLUMNS + ") values (?, ?, ?, ?, ?, ?)"
            + " on duplicate key update name = values(name), qty = values(qty), price = values(price),"
            + " tags = values(tags), updated_at = values(updated_at)";

    /** The table on MariaDB: timestamp(6) (UTC sessions) for timestamptz, decimal for numeric. */
    static final String DDL_MARIADB = "create table bench_items (id bigint primary key, name text not null,"
            + " qty integer not null, price decimal(12,2), tags text, updated_at timestamp(6) not null)";

    static final String SELECT_ALL_SQL = "select " + COLUMNS + " from bench_items";
    static final String SELECT_BY_ID_SQL = "select " + COLUMNS + " from bench_items where id = ?";

    private static final OffsetDateTime EPOCH = OffsetDateTime.of(2026, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC);

    /** The JDBC URL of the server under test, set by {@link BenchMain} on every fork. */
    static String url() {
        String url = System.getProperty("bench.url");
        if (url == null || url.isBlank()) {
            throw new IllegalStateException("-Dbench.url=jdbc:postgresql://... is not set; run the suite with BenchMain");
        }
        return url;
    }

    /** The jOOQ dialect of {@link #url()}: PostgreSQL or MariaDB. */
    static org.jooq.SQLDialect dialect() {
        return url().startsWith("jdbc:mariadb:") ? org.jooq.SQLDialect.MARIADB : org.jooq.SQLDialect.POSTGRES;
    }

    /**
     * Plain jOOQ over {@code ds}, as a user would configure it. On MariaDB an {@code OffsetDateTime} is bound as the
     * same instant in UTC ({@code TIMESTAMP} columns, UTC sessions), which jOOQ alone does not do (MariaDB rejects
     * the offset jOOQ sends): the same conversion sqlservice makes.
     */
    static org.jooq.DSLContext jooq(DataSource ds) {
        org.jooq.impl.DefaultConfiguration configuration = new org.jooq.impl.DefaultConfiguration();
        configuration.set(ds).set(dialect());
        if (mariadb()) {
            configuration.set(new org.jooq.VisitListener() {
                @Override
                public void visitStart(org.jooq.VisitContext context) {
                    if (context.queryPart() instanceof org.jooq.Param<?> p && p.getValue() instanceof OffsetDateTime t) {
                        context.queryPart(org.jooq.impl.DSL.val(t.withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime(),
                                org.jooq.impl.SQLDataType.LOCALDATETIME));
                    }
                }
            });
        }
        return org.jooq.impl.DSL.using(configuration);
    }

    static boolean mariadb() {
        return dialect() == org.jooq.SQLDialect.MARIADB;
    }

    /** The URL every pool uses, the library's included: pgjdbc rewrites batched inserts into multi-row ones. */
    static String rewriteUrl() {
        String url = url();
        if (mariadb()) {
            // Connector/J 3 sends batches with its bulk protocol by default; rewriteBatchedStatements is the option
            // the brief names (Connector/J 2 rewrote batches into multi-row inserts with it). LOAD DATA LOCAL INFILE
            // needs allowLocalInfile.
            return url.contains("allowLocalInfile") ? url
                    : url + (url.contains("?") ? "&" : "?") + "rewriteBatchedStatements=true&allowLocalInfile=true";
        }
        if (url.contains("reWriteBatchedInserts")) {
            return url;
        }
        return url + (url.contains("?") ? "&" : "?") + "reWriteBatchedInserts=true";
    }

    /**
     * The pool of a database built with {@code url(...)}: the scenarios' JDBC and plain-jOOQ baselines borrow from
     * it, so that every variant runs on the same connections while the library keeps its default configuration.
     * Each connection is served by its own server process, and on a small machine where client and server share
     * the cores, where the scheduler places that process can make its round trips up to twice as slow for as long
     * as the placement lasts: one-at-a-time lookups of unchanged library code measured from ×0.62 to ×2.1 of plain
     * jOOQ's within one run when each had a pool of its own (ProfileMain {@code abJoined}), and ×0.93–0.95 in every
     * round after warm-up on shared connections ({@code --shared}). Separate pools compared the server processes' luck as much
     * as the clients. (Reflection: the library does not hand its pool out.)
     */
    static HikariDataSource poolOf(dev.sqlservice.Database db) {
        try {
            java.lang.reflect.Field field = dev.sqlservice.Database.class.getDeclaredField("ownedPool");
            field.setAccessible(true);
            return (HikariDataSource) java.util.Objects.requireNonNull(field.get(db), "a database built with url(...)");
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Runs {@code work} with {@code executor} as {@code db}'s executor for its asynchronous calls, then puts the
     * database's own back: a variant that differs from the default in its executor only (same pool, settings and
     * liveness watch; a database built with {@code executor(...)} over a data source handed in would lose the
     * watch). Reflection: the executor is final in the core. Call only while no asynchronous call is running.
     */
    static <T> T withExecutor(dev.sqlservice.Database db, java.util.concurrent.Executor executor,
            java.util.function.Supplier<T> work) {
        try {
            java.lang.reflect.Field field = dev.sqlservice.Database.class.getDeclaredField("executor");
            field.setAccessible(true);
            Object own = field.get(db);
            field.set(db, executor);
            try {
                return work.get();
            } finally {
                field.set(db, own);
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A plain HikariCP pool of its own (scenarios whose variants need not share connections). */
    static HikariDataSource pool(int size, String name) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(rewriteUrl());
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(size);
        config.setPoolName(name);
        if (mariadb()) {
            // As the library's own pool: TIMESTAMP values read and written as UTC.
            config.setConnectionInitSql("set time_zone = '+00:00'");
        }
        return new HikariDataSource(config);
    }

    static void execute(DataSource ds, String... statements) {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Drops and creates the table; autovacuum off on it so it never runs in the middle of a measurement. */
    static void createTable(DataSource ds) {
        if (mariadb()) {
            execute(ds, "drop table if exists bench_items", DDL_MARIADB);
            return;
        }
        execute(ds, "drop table if exists bench_items", BenchItems.DDL,
                "alter table bench_items set (autovacuum_enabled = false)");
    }

    /** Empties the table, then inserts the rows with the given ids (step 2 from 2: the even ones, half of 1..n). */
    static void reset(DataSource ds, int n, int from, int step) {
        if (mariadb()) {
            // MariaDB's sequence engine: seq_<from>_to_<n>_step_<step>.
            execute(ds, "truncate bench_items",
                    "insert into bench_items (" + COLUMNS + ") select seq, concat('stored-', seq), seq % 100,"
                            + " (seq % 1000) / 10.0, 'old', timestamp '2025-01-01 00:00:00' + interval seq second"
                            + " from seq_" + from + "_to_" + n + "_step_" + step,
                    "analyze table bench_items");
            return;
        }
        execute(ds, "truncate bench_items",
                "insert into bench_items (" + COLUMNS + ") select g, 'stored-' || g, g % 100, (g % 1000) / 10.0,"
                        + " 'old', timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second'"
                        + " from generate_series(" + from + ", " + n + ", " + step + ") g",
                "analyze bench_items");
    }

    /** The upsert scenario's starting point: every even id of 1..n present, so half the records update. */
    static void resetHalf(DataSource ds, int n) {
        reset(ds, n, 2, 2);
    }

    /** Every id of 1..n present. */
    static void fill(DataSource ds, int n) {
        reset(ds, n, 1, 1);
        if (!mariadb()) {
            execute(ds, "vacuum analyze bench_items");
        }
    }

    /**
     * Fresh, detached records with every field set (so every field is "changed"), ids 1..n in a shuffled
     * order fixed by the seed; the values depend on the round, so each upsert really changes the stored rows.
     */
    static List<BenchItemsRecord> records(int n, int round) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = i + 1;
        }
        Random random = new Random(42);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            long t = ids[i];
            ids[i] = ids[j];
            ids[j] = t;
        }
        List<BenchItemsRecord> records = new ArrayList<>(n);
        for (long id : ids) {
            records.add(new BenchItemsRecord(id, "item-" + id + "-" + round, (int) ((id * 7 + round) % 1000),
                    BigDecimal.valueOf((id * 13 + round) % 100_000, 2), "tag" + (id % 10) + ",round" + round,
                    EPOCH.plusSeconds(id).plusMinutes(round)));
        }
        return records;
    }

    /**
     * The JDBC baseline: {@code INSERT … ON CONFLICT (id) DO UPDATE SET c = EXCLUDED.c}, addBatch, a batch every
     * 1,000 rows, one transaction, on a {@code reWriteBatchedInserts=true} connection.
     */
    static int jdbcBatch(DataSource ds, List<BenchItemsRecord> records) throws SQLException {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement(mariadb() ? UPSERT_SQL_MARIADB : UPSERT_SQL)) {
                int pending = 0;
                for (BenchItemsRecord r : records) {
                    ps.setLong(1, r.getId());
                    ps.setString(2, r.getName());
                    ps.setInt(3, r.getQty());
                    ps.setBigDecimal(4, r.getPrice());
                    ps.setString(5, r.getTags());
                    ps.setObject(6, r.getUpdatedAt());
                    ps.addBatch();
                    if (++pending == 1_000) {
                        ps.executeBatch();
                        pending = 0;
                    }
                }
                if (pending > 0) {
                    ps.executeBatch();
                }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        }
        return records.size();
    }

    /**
     * The ingest limit: {@code COPY} (text format, streamed in 64 KiB pieces) into a temporary table, then one
     * {@code INSERT … SELECT … ON CONFLICT (id) DO UPDATE}, in one transaction.
     */
    static int copyUpsert(DataSource ds, List<BenchItemsRecord> records) throws SQLException {
        return copyUpsert(ds, records, false);
    }

    /**
     * {@link #copyUpsert}, and with {@code refresh} the refresh that {@code saveAll} promises, written by hand: the
     * upsert returns every column of the rows it wrote ({@code RETURNING}; MariaDB, which has none for an upsert,
     * reads them back joined with the staged keys), and each returned row is set into its record, found by id in a
     * hash map, whose changed flags are then reset. The floor of an upsert by COPY that reads back what it stored:
     * unlike saveAll it sets every column (not only those that differ) and changes the records before the commit,
     * so a failed call would leave them changed.
     */
    static int copyUpsert(DataSource ds, List<BenchItemsRecord> records, boolean refresh) throws SQLException {
        if (mariadb()) {
            return loadDataUpsert(ds, records, refresh);
        }
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (Statement s = c.createStatement()) {
                    s.execute("create temp table bench_stage (like bench_items) on commit drop");
                }
                CopyIn copy = c.unwrap(PGConnection.class).getCopyAPI()
                        .copyIn("copy bench_stage (" + COLUMNS + ") from stdin");
                try {
                    StringBuilder line = new StringBuilder(128);
                    byte[] buffer = new byte[64 * 1024];
                    int used = 0;
                    for (BenchItemsRecord r : records) {
                        line.setLength(0);
                        line.append(r.getId()).append('\t');
                        text(line, r.getName()).append('\t');
                        line.append(r.getQty()).append('\t');
                        line.append(r.getPrice() == null ? "\\N" : r.getPrice().toPlainString()).append('\t');
                        text(line, r.getTags()).append('\t');
                        line.append(r.getUpdatedAt()).append('\n');
                        byte[] bytes = line.toString().getBytes(StandardCharsets.UTF_8);
                        if (used + bytes.length > buffer.length) {
                            copy.writeToCopy(buffer, 0, used);
                            used = 0;
                        }
                        System.arraycopy(bytes, 0, buffer, used, bytes.length);
                        used += bytes.length;
                    }
                    copy.writeToCopy(buffer, 0, used);
                    copy.endCopy();
                } finally {
                    if (copy.isActive()) {
                        copy.cancelCopy();
                    }
                }
                try (Statement s = c.createStatement()) {
                    String upsert = "insert into bench_items (" + COLUMNS + ") select " + COLUMNS + " from bench_stage"
                            + " on conflict (id) do update set name = excluded.name, qty = excluded.qty,"
                            + " price = excluded.price, tags = excluded.tags, updated_at = excluded.updated_at";
                    if (refresh) {
                        try (ResultSet rs = s.executeQuery(upsert + " returning " + COLUMNS)) {
                            refresh(rs, records);
                        }
                    } else {
                        s.executeUpdate(upsert);
                    }
                }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        }
        return records.size();
    }

    /**
     * MariaDB's ingest limit: {@code LOAD DATA LOCAL INFILE} (tab-separated text, {@code \\N} for null, streamed from
     * memory) into a temporary table, then one {@code INSERT … SELECT … ON DUPLICATE KEY UPDATE}, in one transaction.
     */
    static int loadDataUpsert(DataSource ds, List<BenchItemsRecord> records, boolean refresh) throws SQLException {
        StringBuilder lines = new StringBuilder(records.size() * 64);
        for (BenchItemsRecord r : records) {
            lines.append(r.getId()).append('\t');
            text(lines, r.getName()).append('\t');
            lines.append(r.getQty()).append('\t');
            lines.append(r.getPrice() == null ? "\\N" : r.getPrice().toPlainString()).append('\t');
            text(lines, r.getTags()).append('\t');
            lines.append(r.getUpdatedAt().withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime().toString().replace('T', ' '))
                    .append('\n');
        }
        byte[] bytes = lines.toString().getBytes(StandardCharsets.UTF_8);
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("create temporary table bench_stage like bench_items");
                try {
                    s.unwrap(org.mariadb.jdbc.Statement.class)
                            .setLocalInfileInputStream(new java.io.ByteArrayInputStream(bytes));
                    s.execute("load data local infile 'bench_items.tsv' into table bench_stage (" + COLUMNS + ")");
                    s.executeUpdate("insert into bench_items (" + COLUMNS + ") select " + COLUMNS + " from bench_stage"
                            + " on duplicate key update name = values(name), qty = values(qty), price = values(price),"
                            + " tags = values(tags), updated_at = values(updated_at)");
                    if (refresh) {
                        try (ResultSet rs = s.executeQuery("select b.id, b.name, b.qty, b.price, b.tags, b.updated_at"
                                + " from bench_items b join bench_stage k on k.id = b.id")) {
                            refresh(rs, records);
                        }
                    }
                    c.commit();
                } finally {
                    s.execute("drop temporary table if exists bench_stage");
                }
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        }
        return records.size();
    }

    /** Sets each returned row into its record (found by id) and resets the record's changed flags. */
    private static void refresh(ResultSet rs, List<BenchItemsRecord> records) throws SQLException {
        java.util.Map<Long, BenchItemsRecord> byId = java.util.HashMap.newHashMap(records.size());
        for (BenchItemsRecord r : records) {
            byId.put(r.getId(), r);
        }
        int rows = 0;
        while (rs.next()) {
            BenchItemsRecord r = byId.get(rs.getLong(1));
            r.setName(rs.getString(2));
            r.setQty(rs.getInt(3));
            r.setPrice(rs.getBigDecimal(4));
            r.setTags(rs.getString(5));
            r.setUpdatedAt(rs.getObject(6, OffsetDateTime.class));
            r.changed(false);
            rows++;
        }
        if (rows != records.size()) {
            throw new IllegalStateException("the upsert returned " + rows + " rows for " + records.size() + " records");
        }
    }

    /** The statement sqlservice 0.1 sends per chunk for {@code bench_items} when every column is set. */
    static final String LIBRARY_SQL = "insert into \"bench_items\" as t (\"id\", \"name\", \"qty\", \"price\", \"tags\","
            + " \"updated_at\") select v.\"id\", v.\"name\", v.\"qty\", v.\"price\", v.\"tags\", v.\"updated_at\""
            + " from json_populate_recordset(cast(null as \"bench_items\"), cast(? as json)) as v order by v.\"id\""
            + " on conflict (\"id\") do update set \"name\" = excluded.\"name\", \"qty\" = excluded.\"qty\","
            + " \"price\" = excluded.\"price\", \"tags\" = excluded.\"tags\", \"updated_at\" = excluded.\"updated_at\""
            + " returning t.\"id\", t.\"name\", t.\"qty\", t.\"price\", t.\"tags\", t.\"updated_at\"";

    /**
     * Diagnostic, not the library's: {@link #LIBRARY_SQL} returning only the rows whose stored values differ, as
     * text, from the values sent (what "returning only what differs" could save at best).
     */
    static final String LIBRARY_SQL_DIFFERING = "with v as (select * from json_populate_recordset(cast(null as"
            + " \"bench_items\"), cast(? as json))), w as (insert into \"bench_items\" as t (\"id\", \"name\", \"qty\","
            + " \"price\", \"tags\", \"updated_at\") select v.\"id\", v.\"name\", v.\"qty\", v.\"price\", v.\"tags\","
            + " v.\"updated_at\" from v order by v.\"id\" on conflict (\"id\") do update set \"name\" = excluded.\"name\","
            + " \"qty\" = excluded.\"qty\", \"price\" = excluded.\"price\", \"tags\" = excluded.\"tags\","
            + " \"updated_at\" = excluded.\"updated_at\" returning t.*) select w.* from w join v on v.\"id\" = w.\"id\""
            + " where cast(row(w.*) as text) is distinct from cast(row(v.*) as text)";

    /**
     * Diagnostic: sqlservice's own SQL strategy without its Java around it. Records sorted by key, chunks of
     * 10,000, each one JSON string bound to {@link #LIBRARY_SQL}, every returned row read into an object; one
     * transaction. The JSON is written as the library writes it.
     */
    static int librarySql(DataSource ds, List<BenchItemsRecord> records) throws SQLException {
        return librarySql(ds, records, true);
    }

    /** {@link #librarySql}, with or without its {@code RETURNING} (what returning every row costs). */
    static int librarySql(DataSource ds, List<BenchItemsRecord> records, boolean returning) throws SQLException {
        return librarySql(ds, records, returning ? LIBRARY_SQL : LIBRARY_SQL.substring(0, LIBRARY_SQL.indexOf(" returning ")));
    }

    static int librarySql(DataSource ds, List<BenchItemsRecord> records, String sql) throws SQLException {
        boolean returning = sql.contains(" returning ");
        List<BenchItemsRecord> sorted = new ArrayList<>(records);
        sorted.sort(java.util.Comparator.comparingLong(BenchItemsRecord::getId));
        int returned = 0;
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                for (int from = 0; from < sorted.size(); from += 10_000) {
                    List<BenchItemsRecord> chunk = sorted.subList(from, Math.min(sorted.size(), from + 10_000));
                    StringBuilder json = new StringBuilder(chunk.size() * 128).append('[');
                    for (int i = 0; i < chunk.size(); i++) {
                        BenchItemsRecord r = chunk.get(i);
                        json.append(i == 0 ? "{" : ",{").append("\"id\":").append(r.getId());
                        jsonString(json.append(",\"name\":"), r.getName());
                        json.append(",\"qty\":").append(r.getQty());
                        json.append(",\"price\":").append(r.getPrice() == null ? "null" : r.getPrice().toPlainString());
                        jsonString(json.append(",\"tags\":"), r.getTags());
                        jsonString(json.append(",\"updated_at\":"), r.getUpdatedAt().toString());
                        json.append('}');
                    }
                    ps.setString(1, json.append(']').toString());
                    List<Item> stored = new ArrayList<>(chunk.size());
                    if (!returning) {
                        returned += ps.executeUpdate();
                        continue;
                    }
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            stored.add(Item.read(rs));
                        }
                    }
                    returned += stored.size();
                }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        }
        return returned;
    }

    private static void jsonString(StringBuilder json, String value) {
        if (value == null) {
            json.append("null");
            return;
        }
        json.append('"');
        for (int i = 0; i < value.length(); i++) {
            char ch = value.charAt(i);
            switch (ch) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                default -> {
                    if (ch < 0x20) {
                        json.append(String.format("\\u%04x", (int) ch));
                    } else {
                        json.append(ch);
                    }
                }
            }
        }
        json.append('"');
    }

    /** COPY text format: backslash, tab, newline and carriage return escaped; null as \N. */
    private static StringBuilder text(StringBuilder line, String value) {
        if (value == null) {
            return line.append("\\N");
        }
        for (int i = 0; i < value.length(); i++) {
            char ch = value.charAt(i);
            switch (ch) {
                case '\\' -> line.append("\\\\");
                case '\t' -> line.append("\\t");
                case '\n' -> line.append("\\n");
                case '\r' -> line.append("\\r");
                default -> line.append(ch);
            }
        }
        return line;
    }

    /** A row read by hand from a {@code ResultSet}: every column into an object. */
    record Item(long id, String name, int qty, BigDecimal price, String tags, OffsetDateTime updatedAt) {
        static Item read(ResultSet rs) throws SQLException {
            return new Item(rs.getLong(1), rs.getString(2), rs.getInt(3), rs.getBigDecimal(4), rs.getString(5),
                    rs.getObject(6, OffsetDateTime.class));
        }
    }

    /** The raw-JDBC reading baseline: a ResultSet loop reading every column of every row into objects. */
    static List<Item> jdbcReadAll(DataSource ds) throws SQLException {
        try (Connection c = ds.getConnection();
                PreparedStatement ps = c.prepareStatement(SELECT_ALL_SQL);
                ResultSet rs = ps.executeQuery()) {
            List<Item> items = new ArrayList<>();
            while (rs.next()) {
                items.add(Item.read(rs));
            }
            return items;
        }
    }

    /** One primary-key lookup by hand: borrow, prepare, bind, read, return. */
    static Item jdbcFirst(DataSource ds, long id) throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(SELECT_BY_ID_SQL)) {
            ps.setLong(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Item.read(rs) : null;
            }
        }
    }

    /** n keys of 1..max in a random order fixed by the seed. */
    static long[] keys(int n, int max, long seed) {
        Random random = new Random(seed);
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) {
            keys[i] = 1 + random.nextInt(max);
        }
        return keys;
    }

    /** Variants in the order of round {@code round}: rotated by one each round, so none always follows another. */
    static <T> List<T> rotation(List<T> variants, int round) {
        List<T> order = new ArrayList<>(variants);
        java.util.Collections.rotate(order, -(round % order.size()));
        return order;
    }

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    /**
     * CPU time used by this JVM so far (every thread: callers, virtual-thread carriers, GC, JIT). The server is
     * another process, so a difference of two readings is the client's CPU cost of what ran in between, which
     * other processes' load on the machine hardly changes.
     */
    static long cpuNanos() {
        return OS.getProcessCpuTime();
    }

    /**
     * The CPU time used so far by this JVM's live threads, every one (Java threads, virtual-thread carriers, GC and
     * JIT compiler threads), in nanoseconds: the first field of each {@code /proc/self/task/<tid>/schedstat}, the
     * scheduler's exact on-CPU time. Threads that end between two readings take their time with them: read it
     * while the threads of a variant are alive (before its executor is closed). -1 where there is no such file (not
     * Linux); then use {@link #cpuNanos}, the process counter, which ticks every 10 ms.
     */
    static long tasksCpuNanos() {
        java.nio.file.Path tasks = java.nio.file.Path.of("/proc/self/task");
        if (!java.nio.file.Files.isDirectory(tasks)) {
            return -1;
        }
        long total = 0;
        try (java.util.stream.Stream<java.nio.file.Path> entries = java.nio.file.Files.list(tasks)) {
            for (java.nio.file.Path task : (Iterable<java.nio.file.Path>) entries::iterator) {
                try {
                    String stat = java.nio.file.Files.readString(task.resolve("schedstat"));
                    total += Long.parseLong(stat.substring(0, stat.indexOf(' ')));
                } catch (java.io.IOException | RuntimeException gone) {
                    // ended meanwhile
                }
            }
        } catch (java.io.IOException e) {
            return -1;
        }
        return total;
    }

    /** Linux clock ticks per second, the unit of {@code /proc/<pid>/stat}'s CPU times (USER_HZ: 100 on Linux). */
    private static final long TICKS_PER_SECOND = 100;

    /**
     * The CPU time used so far by the database server's processes on this machine (PostgreSQL's {@code postgres},
     * MariaDB's {@code mariadbd} or {@code mysqld}), in nanoseconds, at the 10 ms resolution Linux keeps it:
     * user and system time of each live process and of its children that have ended, read from
     * {@code /proc/<pid>/stat}. Every such process counts, whichever server it belongs to: run benchmarks on a
     * quiet machine. -1 where there is no {@code /proc} (not Linux).
     */
    static long serverCpuNanos() {
        java.nio.file.Path proc = java.nio.file.Path.of("/proc");
        if (!java.nio.file.Files.isDirectory(proc)) {
            return -1;
        }
        long ticks = 0;
        try (java.util.stream.Stream<java.nio.file.Path> entries = java.nio.file.Files.list(proc)) {
            for (java.nio.file.Path entry : (Iterable<java.nio.file.Path>) entries::iterator) {
                String name = entry.getFileName().toString();
                if (name.isEmpty() || !Character.isDigit(name.charAt(0))) {
                    continue;
                }
                String stat;
                try {
                    stat = java.nio.file.Files.readString(entry.resolve("stat"));
                } catch (java.io.IOException | RuntimeException gone) {
                    continue; // ended meanwhile
                }
                int open = stat.indexOf('(');
                int close = stat.lastIndexOf(')');
                if (open < 0 || close < open) {
                    continue;
                }
                String command = stat.substring(open + 1, close);
                if (!command.equals("postgres") && !command.equals("mariadbd") && !command.equals("mysqld")) {
                    continue;
                }
                // after "(comm) ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
                // stime cutime cstime (fields 3 to 17 of proc(5))
                String[] fields = stat.substring(close + 2).split(" ");
                ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]) + Long.parseLong(fields[13])
                        + Long.parseLong(fields[14]);
            }
        } catch (java.io.IOException e) {
            return -1;
        }
        return ticks * (1_000_000_000L / TICKS_PER_SECOND);
    }

    static double millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e6;
    }

    /** The value at quantile q (0..1) of sorted values, nearest rank. */
    static long percentile(long[] sorted, double q) {
        int index = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    static long[] sorted(long[] values) {
        long[] copy = values.clone();
        Arrays.sort(copy);
        return copy;
    }

    /** The number of rows in the table, for sanity checks. */
    static int count(DataSource ds) {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select count(*) from bench_items")) {
            rs.next();
            return rs.getInt(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private Bench() {}
}
