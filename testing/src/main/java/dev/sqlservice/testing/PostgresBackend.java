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
    public Snapshot capture(Connection c, String database) throws SQLException {
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
        if (tables.isEmpty()) {
            return new Snapshot(List.of(), Map.of(), false);
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
        Snapshot snapshot = new Snapshot(tables, sequences(c), superuser);
        Map<Long, String> states = snapshot.states(c);
        for (Table t : tables) {
            t.captured = t.seeded ? states.get(t.oid) : "0";
        }
        return snapshot;
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

    private static final class Snapshot implements Backend.Snapshot {
        private final List<Table> tables;
        private final Map<Long, Table> byOid = new HashMap<>();
        private final Map<String, Sequence> sequences;
        private final boolean superuser;
        private final String stateQuery;

        Snapshot(List<Table> tables, Map<String, Sequence> sequences, boolean superuser) {
            this.tables = tables;
            this.sequences = sequences;
            this.superuser = superuser;
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
            if (changed.isEmpty() && moved.isEmpty()) {
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
