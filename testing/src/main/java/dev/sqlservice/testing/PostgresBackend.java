package dev.sqlservice.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * PostgreSQL's side of the harness. The migrated state is captured once per database: every table (a partitioned
 * table with its partitions counts as one) with the rows the migrations put in it, copied into the schema
 * {@value #SEED_SCHEMA} of the same database (made only when some table has rows); and every sequence's value.
 *
 * <p>Before each test one query tells what changed: a table the migrations left empty is unchanged exactly when
 * its files are empty ({@code pg_relation_size} 0: {@code TRUNCATE} leaves it so, and any insert, committed or not,
 * grows it); a table with seed rows is unchanged when the md5 of all its rows' text is the one captured. Changed
 * tables, and the tables that reference them by foreign key, are truncated in one statement and their seed rows
 * copied back (triggers off, generated columns recomputed); sequences that moved are set back with
 * {@code setval}.
 *
 * <p>Sequences (identity columns' too) declared with {@code CACHE} above 1 are set to {@code CACHE 1} in the test
 * database right after migrating: a session keeps the values it cached whatever {@code setval} does, and the pooled
 * sessions outlive a test, so with a cache the next test would go on from the cached block. Materialized views are
 * part of the state (the md5 of their rows, or "not populated"): one that a test refreshed is refreshed again after
 * the tables are restored, or emptied ({@code WITH NO DATA}) when the migrations left it unpopulated. A refresh
 * recomputes the view from the restored tables: a view the migrations left out of date with its tables (refreshed
 * before later inserts) comes back up to date, not as the migrations left it.
 *
 * <p>The schema's fingerprint is one catalog query (namespaces, relations, columns, constraints, indexes, types,
 * enum labels, triggers, functions with their source, column defaults and view definitions of the test database's
 * own schemas): DDL changes it, {@code CREATE OR REPLACE} of a view or function included. Not seen: sequence
 * options, row-level security policies, grants, comments.
 */
final class PostgresBackend implements Backend {

    static final String SEED_SCHEMA = "sqlservice_seed";

    @Override
    public String createDatabase(String name) {
        return "create database " + quote(name);
    }

    @Override
    public String[] dropDatabase(String name) {
        return new String[] {"drop database if exists " + quote(name) + " with (force)"};
    }

    @Override
    public String createDatabaseRight(String user) {
        return "the right to create databases: alter role " + quote(user) + " createdb";
    }

    @Override
    public boolean isMissingRight(SQLException e) {
        return "42501".equals(e.getSQLState());
    }

    static String quote(String identifier) {
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }

    @Override
    public void endSessions(Connection admin, String database) {
        // drop database ... with (force) ends them
    }

    @Override
    public void configureSession(Connection connection, int seconds) throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute("set lock_timeout = '" + seconds + "s'");
        }
    }

    @Override
    public boolean isLockTimeout(SQLException e) {
        return "55P03".equals(e.getSQLState());
    }

    @Override
    public List<String> endTransactions(Connection c) throws SQLException {
        List<String> ended = new ArrayList<>();
        List<Integer> pids = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
                select pid, coalesce(application_name, ''), coalesce(state, ''), xact_start::text,
                       left(regexp_replace(coalesce(query, ''), '\\s+', ' ', 'g'), 200)
                  from pg_stat_activity
                 where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null
                 order by pid""")) {
            while (r.next()) {
                pids.add(r.getInt(1));
                ended.add("session pid " + r.getInt(1) + " (application '" + r.getString(2) + "', " + r.getString(3)
                        + ", transaction open since " + r.getString(4) + ", last query: " + r.getString(5) + ")");
            }
        }
        try (PreparedStatement p = c.prepareStatement("select pg_terminate_backend(?, 5000)")) {
            for (int pid : pids) {
                p.setInt(1, pid);
                p.executeQuery().close();
            }
        }
        return ended;
    }

    @Override
    public Snapshot capture(Connection c, String database) throws SQLException {
        List<String> uncached = uncacheSequences(c);
        List<Table> tables = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
                select c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relkind = 'p',
                       (select string_agg(quote_ident(a.attname), ', ' order by a.attnum) from pg_attribute a
                         where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = '')
                  from pg_class c join pg_namespace n on n.oid = c.relnamespace
                 where c.relkind in ('r', 'p') and not c.relispartition and c.relpersistence <> 't'
                   and n.nspname not in ('pg_catalog', 'information_schema', 'sqlservice_seed')
                   and n.nspname not like 'pg\\_%'
                   and c.relname <> 'flyway_schema_history'
                   and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass
                                    and d.objid = c.oid and d.deptype = 'e')
                 order by c.oid""")) {
            while (r.next()) {
                tables.add(new Table(r.getLong(1), r.getString(2), r.getBoolean(3), r.getString(4)));
            }
        }
        List<View> views = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
                select c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
                  from pg_class c join pg_namespace n on n.oid = c.relnamespace
                 where c.relkind = 'm' and n.nspname not in ('information_schema', 'sqlservice_seed')
                   and n.nspname not like 'pg\\_%'
                 order by c.oid""")) {
            while (r.next()) {
                views.add(new View(r.getLong(1), r.getString(2)));
            }
        }
        if (tables.isEmpty()) {
            Snapshot snapshot = new Snapshot(List.of(), views, Map.of(), false, uncached);
            snapshot.capture(c);
            return snapshot;
        }
        // Which tables hold rows after the migrations: those are copied aside and compared by content.
        StringJoiner exists = new StringJoiner(" union all ");
        for (int i = 0; i < tables.size(); i++) {
            exists.add("select " + i + ", exists (select 1 from " + tables.get(i).name + ")");
        }
        boolean anySeed = false;
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(exists.toString())) {
            while (r.next()) {
                if (r.getBoolean(2)) {
                    tables.get(r.getInt(1)).seeded = true;
                    anySeed = true;
                }
            }
        }
        if (anySeed) {
            try (Statement s = c.createStatement()) {
                s.execute("create schema " + SEED_SCHEMA);
                for (Table t : tables) {
                    if (t.seeded) {
                        t.copy = SEED_SCHEMA + ".t" + t.oid;
                        s.execute("create table " + t.copy + " as select * from " + t.name);
                    }
                }
            }
        }
        boolean superuser;
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(
                "select rolsuper from pg_roles where rolname = current_user")) {
            superuser = r.next() && r.getBoolean(1);
        }
        Snapshot snapshot = new Snapshot(tables, views, sequences(c), superuser, uncached);
        Map<Long, String> states = snapshot.states(c);
        for (Table t : tables) {
            t.captured = t.seeded ? states.get(t.oid) : "0";
        }
        snapshot.capture(c);
        return snapshot;
    }

    /**
     * Sets every sequence with a cache above 1 to {@code CACHE 1} (an identity column's through its table).
     *
     * @return the sequences changed, for the record
     */
    private static List<String> uncacheSequences(Connection c) throws SQLException {
        List<String> statements = new ArrayList<>();
        List<String> names = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
                select quote_ident(n.nspname) || '.' || quote_ident(q.relname),
                       (select quote_ident(tn.nspname) || '.' || quote_ident(t.relname) || ' alter column '
                               || quote_ident(a.attname)
                          from pg_depend d join pg_class t on t.oid = d.refobjid
                          join pg_namespace tn on tn.oid = t.relnamespace
                          join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
                         where d.classid = 'pg_class'::regclass and d.objid = q.oid and d.deptype = 'i')
                  from pg_sequence s join pg_class q on q.oid = s.seqrelid join pg_namespace n on n.oid = q.relnamespace
                 where s.seqcache > 1 and n.nspname not in ('information_schema') and n.nspname not like 'pg\\_%'
                 order by q.oid""")) {
            while (r.next()) {
                names.add(r.getString(1));
                String identity = r.getString(2);
                statements.add(identity == null ? "alter sequence " + r.getString(1) + " cache 1"
                        : "alter table " + identity + " set cache 1");
            }
        }
        if (!statements.isEmpty()) {
            try (Statement s = c.createStatement()) {
                for (String sql : statements) {
                    s.execute(sql);
                }
            }
        }
        return names;
    }

    /** One line per schema object, hashed: changes with any DDL on the test database's own schemas. */
    private static final String FINGERPRINT = """
            with ns as (select oid, nspname from pg_namespace
                         where nspname not in ('information_schema', 'sqlservice_seed') and nspname not like 'pg\\_%'),
                 rel as (select c.oid, c.relname, c.relkind, c.relnamespace from pg_class c join ns on ns.oid = c.relnamespace)
            select md5(concat_ws('#',
              (select string_agg(oid || ' ' || nspname, ',' order by oid) from ns),
              (select string_agg(concat_ws(' ', oid, relname, relkind, relnamespace), ',' order by oid) from rel),
              (select string_agg(concat_ws(' ', a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull,
                                           a.attisdropped, a.atthasdef, a.attgenerated, a.attidentity), ','
                                 order by a.attrelid, a.attnum)
                 from pg_attribute a join rel on rel.oid = a.attrelid where a.attnum > 0),
              (select string_agg(concat_ws(' ', o.oid, o.conname, o.contype, o.conrelid, o.confrelid, o.conkey::text,
                                           o.convalidated), ',' order by o.oid)
                 from pg_constraint o join ns on ns.oid = o.connamespace),
              (select string_agg(concat_ws(' ', i.indexrelid, i.indrelid, i.indkey::text, i.indisunique), ','
                                 order by i.indexrelid)
                 from pg_index i join rel on rel.oid = i.indrelid),
              (select string_agg(concat_ws(' ', t.oid, t.typname, t.typtype), ',' order by t.oid)
                 from pg_type t join ns on ns.oid = t.typnamespace),
              (select string_agg(concat_ws(' ', e.enumtypid, e.enumlabel), ',' order by e.enumtypid, e.enumsortorder)
                 from pg_enum e join pg_type t on t.oid = e.enumtypid join ns on ns.oid = t.typnamespace),
              (select string_agg(concat_ws(' ', g.oid, g.tgname, g.tgenabled), ',' order by g.oid)
                 from pg_trigger g join rel on rel.oid = g.tgrelid),
              (select string_agg(concat_ws(' ', p.oid, p.proname, p.proargtypes::text, p.prorettype, md5(coalesce(p.prosrc, '')),
                                           md5(coalesce(p.probin, ''))), ',' order by p.oid)
                 from pg_proc p join ns on ns.oid = p.pronamespace),
              (select string_agg(concat_ws(' ', d.adrelid, d.adnum, md5(pg_get_expr(d.adbin, d.adrelid))), ','
                                 order by d.adrelid, d.adnum)
                 from pg_attrdef d join rel on rel.oid = d.adrelid),
              (select string_agg(concat_ws(' ', w.oid, w.ev_class, md5(w.ev_action::text)), ',' order by w.oid)
                 from pg_rewrite w join rel on rel.oid = w.ev_class)))""";

    static String fingerprint(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(FINGERPRINT)) {
            r.next();
            return r.getString(1);
        }
    }

    /** Every sequence outside the system schemas: its name, value and whether it was called. */
    private static Map<String, Sequence> sequences(Connection c) throws SQLException {
        Map<String, Sequence> sequences = new LinkedHashMap<>();
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
                select quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value, start_value
                  from pg_sequences where schemaname not in ('pg_catalog', 'information_schema')""")) {
            while (r.next()) {
                long value = r.getLong(2);
                boolean called = !r.wasNull();
                sequences.put(r.getString(1), new Sequence(called ? value : r.getLong(3), called));
            }
        }
        return sequences;
    }

    private static final class Table {
        final long oid;
        final String name;
        final boolean partitioned;
        final String columns;
        boolean seeded;
        String copy;
        String captured;

        Table(long oid, String name, boolean partitioned, String columns) {
            this.oid = oid;
            this.name = name;
            this.partitioned = partitioned;
            this.columns = columns;
        }
    }

    private record Sequence(long value, boolean called) {}

    /** A materialized view: captured as the md5 of its rows, or {@value #UNPOPULATED}. */
    private static final class View {
        final long oid;
        final String name;
        String captured;

        View(long oid, String name) {
            this.oid = oid;
            this.name = name;
        }
    }

    private static final String UNPOPULATED = "not populated";

    private static final class Snapshot implements Backend.Snapshot {
        private final List<Table> tables;
        private final List<View> views;
        private final Map<Long, Table> byOid = new HashMap<>();
        private final Map<String, Sequence> sequences;
        private final boolean superuser;
        private final List<String> uncached;
        private final String stateQuery;
        private String fingerprint;

        Snapshot(List<Table> tables, List<View> views, Map<String, Sequence> sequences, boolean superuser,
                List<String> uncached) {
            this.tables = tables;
            this.views = views;
            this.sequences = sequences;
            this.superuser = superuser;
            this.uncached = List.copyOf(uncached);
            tables.forEach(t -> byOid.put(t.oid, t));
            StringJoiner q = new StringJoiner(" union all ");
            for (Table t : tables) {
                q.add(t.seeded
                        ? "select " + t.oid + "::bigint, (select md5(coalesce(string_agg(x::text, chr(10) order by x::text), ''))"
                                + " from " + t.name + " x)"
                        : t.partitioned
                        ? "select " + t.oid + "::bigint, (select coalesce(sum(pg_relation_size(p.relid)), 0)::text"
                                + " from pg_partition_tree(" + t.oid + "::oid::regclass) p)"
                        : "select " + t.oid + "::bigint, pg_relation_size(" + t.oid + "::oid::regclass)::text");
            }
            this.stateQuery = q.toString();
        }

        /** Records the views' and the schema's state; after the tables'. */
        void capture(Connection c) throws SQLException {
            Map<Long, String> now = viewStates(c);
            views.forEach(v -> v.captured = now.get(v.oid));
            fingerprint = fingerprint(c);
        }

        @Override
        public boolean schemaChanged(Connection c) throws SQLException {
            return !fingerprint.equals(fingerprint(c));
        }

        @Override
        public List<String> adjustments() {
            return uncached.stream().map(n -> "sequence " + n + " set to cache 1").toList();
        }

        /** Each materialized view's md5 of its rows, or {@value #UNPOPULATED}. */
        private Map<Long, String> viewStates(Connection c) throws SQLException {
            Map<Long, String> states = new HashMap<>();
            if (views.isEmpty()) {
                return states;
            }
            StringJoiner oids = new StringJoiner(",", "{", "}");
            views.forEach(v -> oids.add(Long.toString(v.oid)));
            try (PreparedStatement p = c.prepareStatement(
                    "select oid, relispopulated from pg_class where oid = any(?::oid[])")) {
                p.setString(1, oids.toString());
                try (ResultSet r = p.executeQuery()) {
                    while (r.next()) {
                        states.put(r.getLong(1), r.getBoolean(2) ? null : UNPOPULATED);
                    }
                }
            }
            StringJoiner q = new StringJoiner(" union all ");
            for (View v : views) {
                if (states.containsKey(v.oid) && states.get(v.oid) == null) {
                    q.add("select " + v.oid + "::bigint, (select md5(coalesce(string_agg(x::text, chr(10) order by"
                            + " x::text), '')) from " + v.name + " x)");
                }
            }
            if (q.length() > 0) {
                try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(q.toString())) {
                    while (r.next()) {
                        states.put(r.getLong(1), r.getString(2));
                    }
                }
            }
            return states;
        }

        Map<Long, String> states(Connection c) throws SQLException {
            Map<Long, String> states = new HashMap<>();
            if (tables.isEmpty()) {
                return states;
            }
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(stateQuery)) {
                while (r.next()) {
                    states.put(r.getLong(1), r.getString(2));
                }
            }
            return states;
        }

        @Override
        public int reset(Connection c) throws SQLException {
            List<Long> changed = new ArrayList<>();
            states(c).forEach((oid, state) -> {
                if (!Objects.equals(state, byOid.get(oid).captured)) {
                    changed.add(oid);
                }
            });
            Map<String, Sequence> moved = new LinkedHashMap<>();
            sequences(c).forEach((name, now) -> {
                Sequence then = sequences.get(name);
                if (then != null && !then.equals(now)) {
                    moved.put(name, then);
                }
            });
            List<View> stale = new ArrayList<>();
            if (!views.isEmpty()) {
                Map<Long, String> now = viewStates(c);
                views.stream().filter(v -> !Objects.equals(now.get(v.oid), v.captured)).forEach(stale::add);
            }
            if (changed.isEmpty() && moved.isEmpty() && stale.isEmpty()) {
                return 0;
            }
            boolean autoCommit = c.getAutoCommit();
            c.setAutoCommit(false);
            try {
                List<String> truncate = changed.isEmpty() ? List.of() : withReferencing(c, changed);
                if (!truncate.isEmpty()) {
                    try (Statement s = c.createStatement()) {
                        s.execute("truncate table " + String.join(", ", truncate));
                        restoreSeeds(s, truncate);
                    }
                }
                if (!moved.isEmpty()) {
                    try (PreparedStatement p = c.prepareStatement("select setval(?::regclass, ?, ?)")) {
                        for (Map.Entry<String, Sequence> e : moved.entrySet()) {
                            p.setString(1, e.getKey());
                            p.setLong(2, e.getValue().value());
                            p.setBoolean(3, e.getValue().called());
                            p.executeQuery().close();
                        }
                    }
                }
                if (!stale.isEmpty()) {
                    // After the tables, in creation order (a view over another view comes later).
                    try (Statement s = c.createStatement()) {
                        for (View v : stale) {
                            s.execute("refresh materialized view " + v.name
                                    + (UNPOPULATED.equals(v.captured) ? " with no data" : ""));
                        }
                    }
                }
                c.commit();
                return truncate.size();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(autoCommit);
            }
        }

        /** The changed tables and every table referencing them by foreign key, transitively (tests' own tables too). */
        private static List<String> withReferencing(Connection c, List<Long> changed) throws SQLException {
            List<String> names = new ArrayList<>();
            try (PreparedStatement p = c.prepareStatement("""
                    with recursive t(oid) as (
                        select unnest(?::oid[])
                        union
                        select coalesce(pg_partition_root(f.conrelid), f.conrelid)
                          from pg_constraint f join t on coalesce(pg_partition_root(f.confrelid), f.confrelid) = t.oid
                         where f.contype = 'f')
                    select quote_ident(n.nspname) || '.' || quote_ident(r.relname)
                      from t join pg_class r on r.oid = t.oid join pg_namespace n on n.oid = r.relnamespace
                     order by t.oid""")) {
                StringJoiner oids = new StringJoiner(",", "{", "}");
                changed.forEach(o -> oids.add(Long.toString(o)));
                p.setString(1, oids.toString());
                try (ResultSet r = p.executeQuery()) {
                    while (r.next()) {
                        names.add(r.getString(1));
                    }
                }
            }
            return names;
        }

        /** Copies the seed rows back into the truncated tables that had them, with user triggers off. */
        private void restoreSeeds(Statement s, List<String> truncated) throws SQLException {
            List<Table> seeded = new ArrayList<>();
            for (Table t : tables) {
                if (t.seeded && truncated.contains(t.name)) {
                    seeded.add(t);
                }
            }
            if (seeded.isEmpty()) {
                return;
            }
            if (superuser) {
                // Foreign keys and triggers off for this transaction: order does not matter, nothing rewrites a row.
                s.execute("set local session_replication_role = replica");
                for (Table t : seeded) {
                    s.execute(insert(t));
                }
                s.execute("set local session_replication_role = origin");
                return;
            }
            // The owner may switch its own triggers off; foreign keys stay on, so parents first.
            for (Table t : referencedFirst(s.getConnection(), seeded)) {
                s.execute("alter table " + t.name + " disable trigger user");
                s.execute(insert(t));
                s.execute("alter table " + t.name + " enable trigger user");
            }
        }

        private static String insert(Table t) {
            return "insert into " + t.name + " (" + t.columns + ") overriding system value select " + t.columns
                    + " from " + t.copy;
        }

        /** The seeded tables ordered so that a table comes after the tables it references. */
        private static List<Table> referencedFirst(Connection c, List<Table> seeded) throws SQLException {
            Map<Long, List<Long>> references = new HashMap<>();
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("""
                    select coalesce(pg_partition_root(conrelid), conrelid), coalesce(pg_partition_root(confrelid), confrelid)
                      from pg_constraint where contype = 'f'""")) {
                while (r.next()) {
                    references.computeIfAbsent(r.getLong(1), k -> new ArrayList<>()).add(r.getLong(2));
                }
            }
            List<Table> ordered = new ArrayList<>();
            List<Table> left = new ArrayList<>(seeded);
            while (!left.isEmpty()) {
                boolean progress = false;
                for (var it = left.iterator(); it.hasNext();) {
                    Table t = it.next();
                    boolean ready = references.getOrDefault(t.oid, List.of()).stream()
                            .allMatch(o -> o == t.oid || left.stream().noneMatch(l -> l.oid == o));
                    if (ready) {
                        ordered.add(t);
                        it.remove();
                        progress = true;
                    }
                }
                if (!progress) {
                    ordered.addAll(left); // a cycle: the foreign key check will name it
                    left.clear();
                }
            }
            return ordered;
        }
    }
}
